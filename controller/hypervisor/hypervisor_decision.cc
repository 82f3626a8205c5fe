#include "controller/hypervisor/hypervisor_decision.h"

#include <string>

#include "controller/ledger/ledger.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "lib/runtime/conditions.h"

namespace novacron::controller {
namespace {

using api::ConditionStatus;
using runtime::setTypedCondition;

// The ledger's summary; unchanged when the ledger annotation cannot be read.
void setAllocated(api::Hypervisor& hv) {
  auto entries = sharedLedgerOf(hv);
  if (!entries.isOk()) {
    return;
  }
  const auto sum = ledger::totals(**entries);
  api::HypervisorAllocated allocated;
  allocated.cpus = static_cast<int32_t>(sum.resources.cpus);
  allocated.memory = api::Quantity::fromBytes(sum.resources.memory_bytes);
  allocated.vms = static_cast<int32_t>(sum.vms);
  if (sum.resources.storage_bytes > 0) {
    allocated.storage = api::Quantity::fromBytes(sum.resources.storage_bytes);
  }
  if (!hv.status.allocated || hv.status.allocated->cpus != allocated.cpus ||
      hv.status.allocated->memory != allocated.memory ||
      hv.status.allocated->vms != allocated.vms ||
      hv.status.allocated->storage != allocated.storage) {
    hv.status.allocated = allocated;
  }
}

// Ready is the node-daemon's, except while its heartbeat is missing (it cannot say so itself).
void setReady(api::Hypervisor& hv, const HypervisorHealthFacts& health, const core::Clock& clock) {
  const api::Condition* ready = api::findCondition(hv.status.conditions, api::kConditionReady);
  if (!health.heartbeat_fresh) {
    setTypedCondition(hv, std::string(api::kConditionReady), ConditionStatus::kUnknown,
                      "HeartbeatTimeout",
                      "the node-daemon has not renewed its heartbeat Lease for more than " +
                          std::to_string(health.heartbeat_timeout.count() / 1000) + "s",
                      clock);
  } else if (ready && ready->status == ConditionStatus::kUnknown &&
             ready->reason == "HeartbeatTimeout") {
    setTypedCondition(hv, std::string(api::kConditionReady), ConditionStatus::kTrue,
                      "HeartbeatResumed", "the node-daemon is renewing its heartbeat Lease again",
                      clock);
  }
}

void setSchedulable(api::Hypervisor& hv, bool fresh, const core::Clock& clock) {
  std::string reason;
  std::string why_not;
  if (isFenced(hv)) {
    reason = "Fenced";
    why_not = "marked fenced by an administrator";
  } else if (hv.spec.maintenance) {
    reason = "Maintenance";
    why_not = "in maintenance: cordoned; its VMs are evacuated by their evictionStrategy";
  } else if (hv.spec.unschedulable) {
    reason = "Unschedulable";
    why_not = "spec.unschedulable is set";
  } else if (!fresh) {
    reason = "NotReady";
    why_not = "heartbeat timed out";
  }
  const std::string type(api::kConditionSchedulable);
  if (why_not.empty()) {
    setTypedCondition(hv, type, ConditionStatus::kTrue, "Schedulable", "new VMs can be placed here",
                      clock);
  } else {
    setTypedCondition(hv, type, ConditionStatus::kFalse, reason, why_not, clock);
  }
}

}  // namespace

api::HypervisorStatus decideHypervisorStatus(const api::Hypervisor& hv,
                                             const HypervisorHealthFacts& health,
                                             const core::Clock& clock) {
  api::Hypervisor desired = hv;
  setAllocated(desired);
  setReady(desired, health, clock);
  setSchedulable(desired, health.heartbeat_fresh, clock);
  return std::move(desired.status);
}

}  // namespace novacron::controller
