// Builders for the objects controller tests put into a cluster (fake or dev API server):
// Hypervisors as a node-daemon registers them, heartbeat Leases, VirtualMachines.
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "lib/api/codec.h"
#include "lib/api/hypervisor.h"
#include "lib/api/virtual_machine.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/kube/resource.h"

namespace novacron::controller::ctltest {

inline constexpr int64_t kGi = int64_t{1} << 30;

inline api::Hypervisor makeHypervisor(const std::string& name, int32_t cpus, int64_t memory_bytes,
                                      std::map<std::string, std::string> labels = {}) {
  api::Hypervisor hv;
  hv.metadata.name = name;
  hv.metadata.labels = std::move(labels);
  api::HypervisorResources capacity;
  capacity.cpus = cpus;
  capacity.memory = api::Quantity::fromBytes(memory_bytes);
  hv.status.capacity = capacity;
  hv.status.allocatable = capacity;
  api::Condition ready;
  ready.type = "Ready";
  ready.status = api::ConditionStatus::kTrue;
  ready.reason = "NodeDaemonReady";
  ready.lastTransitionTime = api::toTimestamp(std::chrono::system_clock::now());
  hv.status.conditions.push_back(ready);
  return hv;
}

// Creates the Hypervisor and writes its status (custom resources ignore status on create).
inline core::Status registerHypervisor(kube::Client& client, const api::Hypervisor& hv) {
  auto created = client.create(kube::kHypervisor, "", api::toJson(hv));
  if (!created.isOk()) {
    return created.status();
  }
  nlohmann::json with_status = *created;
  with_status["status"] = api::toJson(hv.status);
  auto written = client.updateStatus(kube::kHypervisor, "", with_status);
  return written.isOk() ? core::okStatus() : written.status();
}

inline nlohmann::json makeLease(const std::string& name, const std::string& renew_time) {
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata", {{"name", name}, {"namespace", "novacron-node-lease"}}},
          {"spec",
           {{"holderIdentity", name}, {"leaseDurationSeconds", 40}, {"renewTime", renew_time}}}};
}

inline api::VirtualMachine makeVm(const std::string& ns, const std::string& name, int32_t cpus,
                                  int64_t memory_bytes) {
  api::VirtualMachine vm;
  vm.metadata.namespace_ = ns;
  vm.metadata.name = name;
  vm.spec.resources.cpus = cpus;
  vm.spec.resources.memory = api::Quantity::fromBytes(memory_bytes);
  return vm;
}

}  // namespace novacron::controller::ctltest
