#include "controller/vm/vm_decision.h"

#include "controller/cache/cluster_cache.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "lib/api/validation.h"
#include "lib/runtime/conditions.h"

namespace novacron::controller {
namespace {

using api::ConditionStatus;
using api::VirtualMachinePhase;
using runtime::setTypedCondition;

// Phases that only say "not running yet because of placement": the controller's to set.
bool isPlacementPhase(const std::optional<VirtualMachinePhase>& phase) {
  return !phase || *phase == VirtualMachinePhase::kPending ||
         *phase == VirtualMachinePhase::kScheduling;
}

UnboundDecision halted(const api::VirtualMachine& vm, const core::Clock& clock) {
  // Halted VMs hold no capacity and are not placed until someone starts them.
  api::VirtualMachine desired = vm;
  if (isPlacementPhase(desired.status.phase)) {
    desired.status.phase = VirtualMachinePhase::kStopped;
  }
  setTypedCondition(desired, std::string(api::kConditionScheduled), ConditionStatus::kFalse,
                    "Halted", "runStrategy is Halted: not placed until it is started", clock);
  setTypedCondition(desired, std::string(api::kConditionReady), ConditionStatus::kFalse, "Halted",
                    "runStrategy is Halted", clock);
  UnboundDecision decision;
  decision.status = std::move(desired.status);
  return decision;
}

// Valid=True, or Valid=False/InvalidSpec with every field error (lib/api validate()).
void setValid(api::VirtualMachine& desired, const core::Status& valid, const core::Clock& clock) {
  if (valid.isOk()) {
    setTypedCondition(desired, std::string(api::kConditionValid), ConditionStatus::kTrue,
                      "SpecValid", "the spec passed validation", clock);
  } else {
    setTypedCondition(desired, std::string(api::kConditionValid), ConditionStatus::kFalse,
                      "InvalidSpec", valid.message(), clock);
  }
}

// An invalid spec is never placed (the API server's schema and the node-daemon check too; this is
// where the bounds the docs promise are enforced for every API server, and where the user is told).
UnboundDecision invalid(const api::VirtualMachine& vm, const core::Status& valid,
                        const core::Clock& clock) {
  api::VirtualMachine desired = vm;
  if (isPlacementPhase(desired.status.phase)) {
    desired.status.phase = VirtualMachinePhase::kPending;
  }
  setValid(desired, valid, clock);
  setTypedCondition(desired, std::string(api::kConditionScheduled), ConditionStatus::kFalse,
                    "InvalidSpec", "not placed: the spec is invalid", clock);
  setTypedCondition(desired, std::string(api::kConditionReady), ConditionStatus::kFalse,
                    "InvalidSpec", valid.message(), clock);
  UnboundDecision decision;
  if (!(desired.status == vm.status)) {
    decision.events.push_back({"Warning", "InvalidSpec", valid.message()});
  }
  decision.status = std::move(desired.status);
  return decision;
}

UnboundDecision unschedulable(const api::VirtualMachine& vm, std::string explanation,
                              const core::Clock& clock) {
  api::VirtualMachine desired = vm;
  // docs/api.md: the scheduler looked and nothing fits yet; Scheduled=False says why.
  desired.status.phase = VirtualMachinePhase::kScheduling;
  desired.status.hypervisor.reset();
  setTypedCondition(desired, std::string(api::kConditionScheduled), ConditionStatus::kFalse,
                    "Unschedulable", explanation, clock);
  setTypedCondition(desired, std::string(api::kConditionReady), ConditionStatus::kFalse,
                    "NotScheduled", "the VM is not placed on a hypervisor", clock);
  UnboundDecision decision;
  if (!(desired.status == vm.status)) {
    decision.events.push_back({"Warning", "FailedScheduling", explanation});
  }
  decision.status = std::move(desired.status);
  decision.retry_after = kUnschedulableRetry;
  decision.explanation = std::move(explanation);
  return decision;
}

UnboundDecision binding(const api::VirtualMachine& vm, UnboundDecision::Action action,
                        const std::string& hypervisor, std::string explanation,
                        const core::Clock& clock) {
  UnboundDecision decision;
  decision.action = action;
  decision.hypervisor = hypervisor;
  decision.status = boundStatus(vm, hypervisor, clock);
  decision.events.push_back(
      {"Normal", "Scheduled",
       "Successfully assigned " + vmKey(vm) + " to " + hypervisor + " (" + explanation + ")"});
  decision.explanation = std::move(explanation);
  return decision;
}

std::string unreachableWhy(const BoundFacts& facts) {
  if (!facts.hypervisor_exists) {
    return "hypervisor " + facts.hypervisor + " was deleted; its VMs are not restarted elsewhere";
  }
  return "hypervisor " + facts.hypervisor + " has not renewed its heartbeat for more than " +
         std::to_string(facts.heartbeat_timeout.count() / 1000) +
         "s; the VM is not restarted elsewhere until fencing is confirmed";
}

BoundDecision failover(const api::VirtualMachine& vm, const BoundFacts& facts,
                       const core::Clock& clock) {
  BoundDecision decision;
  decision.action = BoundDecision::Action::kFailover;
  decision.why = (facts.hypervisor_exists ? "hypervisor " + facts.hypervisor + " is marked fenced"
                                          : "hypervisor " + facts.hypervisor + " was deleted") +
                 "; placing the VM again";
  api::VirtualMachine after = vm;
  after.status.hypervisor.reset();
  after.status.allocated.reset();
  after.status.phase = VirtualMachinePhase::kPending;
  setTypedCondition(after, std::string(api::kConditionScheduled), ConditionStatus::kFalse,
                    "FailingOver", decision.why, clock);
  api::removeCondition(after.status.conditions, api::kConditionHypervisorUnreachable);
  decision.status = std::move(after.status);
  decision.events.push_back({"Warning", "FailingOver", decision.why});
  return decision;
}

}  // namespace

api::VirtualMachineStatus boundStatus(const api::VirtualMachine& vm, const std::string& hypervisor,
                                      const core::Clock& clock) {
  api::VirtualMachine after = vm;
  after.status.hypervisor = hypervisor;
  after.status.allocated = vm.spec.resources;
  if (isPlacementPhase(after.status.phase) || after.status.phase == VirtualMachinePhase::kStopped) {
    after.status.phase = VirtualMachinePhase::kScheduled;
  }
  setTypedCondition(after, std::string(api::kConditionScheduled), ConditionStatus::kTrue,
                    "Scheduled", "bound to hypervisor " + hypervisor, clock);
  setValid(after, api::validate(vm), clock);
  return std::move(after.status);
}

UnboundDecision decideUnbound(const api::VirtualMachine& vm, const UnboundFacts& facts,
                              const scheduler::Scheduler& scheduler, const core::Clock& clock) {
  if (core::Status valid = api::validate(vm); !valid.isOk()) {
    return invalid(vm, valid, clock);
  }
  if (vm.spec.runStrategy == api::RunStrategy::kHalted) {
    return halted(vm, clock);
  }
  if (facts.reservation) {
    return binding(vm, UnboundDecision::Action::kCompleteBinding, *facts.reservation,
                   "completing the reservation on " + *facts.reservation, clock);
  }
  const scheduler::HypervisorSpan none{std::span<const scheduler::HypervisorView>()};
  const scheduler::Decision placement =
      scheduler.schedule(vmRequest(vm), facts.hypervisors ? *facts.hypervisors : none, facts.start);
  UnboundDecision decision = placement.placed()
                                 ? binding(vm, UnboundDecision::Action::kReserveAndBind,
                                           placement.hypervisor, placement.explain(), clock)
                                 : unschedulable(vm, placement.explain(), clock);
  decision.examined = placement.examined;
  return decision;
}

BoundDecision decideBound(const api::VirtualMachine& vm, const BoundFacts& facts,
                          const core::Clock& clock) {
  const bool fenced = !facts.hypervisor_exists || facts.fenced;
  if (fenced && facts.failover == config::FailoverPolicy::kFenced) {
    return failover(vm, facts, clock);
  }
  BoundDecision decision;
  if (facts.label != facts.hypervisor) {
    // Someone changed the watch label: put it back, or the bound node-daemon loses sight of it.
    decision.action = BoundDecision::Action::kRepairLabel;
    decision.why = "label " + std::string(api::kHypervisorLabel) + " is '" + facts.label +
                   "' but the VM is bound to " + facts.hypervisor;
    return decision;
  }
  api::VirtualMachine desired = vm;
  desired.status.allocated = vm.spec.resources;
  if (isPlacementPhase(desired.status.phase)) {
    desired.status.phase = VirtualMachinePhase::kScheduled;
  }
  setTypedCondition(desired, std::string(api::kConditionScheduled), ConditionStatus::kTrue,
                    "Scheduled", "bound to hypervisor " + facts.hypervisor, clock);
  setValid(desired, api::validate(vm), clock);
  const bool was_unreachable =
      api::isConditionTrue(vm.status.conditions, api::kConditionHypervisorUnreachable);
  if (!facts.hypervisor_exists || !facts.heartbeat_fresh || fenced) {
    decision.why = unreachableWhy(facts);
    desired.status.phase = VirtualMachinePhase::kUnknown;
    setTypedCondition(desired, std::string(api::kConditionHypervisorUnreachable),
                      ConditionStatus::kTrue, "HeartbeatTimeout", decision.why, clock);
    setTypedCondition(desired, std::string(api::kConditionReady), ConditionStatus::kUnknown,
                      "HypervisorUnreachable", decision.why, clock);
    if (!was_unreachable) {
      decision.events.push_back({"Warning", "HypervisorUnreachable", decision.why});
    }
  } else if (api::findCondition(vm.status.conditions, api::kConditionHypervisorUnreachable)) {
    // Back in touch: the node-daemon reports the real phase and Ready again from here on.
    setTypedCondition(desired, std::string(api::kConditionHypervisorUnreachable),
                      ConditionStatus::kFalse, "HeartbeatOK",
                      "hypervisor " + facts.hypervisor + " is renewing its heartbeat", clock);
  }
  decision.status = std::move(desired.status);
  return decision;
}

namespace {

// Released because `node` is fenced or gone (`exists`: fenced): no node-daemon will clean up, and
// its domain and disks there become orphans, reported on its Hypervisor while it exists.
DeletingDecision releasedFrom(const std::string& node, bool exists, const std::string& vm_key,
                              const std::string& why) {
  DeletingDecision decision;
  const std::string where = (exists ? "fenced hypervisor " : "deleted hypervisor ") + node;
  decision.release_finalizer = true;
  decision.events.push_back({"Warning", "ForceDeleted",
                             "released " + std::string(api::kNodeCleanupFinalizer) + ": " + why +
                                 where + "; its disks there are left as orphans"});
  if (exists) {
    decision.orphan_on = node;
    decision.orphan_event =
        VmEvent{"Warning", "OrphanedVmDisks",
                "VM " + vm_key +
                    " was deleted while this hypervisor was fenced; its domain "
                    "and disks here were not cleaned up (docs/reliability.md, Known orphans)"};
  }
  return decision;
}

DeletingDecision decideDeletingFailedOver(const DeletingFacts& facts) {
  DeletingDecision decision;
  const std::string finalizer(api::kNodeCleanupFinalizer);
  if (facts.resources_on.empty()) {
    // Only a node-daemon grants this finalizer, and only failover unbinds: without the record
    // (a VM failed over before it existed) the node is unknown, so nothing is released blindly.
    decision.events.push_back({"Warning", "WaitingForNode",
                               "the VM is unbound but holds " + finalizer +
                                   " and its node is not recorded (" +
                                   std::string(api::kResourcesOnAnnotation) +
                                   "); remove the finalizer by hand once "
                                   "that node's disks are dealt with"});
    return decision;
  }
  if (facts.resources_on_exists && !facts.resources_on_fenced) {
    // Live again: never released here; its node-daemon removes the disks once it sees the VM.
    if (facts.label != facts.resources_on) {
      decision.label_for_cleanup = facts.resources_on;
    }
    decision.events.push_back({"Normal", "WaitingForNode",
                               "the VM's disks are on hypervisor " + facts.resources_on +
                                   ", which is no longer fenced; waiting for it to remove them " +
                                   "and release " + finalizer});
    return decision;
  }
  return releasedFrom(facts.resources_on, facts.resources_on_exists, facts.vm_key,
                      "the VM was failed over from ");
}

}  // namespace

DeletingDecision decideDeleting(const DeletingFacts& facts) {
  DeletingDecision decision;
  // The node-daemon's finalizer cleans up; it must still see the VM, so the watch label keeps
  // mirroring the binding.
  decision.repair_label = !facts.bound.empty() && facts.label != facts.bound;
  if (facts.bound.empty() && facts.has_node_finalizer) {
    return decideDeletingFailedOver(facts);
  }
  if (facts.bound.empty() || !facts.has_node_finalizer) {
    return decision;
  }
  if (facts.hypervisor_exists && !facts.hypervisor_fenced) {
    return decision;  // its node-daemon cleans up (when it is back)
  }
  if (facts.failover_fenced) {
    // The fence is the confirmation failover acts on: released as if the VM had been failed over
    // first. Otherwise whether a deletion completes depended on which came first, the failover or
    // the delete: deleted first, the VM stayed Terminating and bound to the fenced node (fault
    // suite seeds 10016 and 10023). No label repair: no node-daemon will look at it.
    return releasedFrom(facts.bound, facts.hypervisor_exists, facts.vm_key,
                        "failover policy Fenced and the VM is bound to ");
  }
  // The node is fenced or gone: nobody will release the finalizer. Only an explicit request does,
  // and the disks left on that node are abandoned (nothing removes them: docs/reliability.md).
  const std::string where =
      (facts.hypervisor_exists ? "fenced hypervisor " : "deleted hypervisor ") + facts.bound;
  const std::string finalizer(api::kNodeCleanupFinalizer);
  const std::string annotation(api::kForceDeleteAnnotation);
  if (!facts.force_delete) {
    decision.events.push_back(
        {"Warning", "WaitingForNode",
         "the VM is bound to " + where + "; it stays Terminating with its disks kept. To " +
             "delete it anyway, annotate it " + annotation + "=true (docs/security.md)"});
    return decision;
  }
  decision.release_finalizer = true;
  decision.events.push_back({"Warning", "ForceDeleted",
                             "released " + finalizer + " because the VM is bound to " + where +
                                 "; its disks there are abandoned"});
  return decision;
}

std::optional<VmEvent> phaseEvent(const std::string& previous, const api::VirtualMachine& vm) {
  if (!vm.status.phase) {
    return std::nullopt;
  }
  const std::string phase(api::toString(*vm.status.phase));
  if (previous.empty() || previous == phase) {
    return std::nullopt;  // first sight (e.g. after a restart) is not a transition
  }
  const std::string where = vm.status.hypervisor.value_or("?");
  switch (*vm.status.phase) {
  // No event for Running: the node-daemon that started the domain posts "Started" itself
  // (node-daemon/vm/reconciler.cc), and repeating it here cost every VM a second Event write
  // (issue 15). A phase that returns to Running without a start (Unknown, Migrating) was not
  // started either.
  case VirtualMachinePhase::kStopped:
    return VmEvent{"Normal", "Stopped", "VM stopped on " + where};
  case VirtualMachinePhase::kFailed:
    return VmEvent{"Warning", "Failed", "VM failed on " + where};
  default:
    return std::nullopt;
  }
}

}  // namespace novacron::controller
