#include "controller/vm/vm_reconciler.h"

#include <spdlog/spdlog.h>

#include "controller/evacuation/evacuation_decide.h"
#include "controller/status_write.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/kube/resource.h"
#include "lib/runtime/finalizers.h"

namespace novacron::controller {
namespace {

scheduler::SchedulerOptions schedulerOptions(const config::ControllerConfig& config) {
  return scheduler::SchedulerOptions{config.scheduler.policy, config.scheduler.default_overcommit,
                                     config.scheduler.percentage_to_score};
}

std::optional<std::string> leaseRenewal(const ClusterCache& cache, const std::string& name) {
  auto lease = cache.heartbeat(name);
  if (!lease) {
    return std::nullopt;
  }
  return lease->renew_time + "@" + lease->resource_version;
}

// The node an unbound VM's failover left its domain and disks on: the annotation failover
// records, or else the label. Failover writes the status (unbinding) first, then the label and the
// annotation together; cut off in between (a controller killed, a lost lease), it leaves the label
// naming that node and no annotation. Nothing else of ours labels an unbound VM (a VM editor may,
// but may write the annotation just as well).
std::string resourcesOn(const api::VirtualMachine& vm) {
  auto on = vm.metadata.annotations.find(std::string(api::kResourcesOnAnnotation));
  return on != vm.metadata.annotations.end() && !on->second.empty() ? on->second
                                                                    : hypervisorLabel(vm);
}

bool isConflict(const core::Status& status) {
  return status.code() == core::StatusCode::kAborted ||
         status.code() == core::StatusCode::kConflict;
}

}  // namespace

VmReconciler::VmReconciler(VmReconcilerDeps deps)
    : deps_(std::move(deps)),
      scheduler_(schedulerOptions(deps_.config)),
      binder_(deps_.client, scheduler_),
      placement_(deps_.cache, deps_.clock, [this](const std::string& hypervisor) {
        deps_.heartbeats->observe(hypervisor, leaseRenewal(*deps_.cache, hypervisor));
        return core::Clock::Duration(deps_.heartbeats->remaining(hypervisor));
      }) {}

core::StatusOr<runtime::ReconcileResult> VmReconciler::reconcile(const std::string& key) {
  if (!deps_.cache->synced()) {
    return core::failedPreconditionError("caches not synced yet");
  }
  VirtualMachinePtr vm = deps_.cache->vm(key);
  if (!vm) {
    std::lock_guard lock(mu_);
    last_phase_.erase(key);
    waiting_.erase(key);
    binder_.forget(key);
    return runtime::ReconcileResult::done();  // gone: the ledger reconciler releases its capacity
  }
  if (vm->metadata.deletionTimestamp) {
    setWaiting(key, false);
    return reconcileDeleting(*vm);
  }
  if (boundHypervisor(*vm).empty()) {
    // Waiting from before its decision (a capacity change during the decision enqueues it again)
    // until it is placed or halted.
    setWaiting(key, true);
    auto result = reconcileUnbound(*vm);
    if (result.isOk() && *result == runtime::ReconcileResult::done()) {
      setWaiting(key, false);
    }
    return result;
  }
  setWaiting(key, false);
  phaseEvents(*vm);
  return reconcileBound(*vm);
}

std::vector<std::string> VmReconciler::waitingForCapacity() const {
  std::lock_guard lock(mu_);
  return {waiting_.begin(), waiting_.end()};
}

void VmReconciler::setWaiting(const std::string& key, bool waiting) {
  std::lock_guard lock(mu_);
  if (waiting) {
    waiting_.insert(key);
  } else {
    waiting_.erase(key);
  }
}

// --- VMs being deleted ---

core::StatusOr<runtime::ReconcileResult> VmReconciler::reconcileDeleting(
    const api::VirtualMachine& vm) {
  const DeletingDecision decision = decideDeleting(observeDeleting(vm));
  api::VirtualMachine current = vm;
  if (decision.repair_label) {
    NOVACRON_ASSIGN_OR_RETURN(current, binder_.labelFor(vm));
  }
  if (!decision.label_for_cleanup.empty()) {
    NOVACRON_RETURN_IF_ERROR(labelForCleanup(current, decision.label_for_cleanup));
  }
  if (decision.release_finalizer) {
    NOVACRON_ASSIGN_OR_RETURN(const bool released, releaseFinalizer(current, decision));
    if (!released) {
      return runtime::ReconcileResult::done();  // gone already: reported by the pass that was
    }
  }
  emit(vm, decision.events);
  return runtime::ReconcileResult::done();
}

DeletingFacts VmReconciler::observeDeleting(const api::VirtualMachine& vm) const {
  DeletingFacts facts;
  facts.bound = boundHypervisor(vm);
  facts.label = hypervisorLabel(vm);
  facts.has_node_finalizer = runtime::hasFinalizer(api::toJson(vm), api::kNodeCleanupFinalizer);
  facts.failover_fenced = deps_.config.health.failover == config::FailoverPolicy::kFenced;
  facts.vm_key = vmKey(vm) + " (uid " + vm.metadata.uid + ")";
  if (!facts.bound.empty()) {
    HypervisorPtr hv = deps_.cache->hypervisor(facts.bound);
    facts.hypervisor_exists = hv != nullptr;
    facts.hypervisor_fenced = hv && isFenced(*hv);
  } else if (facts.resources_on = resourcesOn(vm); !facts.resources_on.empty()) {
    HypervisorPtr hv = deps_.cache->hypervisor(facts.resources_on);
    facts.resources_on_exists = hv != nullptr;
    facts.resources_on_fenced = hv && isFenced(*hv);
  }
  auto it = vm.metadata.annotations.find(std::string(api::kForceDeleteAnnotation));
  facts.force_delete = it != vm.metadata.annotations.end() && it->second == "true";
  return facts;
}

core::StatusOr<bool> VmReconciler::releaseFinalizer(const api::VirtualMachine& vm,
                                                    const DeletingDecision& decision) {
  auto removed = runtime::removeFinalizer(*deps_.client, kube::kVirtualMachine, api::toJson(vm),
                                          api::kNodeCleanupFinalizer);
  if (!removed.isOk()) {
    // NotFound: the release of a pass on a fresher copy deleted it; this copy was stale.
    return removed.status().code() == core::StatusCode::kNotFound
               ? core::StatusOr<bool>(false)
               : core::StatusOr<bool>(removed.status());
  }
  spdlog::warn("VM {}: force-deleted: {}", vmKey(vm),
               decision.events.empty() ? std::string() : decision.events.back().message);
  if (decision.orphan_event) {
    reportOrphan(decision);
  }
  return true;
}

core::Status VmReconciler::labelForCleanup(const api::VirtualMachine& vm, const std::string& node) {
  spdlog::info("VM {}: labelling it for hypervisor {}, which holds its disks, to clean them up",
               vmKey(vm), node);
  api::VirtualMachine labelled = vm;  // carries the resourceVersion it was read at
  labelled.metadata.labels[std::string(api::kHypervisorLabel)] = node;
  auto written =
      deps_.client->update(kube::kVirtualMachine, vm.metadata.namespace_, api::toJson(labelled));
  return written.isOk() ? core::okStatus()
                        : written.status().withContext("labelling " + vmKey(vm) + " for cleanup");
}

void VmReconciler::reportOrphan(const DeletingDecision& decision) {
  spdlog::warn("hypervisor {}: orphan: {}", decision.orphan_on, decision.orphan_event->message);
  HypervisorPtr hv = deps_.cache->hypervisor(decision.orphan_on);
  if (!deps_.events || !hv) {
    return;
  }
  deps_.events->event(api::toJson(*hv), decision.orphan_event->type, decision.orphan_event->reason,
                      decision.orphan_event->message);
}

// --- unbound VMs ---

// A reservation that lost the race for a hypervisor (another worker reserved there first) is
// decided again at once on the fresher ledger it brought back, instead of waiting for the queue's
// back-off: under a burst of creations every worker picks the same least-loaded hypervisor, and
// exponential back-off turned those lost races into seconds of latency (issue 15). Bounded: after
// kPlacementAttempts the error goes to the queue as before.
core::StatusOr<runtime::ReconcileResult> VmReconciler::reconcileUnbound(
    const api::VirtualMachine& vm) {
  const auto stopped = vm.metadata.annotations.find(std::string(api::kEvacuationStoppedAnnotation));
  if (auto restore = evacuation::runStrategyToRestoreWhenUnbound(
          stopped == vm.metadata.annotations.end() ? std::nullopt
                                                   : std::optional<std::string>(stopped->second),
          false, vm.metadata.deletionTimestamp.has_value())) {
    NOVACRON_RETURN_IF_ERROR(restoreAfterEvacuationStop(vm, *restore));
    return runtime::ReconcileResult::done();  // the update's watch event brings the VM back
  }
  constexpr int kPlacementAttempts = 5;
  const auto start = deps_.clock->now();
  for (int attempt = 1;; ++attempt) {
    bool lost_race = false;
    auto result = placeOnce(vm, start, &lost_race);
    if (!lost_race || attempt >= kPlacementAttempts) {
      return result;
    }
  }
}

core::Status VmReconciler::restoreAfterEvacuationStop(const api::VirtualMachine& vm,
                                                      api::RunStrategy to) {
  api::VirtualMachine after = vm;  // carries the resourceVersion it was read at
  after.metadata.annotations.erase(std::string(api::kEvacuationStoppedAnnotation));
  after.spec.runStrategy = to;
  auto written =
      deps_.client->update(kube::kVirtualMachine, vm.metadata.namespace_, api::toJson(after));
  if (!written.isOk()) {
    if (written.status().code() == core::StatusCode::kNotFound) {
      return core::okStatus();
    }
    return written.status().withContext("restoring the runStrategy of " + vmKey(vm));
  }
  const auto from = vm.metadata.annotations.find(std::string(api::kResourcesOnAnnotation));
  const std::string host =
      from == vm.metadata.annotations.end() ? "its hypervisor" : "hypervisor " + from->second;
  const std::string message = "stopped by an evacuation, then failed over (" + host +
                              " fenced or gone): runStrategy back to " +
                              std::string(api::toString(to));
  spdlog::info("VM {}: {}", vmKey(vm), message);
  emit(vm, {{"Normal", "EvacuationRestoring", message}});
  return core::okStatus();
}

core::StatusOr<runtime::ReconcileResult> VmReconciler::placeOnce(const api::VirtualMachine& vm,
                                                                 core::Clock::TimePoint start,
                                                                 bool* lost_race) {
  std::unique_lock decide_lock(decide_mu_);
  const UnboundDecision decision = decidePlacement(vm);
  if (decision.action == UnboundDecision::Action::kReserveAndBind) {
    const auto request = vmRequest(vm);
    placement_.reserving(
        vmKey(vm), decision.hypervisor,
        ledger::LedgerEntry{vm.metadata.uid, request.resources, request.anti_affinity_group});
  }
  decide_lock.unlock();
  spdlog::debug("VM {}: {} -> '{}' ({})", vmKey(vm),
                scheduler::policyName(scheduler_.options().policy), decision.hypervisor,
                decision.explanation);
  if (decision.action != UnboundDecision::Action::kWriteStatus) {
    return bind(vm, decision, start, lost_race);
  }
  NOVACRON_RETURN_IF_ERROR(writeStatus(vm, decision.status));
  emit(vm, decision.events);
  if (!decision.retry_after) {
    return runtime::ReconcileResult::done();  // halted
  }
  recordAttempt("unschedulable", start);
  return runtime::ReconcileResult::after(*decision.retry_after);
}

UnboundDecision VmReconciler::decidePlacement(const api::VirtualMachine& vm) {
  if (vm.spec.runStrategy == api::RunStrategy::kHalted) {
    return decideUnbound(vm, UnboundFacts{}, scheduler_, *deps_.clock);  // nothing to look at
  }
  return placement_.decide(vm, [&](const UnboundFacts& facts) {
    return decideUnbound(vm, facts, scheduler_, *deps_.clock);
  });
}

core::StatusOr<runtime::ReconcileResult> VmReconciler::bind(const api::VirtualMachine& vm,
                                                            const UnboundDecision& decision,
                                                            core::Clock::TimePoint start,
                                                            bool* lost_race) {
  if (decision.action == UnboundDecision::Action::kReserveAndBind) {
    auto reserved = reserve(vm, decision.hypervisor);
    placement_.reserved(vmKey(vm));  // its result, if any, is assumed already
    if (!reserved.isOk()) {
      *lost_race = isConflict(reserved);
      recordAttempt("error", start);
      return reserved;
    }
  }
  // The binding is status.hypervisor (written with the VM's resourceVersion as precondition, in
  // the same write as the rest of the controller's status), then mirrored into the label.
  auto bound = binder_.bind(vm, decision.status);
  if (!bound.isOk()) {
    if (bound.status().code() == core::StatusCode::kNotFound) {
      return runtime::ReconcileResult::done();  // deleted; the ledger reconciler drops the entry
    }
    if (bound.status().code() == core::StatusCode::kConflict && deps_.metrics) {
      deps_.metrics->conflict("vm");
    }
    recordAttempt("error", start);
    // Either the binding failed (the next attempt finds the reservation and completes it) or only
    // the label did (the next reconcile of the bound VM repairs it).
    return bound.status();
  }
  emit(vm, decision.events);
  recordAttempt("scheduled", start);
  return runtime::ReconcileResult::done();
}

core::Status VmReconciler::reserve(const api::VirtualMachine& vm, const std::string& hypervisor) {
  HypervisorPtr copy = placement_.hypervisor(hypervisor);
  if (!copy) {
    return core::conflictError("hypervisor " + hypervisor + " vanished; deciding again");
  }
  std::optional<api::Hypervisor> latest;
  auto reserved = binder_.reserve(vm, *copy, heartbeatFresh(hypervisor), &latest);
  if (latest) {
    placement_.assume(std::move(*latest));
  }
  if (!reserved.isOk()) {
    if (!isConflict(reserved.status())) {
      return reserved.status();
    }
    if (deps_.metrics) {
      deps_.metrics->conflict("hypervisor");
    }
    // Decide again with a fresher view; retried with backoff by the queue.
    return core::conflictError(reserved.status().message());
  }
  placement_.assume(std::move(reserved).value());
  return core::okStatus();
}

// --- bound VMs ---

core::StatusOr<runtime::ReconcileResult> VmReconciler::reconcileBound(
    const api::VirtualMachine& vm) {
  const BoundDecision decision = decideBound(vm, observeBound(vm), *deps_.clock);
  switch (decision.action) {
  case BoundDecision::Action::kFailover:
    NOVACRON_RETURN_IF_ERROR(failOver(vm, decision));
    break;
  case BoundDecision::Action::kRepairLabel: {
    auto relabelled = binder_.labelFor(vm);
    if (!relabelled.isOk()) {
      return relabelled.status();
    }
    // Logged only when a write was needed: right after a binding the status write's watch event
    // often comes before the label write's, and the binder's own label write is no repair.
    if (relabelled->metadata.resourceVersion != vm.metadata.resourceVersion) {
      spdlog::warn("VM {}: {}; repaired the label", vmKey(vm), decision.why);
    }
    break;  // the label's watch event brings the VM back
  }
  case BoundDecision::Action::kWriteStatus:
    NOVACRON_RETURN_IF_ERROR(writeStatus(vm, decision.status));
    emit(vm, decision.events);
    break;
  }
  return runtime::ReconcileResult::done();
}

BoundFacts VmReconciler::observeBound(const api::VirtualMachine& vm) const {
  BoundFacts facts;
  facts.hypervisor = boundHypervisor(vm);
  facts.label = hypervisorLabel(vm);
  HypervisorPtr hv = deps_.cache->hypervisor(facts.hypervisor);
  facts.hypervisor_exists = hv != nullptr;
  facts.fenced = hv && isFenced(*hv);
  facts.heartbeat_fresh = hv && heartbeatFresh(facts.hypervisor);
  facts.failover = deps_.config.health.failover;
  facts.heartbeat_timeout = deps_.heartbeats->timeout();
  return facts;
}

core::Status VmReconciler::failOver(const api::VirtualMachine& vm, const BoundDecision& decision) {
  spdlog::warn("VM {}: failing over from hypervisor {}: {}", vmKey(vm), boundHypervisor(vm),
               decision.why);
  // Unbind the binding first (status.hypervisor), then the label that mirrors it.
  api::VirtualMachine after = vm;
  after.status = decision.status;
  after.status.observedGeneration = vm.metadata.generation;
  auto written =
      deps_.client->updateStatus(kube::kVirtualMachine, vm.metadata.namespace_, api::toJson(after));
  if (!written.isOk()) {
    return written.status().withContext("unbinding " + vmKey(vm) + " for failover");
  }
  emit(vm, decision.events);
  NOVACRON_ASSIGN_OR_RETURN(api::VirtualMachine stored, api::virtualMachineFromJson(*written));
  // Record where the domain and disks stay, in the same write as the label (it carries the
  // resourceVersion): deleting the VM later releases the node's finalizer only while that node
  // is fenced or gone (decideDeleting).
  stored.metadata.annotations[std::string(api::kResourcesOnAnnotation)] = boundHypervisor(vm);
  auto relabelled = binder_.labelFor(stored);
  return relabelled.isOk() ? core::okStatus() : relabelled.status();
}

// --- shared ---

bool VmReconciler::heartbeatFresh(const std::string& hypervisor) const {
  deps_.heartbeats->observe(hypervisor, leaseRenewal(*deps_.cache, hypervisor));
  return deps_.heartbeats->fresh(hypervisor);
}

core::Status VmReconciler::writeStatus(const api::VirtualMachine& vm,
                                       const api::VirtualMachineStatus& status) {
  return writeStatusIfChanged(*deps_.client, kube::kVirtualMachine, vm, status,
                              vm.metadata.generation);
}

void VmReconciler::emit(const api::VirtualMachine& vm, const std::vector<VmEvent>& events) {
  if (!deps_.events) {
    return;
  }
  for (const auto& e : events) {
    deps_.events->event(api::toJson(vm), e.type, e.reason, e.message);
  }
}

void VmReconciler::phaseEvents(const api::VirtualMachine& vm) {
  if (!vm.status.phase) {
    return;
  }
  std::string previous(api::toString(*vm.status.phase));
  {
    std::lock_guard lock(mu_);
    std::swap(previous, last_phase_[vmKey(vm)]);
  }
  if (auto e = phaseEvent(previous, vm)) {
    emit(vm, {*e});
  }
}

void VmReconciler::recordAttempt(std::string_view result, core::Clock::TimePoint start) {
  if (deps_.metrics) {
    deps_.metrics->attempt(result,
                           std::chrono::duration<double>(deps_.clock->now() - start).count());
  }
}

}  // namespace novacron::controller
