// NodeMetrics: every novacron_node_* Prometheus metric the node-daemon exports, created once per
// registry and shared by the libvirt adapter, the hypervisor registrar and the VM reconciler.
//
//   novacron_node_libvirt_call_duration_seconds{op}   histogram of libvirt calls
//   novacron_node_libvirt_errors_total{op,code}       failed libvirt calls by Status code
//   novacron_node_libvirt_reconnects_total            reconnects to libvirtd
//   novacron_node_domains{state}                      domains on this node by state
//   novacron_node_unclaimed_domains                   domains no VirtualMachine claims
//   novacron_node_orphaned_vm_folders                 VM folders no VM bound here will use
//   novacron_node_heartbeat_age_seconds               age of the last renewed heartbeat Lease
//   novacron_node_heartbeat_failures_total            failed Lease renewals
//   novacron_node_vm_cleanups_total                   VMs whose domain and disks were removed
//   novacron_node_degraded_total{reason}              degraded-mode occurrences
//
// Thread-safety: prometheus-cpp metrics are thread-safe; domainsGauge() takes a mutex.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "lib/metrics/registry.h"

namespace novacron::node {

class NodeMetrics {
public:
  explicit NodeMetrics(metrics::RegistryPtr registry);

  void observeLibvirtCall(std::string_view op, double seconds);
  void countLibvirtError(std::string_view op, std::string_view code);
  void countReconnect() { reconnects_->Increment(); }
  // Replaces the per-state domain counts.
  void setDomainCounts(const std::map<std::string, int>& by_state);
  void setUnclaimedDomains(int n) { unclaimed_->Set(n); }
  void setOrphanedVmFolders(int n) { orphaned_folders_->Set(n); }
  void setHeartbeatAge(double seconds) { heartbeat_age_->Set(seconds); }
  void countHeartbeatFailure() { heartbeat_failures_->Increment(); }
  void countCleanup() { cleanups_->Increment(); }
  void countDegraded(std::string_view reason);

  const metrics::RegistryPtr& registry() const { return registry_; }

private:
  metrics::RegistryPtr registry_;
  prometheus::Family<prometheus::Histogram>* call_duration_;
  prometheus::Family<prometheus::Counter>* errors_;
  prometheus::Family<prometheus::Gauge>* domains_;
  prometheus::Family<prometheus::Counter>* degraded_;
  prometheus::Counter* reconnects_;
  prometheus::Gauge* unclaimed_;
  prometheus::Gauge* orphaned_folders_;
  prometheus::Gauge* heartbeat_age_;
  prometheus::Counter* heartbeat_failures_;
  prometheus::Counter* cleanups_;

  std::mutex mu_;
  std::map<std::string, prometheus::Histogram*> histograms_;  // guarded by mu_
  std::map<std::string, prometheus::Gauge*> domain_gauges_;   // guarded by mu_
};

using NodeMetricsPtr = std::shared_ptr<NodeMetrics>;

}  // namespace novacron::node
