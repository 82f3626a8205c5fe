#include "controller/vm/vm_reconciler.h"

#include <spdlog/spdlog.h>

#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "lib/kube/resource.h"
#include "lib/runtime/finalizers.h"

namespace novacron::controller {
namespace {

using api::ConditionStatus;
using api::VirtualMachinePhase;

scheduler::SchedulerOptions schedulerOptions(const config::ControllerConfig& config) {
  return scheduler::SchedulerOptions{config.scheduler.policy, config.scheduler.default_overcommit};
}

void setCondition(api::VirtualMachine& vm, std::string_view type, ConditionStatus status,
                  std::string reason, std::string message, const core::Clock& clock) {
  api::Condition condition;
  condition.type = std::string(type);
  condition.status = status;
  condition.observedGeneration = vm.metadata.generation;
  condition.reason = std::move(reason);
  condition.message = std::move(message);
  api::setCondition(vm.status.conditions, std::move(condition), api::toTimestamp(clock.wallNow()));
}

// Phases that only say "not running yet because of placement": the controller's to set.
bool isPlacementPhase(const std::optional<VirtualMachinePhase>& phase) {
  return !phase || *phase == VirtualMachinePhase::kPending ||
         *phase == VirtualMachinePhase::kScheduling;
}

// resourceVersions are opaque to clients, but every etcd-backed server hands out increasing
// integers; an unparsable one counts as oldest so the informer's copy wins.
int64_t versionNumber(const std::string& rv) {
  try {
    return std::stoll(rv);
  } catch (const std::exception&) {
    return -1;
  }
}

std::optional<std::string> leaseRenewal(const ClusterCache& cache, const std::string& name) {
  auto lease = cache.heartbeat(name);
  if (!lease) {
    return std::nullopt;
  }
  return lease->renew_time + "@" + lease->resource_version;
}

}  // namespace

VmReconciler::VmReconciler(VmReconcilerDeps deps)
    : deps_(std::move(deps)),
      scheduler_(schedulerOptions(deps_.config)),
      binder_(deps_.client, scheduler_) {}

bool VmReconciler::heartbeatFresh(const std::string& hypervisor) const {
  deps_.heartbeats->observe(hypervisor, leaseRenewal(*deps_.cache, hypervisor));
  return deps_.heartbeats->fresh(hypervisor);
}

core::StatusOr<runtime::ReconcileResult> VmReconciler::reconcile(const std::string& key) {
  if (!deps_.cache->synced()) {
    return core::failedPreconditionError("caches not synced yet");
  }
  VirtualMachinePtr vm = deps_.cache->vm(key);
  if (!vm) {
    std::lock_guard lock(mu_);
    last_phase_.erase(key);
    return runtime::ReconcileResult::done();  // gone: the ledger reconciler releases its capacity
  }
  if (vm->metadata.deletionTimestamp) {
    return reconcileDeleting(*vm);
  }
  const std::string bound = boundHypervisor(*vm);
  if (bound.empty()) {
    return reconcileUnbound(*vm);
  }
  phaseEvents(*vm);
  return reconcileBound(*vm, bound);
}

core::StatusOr<runtime::ReconcileResult> VmReconciler::reconcileDeleting(
    const api::VirtualMachine& vm) {
  // The node-daemon's finalizer cleans up; nothing to place. It must still see the VM, so the
  // watch label keeps mirroring the binding.
  const std::string bound = boundHypervisor(vm);
  if (!bound.empty() && hypervisorLabel(vm) != bound) {
    auto relabelled = binder_.labelFor(vm);
    if (!relabelled.isOk()) {
      return relabelled.status();
    }
  }
  const nlohmann::json object = api::toJson(vm);
  if (bound.empty() || !runtime::hasFinalizer(object, api::kNodeCleanupFinalizer)) {
    return runtime::ReconcileResult::done();
  }
  HypervisorPtr hv = deps_.cache->hypervisor(bound);
  if (hv && !isFenced(*hv)) {
    return runtime::ReconcileResult::done();  // its node-daemon cleans up (when it is back)
  }
  // The node is fenced or gone: nobody will release the finalizer. Only an explicit request does,
  // and the disks left on that node are abandoned (its node-daemon removes them if it returns).
  auto it = vm.metadata.annotations.find(std::string(api::kForceDeleteAnnotation));
  const std::string where = hv ? "fenced hypervisor " + bound : "deleted hypervisor " + bound;
  if (it == vm.metadata.annotations.end() || it->second != "true") {
    event(vm, "Warning", "WaitingForNode",
          "the VM is bound to " + where + "; it stays Terminating with its disks kept. To " +
              "delete it anyway, annotate it " + std::string(api::kForceDeleteAnnotation) +
              "=true (docs/security.md)");
    return runtime::ReconcileResult::done();
  }
  auto removed = runtime::removeFinalizer(*deps_.client, kube::kVirtualMachine, object,
                                          api::kNodeCleanupFinalizer);
  if (!removed.isOk() && removed.status().code() != core::StatusCode::kNotFound) {
    return removed.status();
  }
  spdlog::warn("VM {}: force-deleted: released {} for {}", vmKey(vm), api::kNodeCleanupFinalizer,
               where);
  event(vm, "Warning", "ForceDeleted",
        "released " + std::string(api::kNodeCleanupFinalizer) + " because the VM is bound to " +
            where + "; its disks there are abandoned");
  return runtime::ReconcileResult::done();
}

core::StatusOr<runtime::ReconcileResult> VmReconciler::reconcileUnbound(
    const api::VirtualMachine& vm) {
  const core::Clock& clock = *deps_.clock;
  api::VirtualMachine desired = vm;
  if (vm.spec.runStrategy == api::RunStrategy::kHalted) {
    // Halted VMs hold no capacity and are not placed until someone starts them.
    if (isPlacementPhase(desired.status.phase)) {
      desired.status.phase = VirtualMachinePhase::kStopped;
    }
    setCondition(desired, api::kConditionScheduled, ConditionStatus::kFalse, "Halted",
                 "runStrategy is Halted: not placed until it is started", clock);
    setCondition(desired, api::kConditionReady, ConditionStatus::kFalse, "Halted",
                 "runStrategy is Halted", clock);
    NOVACRON_RETURN_IF_ERROR(writeStatus(vm, desired));
    return runtime::ReconcileResult::done();
  }

  const auto start = clock.now();
  std::optional<std::string> target = findReservation(*deps_.cache, vm);
  std::string explanation;
  if (!target) {
    std::vector<scheduler::HypervisorView> views;
    const auto hypervisors = deps_.cache->hypervisors();
    views.reserve(hypervisors.size());
    std::map<std::string, HypervisorPtr> used;
    for (const auto& cached : hypervisors) {
      HypervisorPtr hv = freshest(cached);
      used[hv->metadata.name] = hv;
      views.push_back(hypervisorView(*hv, heartbeatFresh(hv->metadata.name)));
    }
    const scheduler::Decision decision = scheduler_.schedule(vmRequest(vm), views);
    explanation = decision.explain();
    if (spdlog::should_log(spdlog::level::debug)) {
      std::string views_text;
      for (const auto& v : views) {
        views_text += " " + v.name + "=" + std::to_string(v.allocated.cpus) + "cpu";
      }
      spdlog::debug("VM {}: {} -> {} ({}) views:{}", vmKey(vm),
                    scheduler::policyName(scheduler_.options().policy), decision.hypervisor,
                    explanation, views_text);
    }
    if (!decision.placed()) {
      desired.status.phase = VirtualMachinePhase::kPending;
      desired.status.hypervisor.reset();
      setCondition(desired, api::kConditionScheduled, ConditionStatus::kFalse, "Unschedulable",
                   explanation, clock);
      setCondition(desired, api::kConditionReady, ConditionStatus::kFalse, "NotScheduled",
                   "the VM is not placed on a hypervisor", clock);
      const bool changed = !(desired.status == vm.status);
      NOVACRON_RETURN_IF_ERROR(writeStatus(vm, desired));
      if (changed) {
        event(vm, "Warning", "FailedScheduling", explanation);
      }
      recordAttempt("unschedulable", start);
      return runtime::ReconcileResult::after(kUnschedulableRetry);
    }
    HypervisorPtr hv = used[decision.hypervisor];
    if (!hv) {
      recordAttempt("error", start);
      return core::conflictError("hypervisor " + decision.hypervisor + " vanished; deciding again");
    }
    std::optional<api::Hypervisor> latest;
    auto reserved = binder_.reserve(vm, *hv, heartbeatFresh(decision.hypervisor), &latest);
    if (latest) {
      assume(std::move(*latest));
    }
    if (!reserved.isOk()) {
      const core::Status status = reserved.status();
      if (status.code() == core::StatusCode::kAborted ||
          status.code() == core::StatusCode::kConflict) {
        if (deps_.metrics) {
          deps_.metrics->conflict("hypervisor");
        }
        // Decide again with a fresher view; retried with backoff by the queue.
        recordAttempt("error", start);
        return core::conflictError(status.message());
      }
      recordAttempt("error", start);
      return status;
    }
    assume(std::move(reserved).value());
    target = decision.hypervisor;
  } else {
    explanation = "completing the reservation on " + *target;
  }

  // The binding is status.hypervisor (written with the VM's resourceVersion as precondition, in
  // the same write as the rest of the controller's status), then mirrored into the label.
  api::VirtualMachine after = vm;
  after.status.hypervisor = *target;
  after.status.allocated = vm.spec.resources;
  if (isPlacementPhase(after.status.phase) || after.status.phase == VirtualMachinePhase::kStopped) {
    after.status.phase = VirtualMachinePhase::kScheduled;
  }
  setCondition(after, api::kConditionScheduled, ConditionStatus::kTrue, "Scheduled",
               "bound to hypervisor " + *target, clock);
  auto bound = binder_.bind(vm, after.status);
  const std::string message =
      "Successfully assigned " + vmKey(vm) + " to " + *target + " (" + explanation + ")";
  if (!bound.isOk()) {
    if (bound.status().code() == core::StatusCode::kNotFound) {
      return runtime::ReconcileResult::done();  // deleted meanwhile; the ledger reconciler drops
                                                // the entry
    }
    if (bound.status().code() == core::StatusCode::kConflict && deps_.metrics) {
      deps_.metrics->conflict("vm");
    }
    recordAttempt("error", start);
    // Either the binding failed (the next attempt finds the reservation and completes it) or only
    // the label did (the next reconcile of the bound VM repairs it).
    return bound.status();
  }
  event(vm, "Normal", "Scheduled", message);
  recordAttempt("scheduled", start);
  return runtime::ReconcileResult::done();
}

core::StatusOr<runtime::ReconcileResult> VmReconciler::reconcileBound(
    const api::VirtualMachine& vm, const std::string& hypervisor) {
  const core::Clock& clock = *deps_.clock;
  HypervisorPtr hv = deps_.cache->hypervisor(hypervisor);
  const bool fenced = !hv || isFenced(*hv);
  if (fenced && deps_.config.health.failover == config::FailoverPolicy::kFenced) {
    NOVACRON_RETURN_IF_ERROR(unbindForFailover(vm, hypervisor,
                                               hv ? "hypervisor " + hypervisor + " is marked fenced"
                                                  : "hypervisor " + hypervisor + " was deleted"));
    return runtime::ReconcileResult::done();
  }
  const bool reachable = hv && heartbeatFresh(hypervisor) && !isFenced(*hv);
  if (hypervisorLabel(vm) != hypervisor) {
    // Someone changed the watch label: put it back, or the bound node-daemon loses sight of it.
    spdlog::warn("VM {}: label {} is '{}' but the VM is bound to {}; repairing the label",
                 vmKey(vm), api::kHypervisorLabel, hypervisorLabel(vm), hypervisor);
    auto relabelled = binder_.labelFor(vm);
    if (!relabelled.isOk()) {
      return relabelled.status();
    }
    return runtime::ReconcileResult::done();  // the label's watch event brings the VM back
  }

  api::VirtualMachine desired = vm;
  desired.status.hypervisor = hypervisor;
  desired.status.allocated = vm.spec.resources;
  if (isPlacementPhase(desired.status.phase)) {
    desired.status.phase = VirtualMachinePhase::kScheduled;
  }
  setCondition(desired, api::kConditionScheduled, ConditionStatus::kTrue, "Scheduled",
               "bound to hypervisor " + hypervisor, clock);
  const api::Condition* unreachable =
      api::findCondition(vm.status.conditions, api::kConditionHypervisorUnreachable);
  const bool was_unreachable = unreachable && unreachable->status == ConditionStatus::kTrue;
  if (!reachable) {
    const std::string why =
        !hv ? "hypervisor " + hypervisor + " was deleted; its VMs are not restarted elsewhere"
            : "hypervisor " + hypervisor + " has not renewed its heartbeat for more than " +
                  std::to_string(deps_.heartbeats->timeout().count() / 1000) +
                  "s; the VM is not restarted elsewhere until fencing is confirmed";
    desired.status.phase = VirtualMachinePhase::kUnknown;
    setCondition(desired, api::kConditionHypervisorUnreachable, ConditionStatus::kTrue,
                 "HeartbeatTimeout", why, clock);
    setCondition(desired, api::kConditionReady, ConditionStatus::kUnknown, "HypervisorUnreachable",
                 why, clock);
    NOVACRON_RETURN_IF_ERROR(writeStatus(vm, desired));
    if (!was_unreachable) {
      event(vm, "Warning", "HypervisorUnreachable", why);
    }
    return runtime::ReconcileResult::done();
  }
  if (unreachable) {
    // Back in touch: the node-daemon reports the real phase and Ready again from here on.
    setCondition(desired, api::kConditionHypervisorUnreachable, ConditionStatus::kFalse,
                 "HeartbeatOK", "hypervisor " + hypervisor + " is renewing its heartbeat", clock);
  }
  NOVACRON_RETURN_IF_ERROR(writeStatus(vm, desired));
  return runtime::ReconcileResult::done();
}

core::Status VmReconciler::unbindForFailover(const api::VirtualMachine& vm,
                                             const std::string& hypervisor,
                                             const std::string& why) {
  spdlog::warn("VM {}: failing over from hypervisor {}: {}", vmKey(vm), hypervisor, why);
  // Unbind the binding first (status.hypervisor), then the label that mirrors it.
  api::VirtualMachine after = vm;
  after.status.hypervisor.reset();
  after.status.allocated.reset();
  after.status.phase = VirtualMachinePhase::kPending;
  setCondition(after, api::kConditionScheduled, ConditionStatus::kFalse, "FailingOver",
               why + "; placing the VM again", *deps_.clock);
  api::removeCondition(after.status.conditions, api::kConditionHypervisorUnreachable);
  after.status.observedGeneration = vm.metadata.generation;
  auto written = deps_.client->updateStatus(kube::kVirtualMachine, vm.metadata.namespace_,
                                            api::toJson(after));
  if (!written.isOk()) {
    return written.status().withContext("unbinding " + vmKey(vm) + " for failover");
  }
  event(vm, "Warning", "FailingOver", why + "; placing the VM again");
  NOVACRON_ASSIGN_OR_RETURN(api::VirtualMachine stored, api::virtualMachineFromJson(*written));
  auto relabelled = binder_.labelFor(stored);
  return relabelled.isOk() ? core::okStatus() : relabelled.status();
}

HypervisorPtr VmReconciler::freshest(const HypervisorPtr& cached) {
  std::lock_guard lock(mu_);
  auto it = assumed_.find(cached->metadata.name);
  if (it == assumed_.end()) {
    return cached;
  }
  if (versionNumber(it->second->metadata.resourceVersion) >
      versionNumber(cached->metadata.resourceVersion)) {
    return it->second;
  }
  assumed_.erase(it);  // the informer caught up
  return cached;
}

void VmReconciler::assume(api::Hypervisor hypervisor) {
  std::lock_guard lock(mu_);
  auto ptr = std::make_shared<const api::Hypervisor>(std::move(hypervisor));
  auto& slot = assumed_[ptr->metadata.name];
  if (!slot || versionNumber(ptr->metadata.resourceVersion) >
                   versionNumber(slot->metadata.resourceVersion)) {
    slot = ptr;
  }
}

core::Status VmReconciler::writeStatus(const api::VirtualMachine& before,
                                       const api::VirtualMachine& after) {
  if (after.status == before.status) {
    return core::okStatus();  // idempotent: a second reconcile in a row writes nothing
  }
  api::VirtualMachine out = after;
  out.status.observedGeneration = after.metadata.generation;
  auto written = deps_.client->updateStatus(kube::kVirtualMachine, after.metadata.namespace_,
                                            api::toJson(out));
  if (!written.isOk()) {
    return written.status().withContext("writing status of " + vmKey(after));
  }
  return core::okStatus();
}

void VmReconciler::event(const api::VirtualMachine& vm, std::string_view type,
                         std::string_view reason, const std::string& message) {
  if (deps_.events) {
    deps_.events->event(api::toJson(vm), type, reason, message);
  }
}

void VmReconciler::phaseEvents(const api::VirtualMachine& vm) {
  if (!vm.status.phase) {
    return;
  }
  const std::string phase(api::toString(*vm.status.phase));
  std::string previous;
  {
    std::lock_guard lock(mu_);
    auto& slot = last_phase_[vmKey(vm)];
    previous = slot;
    slot = phase;
  }
  if (previous.empty() || previous == phase) {
    return;  // first sight (e.g. after a restart) is not a transition
  }
  const std::string where = vm.status.hypervisor.value_or("?");
  switch (*vm.status.phase) {
  case VirtualMachinePhase::kRunning:
    event(vm, "Normal", "Started", "VM is running on " + where);
    break;
  case VirtualMachinePhase::kStopped:
    event(vm, "Normal", "Stopped", "VM stopped on " + where);
    break;
  case VirtualMachinePhase::kFailed:
    event(vm, "Warning", "Failed", "VM failed on " + where);
    break;
  default:
    break;
  }
}

void VmReconciler::recordAttempt(std::string_view result, core::Clock::TimePoint start) {
  if (deps_.metrics) {
    deps_.metrics->attempt(result,
                           std::chrono::duration<double>(deps_.clock->now() - start).count());
  }
}

}  // namespace novacron::controller
