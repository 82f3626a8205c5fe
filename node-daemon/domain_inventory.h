// DomainInventory: exports which guests are active on this node, one series per active domain:
//   novacron_node_domain_active{uuid}   1 while the domain with that UUID (the VM's uid) is active
// refreshed from listDomains() at start and every `period` on its own thread; series of domains
// that are no longer active are removed. It lets an outside observer that cannot open this node's
// libvirt (the fault suite in tests/reliability, whose node-daemons use libvirt's per-process test
// driver; an alert across nodes) check that no VM runs on two nodes at once. Off unless
// --domain-inventory-seconds is set: one series per running VM.
// A failed poll keeps the previous series and counts
// novacron_node_degraded_total{reason="domain_inventory_unavailable"}.
// Thread-safety: start() and stop() from one thread; pollOnce() from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include "lib/core/status.h"
#include "lib/metrics/registry.h"
#include "node-daemon/node_metrics.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node {

class DomainInventory {
public:
  DomainInventory(virt::Connection& conn, metrics::RegistryPtr registry, NodeMetricsPtr metrics,
                  std::chrono::milliseconds period);
  ~DomainInventory();
  DomainInventory(const DomainInventory&) = delete;
  DomainInventory& operator=(const DomainInventory&) = delete;

  void start();
  void stop();
  [[nodiscard]] core::Status pollOnce();

private:
  virt::Connection& conn_;
  NodeMetricsPtr metrics_;
  const std::chrono::milliseconds period_;
  prometheus::Family<prometheus::Gauge>* family_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                             // guarded by mu_
  std::map<std::string, prometheus::Gauge*> active_;  // guarded by mu_, by uuid
  std::thread thread_;
};

}  // namespace novacron::node
