// VmStatsPoller: feeds VmMetrics from libvirt. It asks the connection for every domain's bulk
// statistics (one virConnectGetAllDomainStats call, however many VMs) at start and then every
// `period`, on its own thread, so a slow libvirtd delays only the metrics, never a reconcile.
// A failed poll leaves the previous values in place, logs at warn (once until a poll succeeds
// again) and counts novacron_node_degraded_total{reason="vm_stats_unavailable"}.
// Thread-safety: start() and stop() from one thread; pollOnce() from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "lib/core/status.h"
#include "node-daemon/node_metrics.h"
#include "node-daemon/virt/connection.h"
#include "node-daemon/vm_metrics.h"

namespace novacron::node {

class VmStatsPoller {
public:
  VmStatsPoller(virt::Connection& conn, VmMetricsPtr metrics, NodeMetricsPtr node_metrics,
                std::chrono::milliseconds period = std::chrono::seconds(15));
  ~VmStatsPoller();
  VmStatsPoller(const VmStatsPoller&) = delete;
  VmStatsPoller& operator=(const VmStatsPoller&) = delete;

  void start();
  // Idempotent; joins the thread (wakes it at once, it does not wait for the period to end).
  void stop();
  // One poll now; what the thread does every period.
  [[nodiscard]] core::Status pollOnce();

private:
  void run();

  virt::Connection& conn_;
  VmMetricsPtr metrics_;
  NodeMetricsPtr node_metrics_;
  const std::chrono::milliseconds period_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  bool failing_ = false;   // guarded by mu_ (log a failure once until a poll succeeds)
  std::thread thread_;
};

}  // namespace novacron::node
