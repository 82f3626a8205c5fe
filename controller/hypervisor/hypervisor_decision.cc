#include "controller/hypervisor/hypervisor_decision.h"

#include <string>

#include "controller/ledger/ledger.h"
#include "controller/ledger/ledger_status.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "lib/runtime/conditions.h"

namespace novacron::controller {
namespace {

using api::ConditionStatus;
using runtime::setTypedCondition;

// The ledger in status: unchanged when it cannot be read. Reservations and the ledger reconciler
// write status.allocations and status.allocated together; this puts a ledger into status where
// none is yet (a new Hypervisor: an empty one, so that its first reservation can be a patch where
// the object has annotations to test; one of an older version: its annotation's) and repairs
// totals that do not match it.
void setLedger(api::Hypervisor& hv) {
  auto entries = sharedLedgerOf(hv);
  if (!entries.isOk()) {
    return;
  }
  if (!hv.status.allocations) {
    ledger::putLedger(hv.status, **entries);
    return;
  }
  const api::HypervisorAllocated allocated = ledger::allocatedOf(**entries);
  if (!hv.status.allocated || hv.status.allocated->cpus != allocated.cpus ||
      hv.status.allocated->memory != allocated.memory ||
      hv.status.allocated->vms != allocated.vms ||
      hv.status.allocated->storage != allocated.storage) {
    ledger::putLedger(hv.status, **entries);
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
  setLedger(desired);
  setReady(desired, health, clock);
  setSchedulable(desired, health.heartbeat_fresh, clock);
  return std::move(desired.status);
}

}  // namespace novacron::controller
