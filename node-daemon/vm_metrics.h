// VmMetrics: per-VM novacron_vm_* Prometheus metrics from libvirt's bulk domain statistics
// (virt::Connection::allDomainStats), like KubeVirt's kubevirt_vmi_*:
//
//   novacron_vm_cpu_seconds_total{namespace,name}           vCPU and QEMU CPU time
//   novacron_vm_vcpus                                       current vCPUs
//   novacron_vm_memory_actual_bytes                         balloon size: memory the guest has
//   novacron_vm_memory_resident_bytes                       QEMU's resident memory on the host
//   novacron_vm_memory_available_bytes                      as the guest sees it (*)
//   novacron_vm_memory_used_bytes                           available - unused (*)
//   novacron_vm_block_{read,write}_bytes_total              summed over the VM's disks
//   novacron_vm_block_{read,write}_requests_total
//   novacron_vm_network_{receive,transmit}_bytes_total      summed over the VM's interfaces
//   novacron_vm_network_{receive,transmit}_packets_total
//   (*) only while the guest's balloon driver reports them
//
// Cardinality is bounded: the only labels are the VM's namespace and name (from the domain name,
// domain/naming.h; domains that are not NovaCron VMs are skipped), devices are summed, series of
// VMs that left the node are removed, and at most `max_vms` VMs are exported (the rest are counted
// in novacron_node_degraded_total{reason="vm_metrics_limit"} and logged).
// libvirt's counters restart with each QEMU process; the exported counters stay monotonic (a
// Prometheus counter never goes down): a smaller raw value is taken as a restart from zero.
// Thread-safety: update() and trackedVms() may be called from any thread (one mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include "lib/metrics/registry.h"
#include "node-daemon/node_metrics.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node {

class VmMetrics {
public:
  static constexpr std::size_t kDefaultMaxVms = 1024;

  // node_metrics: optional, for the degraded-mode counter.
  VmMetrics(metrics::RegistryPtr registry, NodeMetricsPtr node_metrics,
            std::size_t max_vms = kDefaultMaxVms);

  // Replaces what is exported with `stats` (one call per poll with every domain on the node).
  void update(const std::vector<virt::DomainStats>& stats);
  std::size_t trackedVms() const;

  struct CounterSpec;
  struct GaugeSpec;

private:
  struct Series {
    prometheus::Labels labels;
    std::map<const CounterSpec*, prometheus::Counter*> counters;
    std::map<const CounterSpec*, std::uint64_t> last_raw;
    std::map<const GaugeSpec*, prometheus::Gauge*> gauges;
  };
  void updateOne(Series& series, const virt::DomainStats& s);
  void remove(Series& series);

  NodeMetricsPtr node_metrics_;
  const std::size_t max_vms_;
  std::map<const CounterSpec*, prometheus::Family<prometheus::Counter>*> counter_families_;
  std::map<const GaugeSpec*, prometheus::Family<prometheus::Gauge>*> gauge_families_;

  mutable std::mutex mu_;
  std::map<std::string, Series> vms_;  // by domain name; guarded by mu_
  bool over_limit_logged_ = false;     // guarded by mu_
};

using VmMetricsPtr = std::shared_ptr<VmMetrics>;

}  // namespace novacron::node
