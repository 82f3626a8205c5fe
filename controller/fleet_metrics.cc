#include "controller/fleet_metrics.h"

#include <array>
#include <functional>
#include <utility>

#include <prometheus/registry.h>

#include "lib/api/names.h"
#include "lib/api/object_meta.h"

namespace novacron::controller {
namespace {

constexpr const char* kNoPhase = "None";

struct HypervisorMetric {
  const char* name;
  const char* help;
  std::function<double(const api::Hypervisor&)> value;
};

double conditionTrue(const api::Hypervisor& hv, std::string_view type) {
  const api::Condition* c = api::findCondition(hv.status.conditions, type);
  return c != nullptr && c->status == api::ConditionStatus::kTrue ? 1 : 0;
}

const std::array<HypervisorMetric, 7>& hypervisorMetrics() {
  static const std::array<HypervisorMetric, 7> metrics = {{
      {"novacron_hypervisor_ready", "1 when the Hypervisor's Ready condition is True",
       [](const api::Hypervisor& hv) { return conditionTrue(hv, "Ready"); }},
      {"novacron_hypervisor_schedulable", "1 when the Hypervisor's Schedulable condition is True",
       [](const api::Hypervisor& hv) { return conditionTrue(hv, "Schedulable"); }},
      {"novacron_hypervisor_allocatable_cpus", "Allocatable host CPUs (before overcommit)",
       [](const api::Hypervisor& hv) {
         return hv.status.allocatable ? static_cast<double>(hv.status.allocatable->cpus) : 0.0;
       }},
      {"novacron_hypervisor_allocatable_memory_bytes",
       "Allocatable host memory in bytes (before overcommit)",
       [](const api::Hypervisor& hv) {
         return hv.status.allocatable ? static_cast<double>(hv.status.allocatable->memory.value())
                                      : 0.0;
       }},
      {"novacron_hypervisor_allocated_cpus", "vCPUs the capacity ledger counts on the Hypervisor",
       [](const api::Hypervisor& hv) {
         return hv.status.allocated ? static_cast<double>(hv.status.allocated->cpus) : 0.0;
       }},
      {"novacron_hypervisor_allocated_memory_bytes",
       "Guest memory in bytes the capacity ledger counts on the Hypervisor",
       [](const api::Hypervisor& hv) {
         return hv.status.allocated ? static_cast<double>(hv.status.allocated->memory.value())
                                    : 0.0;
       }},
      {"novacron_hypervisor_vms", "VMs the capacity ledger counts on the Hypervisor",
       [](const api::Hypervisor& hv) {
         return hv.status.allocated ? static_cast<double>(hv.status.allocated->vms) : 0.0;
       }},
  }};
  return metrics;
}

std::string phaseOf(const api::VirtualMachine& vm) {
  return vm.status.phase ? std::string(api::toString(*vm.status.phase)) : kNoPhase;
}

}  // namespace

FleetMetrics::FleetMetrics(metrics::RegistryPtr registry) {
  auto reg = registry ? std::move(registry) : metrics::defaultRegistry();
  vms_ = &prometheus::BuildGauge()
              .Name("novacron_vms")
              .Help("VirtualMachines by status.phase, as the leading controller sees them")
              .Register(*reg);
  for (const auto& m : hypervisorMetrics()) {
    hv_families_[m.name] = &prometheus::BuildGauge().Name(m.name).Help(m.help).Register(*reg);
  }
  // Every phase from the start: "no Failed VMs" is a 0, not a missing series.
  std::lock_guard lock(mu_);
  for (auto phase : {api::VirtualMachinePhase::kPending, api::VirtualMachinePhase::kScheduling,
                     api::VirtualMachinePhase::kScheduled, api::VirtualMachinePhase::kStarting,
                     api::VirtualMachinePhase::kRunning, api::VirtualMachinePhase::kPaused,
                     api::VirtualMachinePhase::kStopping, api::VirtualMachinePhase::kStopped,
                     api::VirtualMachinePhase::kMigrating, api::VirtualMachinePhase::kFailed,
                     api::VirtualMachinePhase::kUnknown}) {
    phaseGauge(std::string(api::toString(phase)));
  }
  phaseGauge(kNoPhase);
}

prometheus::Gauge& FleetMetrics::phaseGauge(const std::string& phase) {
  auto it = phase_gauges_.find(phase);
  if (it == phase_gauges_.end()) {
    it = phase_gauges_.emplace(phase, &vms_->Add({{"phase", phase}})).first;
  }
  return *it->second;
}

void FleetMetrics::vmChanged(const api::VirtualMachine* before, const api::VirtualMachine* after) {
  std::lock_guard lock(mu_);
  if (before != nullptr) {
    phaseGauge(phaseOf(*before)).Decrement();
  }
  if (after != nullptr) {
    phaseGauge(phaseOf(*after)).Increment();
  }
}

void FleetMetrics::hypervisorChanged(const api::Hypervisor& hv) {
  std::lock_guard lock(mu_);
  auto& gauges = hv_gauges_[hv.metadata.name];
  for (const auto& m : hypervisorMetrics()) {
    auto it = gauges.find(m.name);
    if (it == gauges.end()) {
      it = gauges.emplace(m.name, &hv_families_.at(m.name)->Add({{"hypervisor", hv.metadata.name}}))
               .first;
    }
    it->second->Set(m.value(hv));
  }
}

void FleetMetrics::hypervisorDeleted(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = hv_gauges_.find(name);
  if (it == hv_gauges_.end()) {
    return;
  }
  for (auto& [metric, gauge] : it->second) {
    hv_families_.at(metric)->Remove(gauge);
  }
  hv_gauges_.erase(it);
}

}  // namespace novacron::controller
