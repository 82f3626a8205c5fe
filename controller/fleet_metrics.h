// FleetMetrics: the fleet as the leading controller's cache sees it, for dashboards and alerts
// (config/monitoring/):
//
//   novacron_vms{phase}                                   VirtualMachines by status.phase
//                                                         (every phase present, 0 when none;
//                                                         "None" before a first status)
//   novacron_hypervisor_ready{hypervisor}                 1 when Ready=True, else 0
//   novacron_hypervisor_schedulable{hypervisor}           1 when Schedulable=True, else 0
//   novacron_hypervisor_allocatable_cpus{hypervisor}      status.allocatable (before overcommit)
//   novacron_hypervisor_allocatable_memory_bytes{hypervisor}
//   novacron_hypervisor_allocated_cpus{hypervisor}        status.allocated: the capacity ledger
//   novacron_hypervisor_allocated_memory_bytes{hypervisor}
//   novacron_hypervisor_vms{hypervisor}                   VMs the ledger counts there
//
// Fed by the informers' event handlers: O(1) per event (a VM moves from one phase count to
// another, a Hypervisor's gauges are set from its status), so every scrape is exact without a
// periodic walk over all objects, and no reconcile is needed for a number to move. The phase a VM
// is counted in is that of the informer's previous copy, which every handler receives: no
// per-VM state is kept here (a map of keys to phases cost ~140 B per VM; issue 15 B4). Cardinality:
// one series per phase, seven per Hypervisor (removed with it).
// Thread-safety: every method may be called from any thread (one mutex).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include "lib/api/hypervisor.h"
#include "lib/api/virtual_machine.h"
#include "lib/metrics/registry.h"

namespace novacron::controller {

class FleetMetrics {
public:
  explicit FleetMetrics(metrics::RegistryPtr registry = nullptr);

  // A VM's change as an informer handler sees it: `before` is the copy of the previous event
  // (nullptr when the VM is new), `after` the current one (nullptr when it was deleted).
  void vmChanged(const api::VirtualMachine* before, const api::VirtualMachine* after);
  void hypervisorChanged(const api::Hypervisor& hypervisor);
  void hypervisorDeleted(const std::string& name);

private:
  prometheus::Gauge& phaseGauge(const std::string& phase);  // requires mu_

  prometheus::Family<prometheus::Gauge>* vms_;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> hv_families_;

  std::mutex mu_;
  std::map<std::string, prometheus::Gauge*> phase_gauges_;                      // guarded by mu_
  std::map<std::string, std::map<std::string, prometheus::Gauge*>> hv_gauges_;  // guarded by mu_
};

using FleetMetricsPtr = std::shared_ptr<FleetMetrics>;

}  // namespace novacron::controller
