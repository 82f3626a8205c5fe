#include "controller/migration/migration_reconciler.h"

#include <spdlog/spdlog.h>

#include "controller/health/lease_freshness.h"
#include "controller/ledger/ledger.h"
#include "controller/ledger/ledger_status.h"
#include "controller/migration/bandwidth_record.h"
#include "controller/migration/cpu_compat.h"
#include "controller/migration/forecast.h"
#include "controller/migration/plan.h"
#include "controller/migration/target_cleanup.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "lib/api/hypervisor.h"
#include "lib/api/migration_target.h"
#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "lib/kube/resource.h"
#include "lib/runtime/finalizer.h"

namespace novacron::controller::migration {
namespace {

using api::ConditionStatus;
using api::MigrationPhase;

std::string keyOf(const api::ObjectMeta& meta) {
  return meta.namespace_ + "/" + meta.name;
}

std::string vmKeyOf(const api::VMMigration& m) {
  return m.metadata.namespace_ + "/" + m.spec.vmName;
}

MigrationPhase phaseOf(const api::VMMigration& m) {
  return m.status.phase.value_or(MigrationPhase::kPending);
}

api::Condition condition(std::string_view type, ConditionStatus status, std::string reason,
                         std::string message, int64_t generation) {
  api::Condition c;
  c.type = std::string(type);
  c.status = status;
  c.observedGeneration = generation;
  c.reason = std::move(reason);
  c.message = std::move(message);
  return c;
}

MigrationFacts factsOf(const api::VMMigration& m, const VirtualMachinePtr& vm) {
  MigrationFacts f;
  f.key = keyOf(m.metadata);
  f.name = m.metadata.name;
  f.vm_key = vmKeyOf(m);
  f.created = m.metadata.creationTimestamp.value_or(api::Timestamp{});
  f.phase = phaseOf(m);
  f.source = m.status.sourceHypervisor ? *m.status.sourceHypervisor
             : vm                      ? boundHypervisor(*vm)
                                       : std::string();
  f.target = m.status.targetHypervisor.value_or(m.spec.targetHypervisor.value_or(""));
  f.cancel = m.spec.cancel;
  f.deleting = m.metadata.deletionTimestamp.has_value();
  f.low_priority = m.metadata.labels.contains(std::string(api::kInitiatorLabel));
  f.dry_run = m.spec.dryRun;
  return f;
}

}  // namespace

MigrationReconciler::MigrationReconciler(MigrationReconcilerDeps deps)
    : deps_(std::move(deps)),
      scheduler_(scheduler::SchedulerOptions{deps_.config.scheduler.policy,
                                             deps_.config.scheduler.default_overcommit}),
      binder_(deps_.client, scheduler_) {}

bool MigrationReconciler::heartbeatFresh(const std::string& hypervisor) const {
  return health::heartbeatFresh(*deps_.heartbeats, *deps_.cache, hypervisor);
}

core::StatusOr<runtime::ReconcileResult> MigrationReconciler::reconcile(const std::string& key) {
  if (!deps_.cache->synced()) {
    return core::failedPreconditionError("caches not synced yet");
  }
  updateInFlight();
  VMMigrationPtr m = deps_.cache->migration(key);
  if (!m) {
    std::lock_guard lock(mu_);
    last_phase_.erase(key);
    source_reports_.erase(key);
    return runtime::ReconcileResult::done();
  }
  phaseEvents(*m);
  return runtime::finalizer<api::VMMigration>(
      *deps_.client, kube::kVMMigration, *m, api::kControllerFinalizer,
      {[this](api::VMMigration obj) { return act(obj, decide(observe(obj))); },
       [this](const api::VMMigration& obj) { return cleanup(obj); }});
}

SourceSilence MigrationReconciler::sourceSilence(const api::VMMigration& m) {
  const MigrationPhase phase = phaseOf(m);
  const std::string key = keyOf(m.metadata);
  SourceSilence silence;
  silence.picked_up = m.status.progress.has_value();
  const std::string source = m.status.sourceHypervisor.value_or("");
  silence.heartbeat_fresh = source.empty() || heartbeatFresh(source);
  const auto now = deps_.clock->now();
  std::lock_guard lock(mu_);
  if (phase != MigrationPhase::kPreparing && phase != MigrationPhase::kMigrating &&
      phase != MigrationPhase::kPlanning) {
    source_reports_.erase(key);
    return silence;
  }
  auto it = source_reports_.find(key);
  if (it == source_reports_.end()) {
    source_reports_[key] = SourceReport{phase, m.status.progress, now, false};
    return silence;
  }
  if (it->second.phase != phase || !(it->second.progress == m.status.progress)) {
    it->second = SourceReport{phase, m.status.progress, now, true};
    return silence;
  }
  silence.silent_for =
      std::chrono::duration_cast<std::chrono::milliseconds>(now - it->second.since);
  return silence;
}

DecideInput MigrationReconciler::observe(const api::VMMigration& m) {
  const ClusterCache& cache = *deps_.cache;
  DecideInput in;
  VirtualMachinePtr vm = cache.vm(vmKeyOf(m));
  in.self = factsOf(m, vm);
  in.mode = m.spec.mode;
  in.requested_target = m.spec.targetHypervisor;
  in.source = sourceSilence(m);
  in.source_timeout = deps_.config.migrations.source_timeout;
  in.progress_timeout_seconds = m.spec.options.progressTimeoutSeconds;
  in.cold_timeout = deps_.config.migrations.cold_timeout;
  if (m.status.startTime) {
    in.running_for = std::chrono::duration_cast<std::chrono::milliseconds>(
        api::toTimestamp(deps_.clock->wallNow()) - *m.status.startTime);
  }
  in.measured =
      m.status.plan && (m.status.plan->dirtyRateBytesPerSecond || m.status.plan->dirtyRateError);
  // The CPU the guest runs on now: its source's (cpu_compat.h).
  CpuFacts source_cpu;
  HypervisorPtr source = cache.hypervisor(in.self.source);
  if (source) {
    source_cpu = CpuFacts{source->status.cpuModel, source->status.cpuFeatures};
    in.source_zone = zoneOf(*source);
  }
  if (vm) {
    in.vm = VmFacts{vm->metadata.deletionTimestamp.has_value(), boundHypervisor(*vm),
                    vm->status.phase, vm->status.activeMigration.value_or("")};
  }
  for (const auto& other : cache.migrations()) {
    in.all.push_back(factsOf(*other, cache.vm(vmKeyOf(*other))));
  }
  const std::optional<scheduler::VmRequest> request =
      vm ? std::optional(vmRequest(*vm)) : std::nullopt;
  for (const auto& hv : cache.hypervisors()) {
    const std::string& name = hv->metadata.name;
    HypervisorFacts facts;
    facts.cpu_incompatible =
        cpuIncompatibility(source_cpu, CpuFacts{hv->status.cpuModel, hv->status.cpuFeatures});
    facts.zone = zoneOf(*hv);
    if (source) {
      facts.bandwidth_from_source = measuredBandwidth(*source, name);
    }
    if (request) {
      const scheduler::HypervisorView view = hypervisorView(*hv, heartbeatFresh(name));
      if (auto reason = scheduler_.filter(*request, view)) {
        facts.unfit = std::string(scheduler::rejectReasonText(*reason));
      } else {
        facts.score = scheduler_.score(*request, view);
      }
    }
    if (hv->spec.migration) {
      facts.address = hv->spec.migration->address;
      facts.max_inbound = hv->spec.migration->maxInbound;
      facts.max_outbound = hv->spec.migration->maxOutbound;
    } else {
      facts.max_inbound = api::kDefaultMaxInboundMigrations;
      facts.max_outbound = api::kDefaultMaxOutboundMigrations;
    }
    in.hypervisors.emplace(name, std::move(facts));
  }
  in.max_parallel = deps_.config.migrations.max_parallel;
  return in;
}

core::StatusOr<runtime::ReconcileResult> MigrationReconciler::act(const api::VMMigration& m,
                                                                  const Decision& d) {
  switch (d.action) {
  case Action::kNothing:
  case Action::kWaitForSource:
    // The source node-daemon reports next; the recheck notices a source that never does.
    NOVACRON_RETURN_IF_ERROR(reportSourceWait(m, d));
    return d.recheck.count() > 0 ? runtime::ReconcileResult::after(d.recheck)
                                 : runtime::ReconcileResult::done();
  case Action::kWait:
    return wait(m, d);
  case Action::kFail:
    if (phaseOf(m) == MigrationPhase::kPending && failsOnTheVmsState(d)) {
      // A VMMigration created right after its VM became Running must not fail because the
      // cache has not seen that yet (controller_app_test failed so under load): Failed is final.
      NOVACRON_ASSIGN_OR_RETURN(const bool behind, vmCacheBehind(m));
      if (behind) {
        return runtime::ReconcileResult::after(kStaleVmRecheck);
      }
    }
    NOVACRON_RETURN_IF_ERROR(finish(m, MigrationPhase::kFailed, d.reason, d.message));
    return runtime::ReconcileResult::done();
  case Action::kCancel:
    NOVACRON_RETURN_IF_ERROR(finish(m, MigrationPhase::kCancelled, d.reason, d.message));
    return runtime::ReconcileResult::done();
  case Action::kStart:
    return start(m, d);
  case Action::kAbort:
    NOVACRON_RETURN_IF_ERROR(requestAbort(m, d));
    return d.recheck.count() > 0 ? runtime::ReconcileResult::after(d.recheck)
                                 : runtime::ReconcileResult::done();
  case Action::kFinalize:
    NOVACRON_RETURN_IF_ERROR(finalize(m));
    return runtime::ReconcileResult::done();
  case Action::kComplete:
    NOVACRON_RETURN_IF_ERROR(finish(m, phaseOf(m), std::string(api::toString(phaseOf(m))),
                                    m.status.failureReason.value_or("")));
    return runtime::ReconcileResult::done();
  case Action::kPlan:
    return plan(m, d);
  case Action::kForecast:
    NOVACRON_RETURN_IF_ERROR(forecastPlan(m));
    return runtime::ReconcileResult::done();
  }
  return runtime::ReconcileResult::done();
}

core::StatusOr<bool> MigrationReconciler::vmCacheBehind(const api::VMMigration& m) const {
  VirtualMachinePtr cached = deps_.cache->vm(vmKeyOf(m));
  auto live = deps_.client->get(kube::kVirtualMachine, m.metadata.namespace_, m.spec.vmName);
  if (!live.isOk()) {
    if (live.status().code() != core::StatusCode::kNotFound) {
      return live.status().withContext("re-reading VM " + vmKeyOf(m));
    }
    return cached != nullptr;
  }
  const std::string live_rv = (*live)["metadata"].value("resourceVersion", "");
  return cached == nullptr || cached->metadata.resourceVersion != live_rv;
}

core::Status MigrationReconciler::cleanup(const api::VMMigration& m) {
  const Decision d = decide(observe(m));
  switch (d.action) {
  case Action::kAbort:
    NOVACRON_RETURN_IF_ERROR(requestAbort(m, d));
    [[fallthrough]];
  case Action::kNothing:
  case Action::kWaitForSource:
    NOVACRON_RETURN_IF_ERROR(reportSourceWait(m, d));
    // The finalizer stays until the source node-daemon reports the abort (its status update
    // brings the migration back here); the guest must be consistent on the source first.
    return core::unavailableError("VMMigration " + keyOf(m.metadata) +
                                  " is being deleted; waiting for the source node-daemon to abort");
  case Action::kWait:
  case Action::kStart:
    return core::internalError("decide() started a VMMigration that is being deleted");
  default: {
    auto result = act(m, d);
    if (!result.isOk()) {
      return result.status();
    }
    return awaitTargetCleanup(m, outcomeOf(m, d));
  }
  }
}

std::optional<api::MigrationPhase> MigrationReconciler::outcomeOf(const api::VMMigration& m,
                                                                  const Decision& d) {
  switch (d.action) {
  case Action::kFail:
    return MigrationPhase::kFailed;
  case Action::kCancel:
    return MigrationPhase::kCancelled;
  case Action::kComplete:
    return phaseOf(m);
  case Action::kFinalize:
    return MigrationPhase::kSucceeded;
  default:
    return std::nullopt;
  }
}

TargetCleanupFacts MigrationReconciler::targetCleanupFacts(
    const api::VMMigration& m, std::optional<api::MigrationPhase> outcome) const {
  TargetCleanupFacts f;
  f.dry_run = m.spec.dryRun;
  f.needs_preparation = api::needsTargetPreparation(m.spec);
  if (auto it = m.metadata.labels.find(std::string(api::kTargetHypervisorLabel));
      it != m.metadata.labels.end()) {
    f.target = it->second;
  }
  f.recorded = m.status.phase;
  f.outcome = outcome;
  f.cleaned_up = api::targetCleanedUp(m.status);
  if (!f.target.empty()) {
    HypervisorPtr hv = deps_.cache->hypervisor(f.target);
    f.target_exists = hv != nullptr;
    f.target_fenced = hv && api::isFenced(*hv);
  }
  return f;
}

core::Status MigrationReconciler::awaitTargetCleanup(const api::VMMigration& m,
                                                     std::optional<api::MigrationPhase> outcome) {
  const TargetCleanupFacts f = targetCleanupFacts(m, outcome);
  switch (decideTargetCleanup(f)) {
  case TargetCleanup::kNotNeeded:
  case TargetCleanup::kDone:
    return core::okStatus();
  case TargetCleanup::kWait:  // finish() wrote the terminal phase; the target acts on it
    // The target's status write (TargetPrepared=False/CleanedUp) brings the migration back here.
    return core::unavailableError("VMMigration " + keyOf(m.metadata) +
                                  " is being deleted; waiting for hypervisor " + f.target +
                                  " to remove what it prepared (TargetPrepared=False/CleanedUp)");
  case TargetCleanup::kOrphaned: {
    const std::string message =
        "VMMigration " + keyOf(m.metadata) + " deleted while hypervisor " + f.target + " is " +
        (f.target_exists ? "fenced" : "gone") + ": what it prepared for VM " + m.spec.vmName +
        " (folders marked .novacron-migration-" + m.metadata.name + ") may be left there";
    spdlog::warn("hypervisor {}: orphan: {}", f.target, message);
    event(m, "Warning", "OrphanedTargetDisks", message);
    if (HypervisorPtr hv = deps_.cache->hypervisor(f.target); hv && deps_.events) {
      deps_.events->event(api::toJson(*hv), "Warning", "OrphanedTargetDisks", message);
    }
    if (deps_.metrics) {
      deps_.metrics->targetCleanupSkipped();
    }
    return core::okStatus();
  }
  }
  return core::okStatus();
}

core::StatusOr<runtime::ReconcileResult> MigrationReconciler::wait(const api::VMMigration& m,
                                                                   const Decision& d) {
  api::VMMigration after = m;
  after.status.phase = MigrationPhase::kPending;
  api::setCondition(after.status.conditions,
                    condition(api::kConditionProgressing, ConditionStatus::kTrue, d.reason,
                              d.message, m.metadata.generation),
                    api::toTimestamp(deps_.clock->wallNow()));
  const api::Condition* before =
      api::findCondition(m.status.conditions, api::kConditionProgressing);
  NOVACRON_RETURN_IF_ERROR(writeStatus(m, after).status());
  if (!before || before->reason != d.reason || before->message != d.message) {
    event(m, "Normal", d.reason, d.message);
  }
  return runtime::ReconcileResult::after(kWaitRecheck);
}

core::StatusOr<runtime::ReconcileResult> MigrationReconciler::start(const api::VMMigration& m,
                                                                    const Decision& d) {
  const core::Clock& clock = *deps_.clock;
  VirtualMachinePtr vm = deps_.cache->vm(vmKeyOf(m));
  HypervisorPtr target = deps_.cache->hypervisor(d.target);
  if (!vm || !target) {
    return core::conflictError("VM or target vanished from the cache; deciding again");
  }
  const std::string source = m.status.sourceHypervisor.value_or(boundHypervisor(*vm));

  // 1. Scheduling: the decision is recorded before anything is held, so a restart resumes it.
  api::VMMigration scheduling = m;
  scheduling.status.phase = MigrationPhase::kScheduling;
  scheduling.status.sourceHypervisor = source;
  scheduling.status.targetHypervisor = d.target;
  scheduling.status.targetAddress = d.address;
  if (!scheduling.status.forecast && m.spec.mode == api::MigrationMode::kLive) {
    scheduling.status.forecast = startForecast(m, *vm, *target, source);
  }
  api::setCondition(scheduling.status.conditions,
                    condition(api::kConditionProgressing, ConditionStatus::kTrue, "Scheduling",
                              "moving to hypervisor " + d.target + "; reserving capacity there",
                              m.metadata.generation),
                    api::toTimestamp(clock.wallNow()));
  NOVACRON_ASSIGN_OR_RETURN(api::VMMigration stored, writeStatus(m, scheduling));
  if (phaseOf(m) == MigrationPhase::kPending) {
    event(m, "Normal", "Scheduling",
          std::string(m.spec.targetHypervisor ? "target " : "the scheduler picked ") + d.target +
              " for VM " + m.spec.vmName + " (now on " + source + ")" +
              (d.message.empty() ? "" : ": " + d.message));
  }

  // 2. Lock the VM (one active migration per VM: the write is conditional on the VM's version),
  // BEFORE the reservation, so the ledger reconciler always finds the VM pointing at this
  // migration when it sees the reservation (ledger_facts.h).
  NOVACRON_ASSIGN_OR_RETURN(api::VirtualMachine locked, lockVm(*vm, stored, d.target));

  // 3. Reserve on the target's ledger (re-checks the fit on the ledger it writes).
  auto reserved = binder_.reserve(locked, *target, heartbeatFresh(d.target));
  if (!reserved.isOk()) {
    if (reserved.status().code() == core::StatusCode::kAborted) {
      NOVACRON_RETURN_IF_ERROR(finish(stored, MigrationPhase::kFailed, "InsufficientCapacity",
                                      reserved.status().message(), &locked));
      return runtime::ReconcileResult::done();
    }
    return reserved.status();
  }

  // 4. The source node-daemon's watch label (and the VM label for listing), then Migrating.
  const std::string vm_label(api::kVmNameLabel);
  const std::string source_label(kSourceHypervisorLabel);
  const std::string target_label(api::kTargetHypervisorLabel);  // the target prepares disks
  auto& labels = stored.metadata.labels;
  if (labels[vm_label] != m.spec.vmName || labels[source_label] != source ||
      labels[target_label] != d.target) {
    api::VMMigration relabelled = stored;
    relabelled.metadata.labels[vm_label] = m.spec.vmName;
    relabelled.metadata.labels[source_label] = source;
    relabelled.metadata.labels[target_label] = d.target;
    auto written =
        deps_.client->update(kube::kVMMigration, m.metadata.namespace_, api::toJson(relabelled));
    if (!written.isOk()) {
      return written.status().withContext("labelling VMMigration " + keyOf(m.metadata));
    }
    NOVACRON_ASSIGN_OR_RETURN(stored, api::vmMigrationFromJson(*written));
  }
  api::VMMigration migrating = stored;
  migrating.status.phase = MigrationPhase::kMigrating;
  if (!migrating.status.startTime) {
    migrating.status.startTime = api::toTimestamp(clock.wallNow());
  }
  const std::string message =
      "moving VM " + m.spec.vmName + " from " + source + " to " + d.target + " (" + d.address + ")";
  api::setCondition(migrating.status.conditions,
                    condition(api::kConditionProgressing, ConditionStatus::kTrue, "Migrating",
                              message, m.metadata.generation),
                    api::toTimestamp(clock.wallNow()));
  NOVACRON_RETURN_IF_ERROR(writeStatus(stored, migrating).status());
  spdlog::info("VMMigration {}: {}", keyOf(m.metadata), message);
  event(m, "Normal", "Migrating", message);
  return runtime::ReconcileResult::done();
}

api::MigrationPlan MigrationReconciler::planFigures(const api::VirtualMachine& vm,
                                                    const api::Hypervisor& target,
                                                    const std::string& source,
                                                    const api::MigrationOptions& options) {
  const scheduler::HypervisorView view =
      hypervisorView(target, heartbeatFresh(target.metadata.name));
  const scheduler::VmRequest request = vmRequest(vm);
  api::MigrationPlan plan;
  plan.targetHypervisor = target.metadata.name;
  plan.targetCapacityAfter = capacityAfter(scheduler_.effectiveCapacityOf(view), view.allocated,
                                           view.storage_capacity_bytes, request.resources);
  CpuFacts source_cpu;
  std::optional<int64_t> measured;  // bandwidth_record.h: from completed migrations of this pair
  if (HypervisorPtr hv = deps_.cache->hypervisor(source)) {
    source_cpu = CpuFacts{hv->status.cpuModel, hv->status.cpuFeatures};
    measured = measuredBandwidth(*hv, target.metadata.name);
  }
  plan.cpuCompatibility =
      cpuIncompatibility(source_cpu, CpuFacts{target.status.cpuModel, target.status.cpuFeatures});
  plan.cpuCompatible = !plan.cpuCompatibility;
  plan.memoryBytes = request.resources.memory_bytes;
  plan.diskBytes = diskBytesToCopy(options.copyStorage, request.resources.storage_bytes);
  const Bandwidth bandwidth = bandwidthFor(options, measured);
  plan.bandwidthBytesPerSecond = bandwidth.bytes_per_second;
  plan.bandwidthSource = bandwidth.source;
  return plan;
}

api::MigrationForecast MigrationReconciler::startForecast(const api::VMMigration& m,
                                                          const api::VirtualMachine& vm,
                                                          const api::Hypervisor& target,
                                                          const std::string& source) {
  const api::MigrationPlan figures = planFigures(vm, target, source, m.spec.options);
  std::vector<VMMigrationPtr> all = deps_.cache->migrations();
  std::vector<const api::VMMigration*> raw;
  raw.reserve(all.size());
  for (const auto& other : all) {
    raw.push_back(other.get());
  }
  const std::optional<int64_t> rate =
      latestDirtyRate(raw, vmKeyOf(m), api::toTimestamp(deps_.clock->wallNow()));
  const ForecastInput input =
      forecastInputFor(m.spec.options, figures.memoryBytes, figures.diskBytes, rate.value_or(0),
                       figures.bandwidthBytesPerSecond);
  api::MigrationForecast f = forecastMigration(input);
  f.verdict += rate ? " (dirty rate from the VM's latest plan)"
                    : " (no plan of the VM in the last 30 min: dirty rate assumed 0)";
  return f;
}

core::StatusOr<runtime::ReconcileResult> MigrationReconciler::plan(const api::VMMigration& m,
                                                                   const Decision& d) {
  VirtualMachinePtr vm = deps_.cache->vm(vmKeyOf(m));
  HypervisorPtr target = deps_.cache->hypervisor(d.target);
  if (!vm || !target) {
    return core::conflictError("VM or target vanished from the cache; deciding again");
  }
  const std::string source = boundHypervisor(*vm);
  // 1. The source node-daemon's watch label (it measures); never the target's: nothing is
  // prepared there.
  api::VMMigration stored = m;
  const std::string vm_label(api::kVmNameLabel);
  const std::string source_label(kSourceHypervisorLabel);
  if (stored.metadata.labels[vm_label] != m.spec.vmName ||
      stored.metadata.labels[source_label] != source) {
    api::VMMigration relabelled = m;
    relabelled.metadata.labels[vm_label] = m.spec.vmName;
    relabelled.metadata.labels[source_label] = source;
    auto written =
        deps_.client->update(kube::kVMMigration, m.metadata.namespace_, api::toJson(relabelled));
    if (!written.isOk()) {
      return written.status().withContext("labelling VMMigration " + keyOf(m.metadata));
    }
    NOVACRON_ASSIGN_OR_RETURN(stored, api::vmMigrationFromJson(*written));
  }
  // 2. Planning, with the controller's figures.
  api::VMMigration planning = stored;
  planning.status.phase = MigrationPhase::kPlanning;
  planning.status.sourceHypervisor = source;
  planning.status.targetHypervisor = d.target;
  api::MigrationPlan figures = planFigures(*vm, *target, source, m.spec.options);
  figures.targetReason = d.message;
  planning.status.plan = std::move(figures);
  const std::string message = "plan: moving VM " + m.spec.vmName + " from " + source + " to " +
                              d.target + " (" + d.message + "); measuring the guest's dirty rate";
  api::setCondition(planning.status.conditions,
                    condition(api::kConditionProgressing, ConditionStatus::kTrue, "Planning",
                              message, m.metadata.generation),
                    api::toTimestamp(deps_.clock->wallNow()));
  NOVACRON_RETURN_IF_ERROR(writeStatus(stored, planning).status());
  event(m, "Normal", "Planning", message);
  return runtime::ReconcileResult::done();
}

core::Status MigrationReconciler::forecastPlan(const api::VMMigration& m) {
  const api::MigrationPlan& plan = *m.status.plan;  // decide(): measured implies a plan
  const ForecastInput input =
      forecastInputFor(m.spec.options, plan.memoryBytes, plan.diskBytes,
                       plan.dirtyRateBytesPerSecond.value_or(0), plan.bandwidthBytesPerSecond);
  api::MigrationForecast f;
  if (m.spec.mode == api::MigrationMode::kCold) {
    // Stopped for the whole move: only the disks travel (and the guest's shutdown, not modelled).
    ForecastInput cold = input;
    cold.memory_bytes = 0;
    cold.dirty_rate_bytes_per_second = 0;
    f = forecastMigration(cold);
    f.downtimeMs = f.totalMs;
    f.verdict = "Cold: the guest is stopped for the whole move (~" + std::to_string(f.totalMs) +
                " ms plus its shutdown)";
  } else {
    f = forecastMigration(input);
    if (std::string advice = forecastAdvice(input, f); !advice.empty()) {
      f.verdict += "; " + advice;
    }
  }
  if (plan.dirtyRateError) {
    f.verdict += " (the dirty rate could not be measured: assumed 0)";
  }
  api::VMMigration after = m;
  after.status.plan->forecast = f;
  NOVACRON_ASSIGN_OR_RETURN(api::VMMigration stored, writeStatus(m, after));
  return finish(stored, MigrationPhase::kPlanned, "Planned",
                "plan: to " + plan.targetHypervisor.value_or("?") + ": " + f.verdict);
}

core::StatusOr<api::VirtualMachine> MigrationReconciler::lockVm(const api::VirtualMachine& vm,
                                                                const api::VMMigration& m,
                                                                const std::string& target) {
  api::VirtualMachine after = vm;
  after.status.activeMigration = m.metadata.name;
  api::setCondition(
      after.status.conditions,
      condition(kConditionMigrating, ConditionStatus::kTrue, "Migrating",
                "VMMigration " + m.metadata.name + " is moving the VM to hypervisor " + target,
                vm.metadata.generation),
      api::toTimestamp(deps_.clock->wallNow()));
  if (after.status == vm.status) {
    return vm;
  }
  auto written =
      deps_.client->updateStatus(kube::kVirtualMachine, vm.metadata.namespace_, api::toJson(after));
  if (!written.isOk()) {
    return written.status().withContext("marking VM " + keyOf(vm.metadata) + " as migrating");
  }
  return api::virtualMachineFromJson(*written);
}

core::Status MigrationReconciler::finalize(const api::VMMigration& m) {
  VirtualMachinePtr vm = deps_.cache->vm(vmKeyOf(m));
  const std::string target = m.status.targetHypervisor.value_or("");
  const std::string source = m.status.sourceHypervisor.value_or("");
  if (!vm || target.empty()) {
    return finish(m, MigrationPhase::kFailed, vm ? "TargetNotFound" : "VMNotFound",
                  vm ? "Finalizing without status.targetHypervisor" : "the VM was deleted");
  }
  // The handover: binding, ledger summary, lock and condition in ONE write, conditional on the
  // VM's version. Only now does the target's node-daemon own the VM.
  api::VirtualMachine after = *vm;
  after.status.hypervisor = target;
  after.status.allocated = vm->spec.resources;
  if (after.status.activeMigration == m.metadata.name) {
    after.status.activeMigration.reset();
  }
  const auto now = api::toTimestamp(deps_.clock->wallNow());
  api::setCondition(
      after.status.conditions,
      condition(kConditionMigrating, ConditionStatus::kFalse, "Succeeded",
                "moved from " + source + " to " + target + " by VMMigration " + m.metadata.name,
                vm->metadata.generation),
      now);
  api::setCondition(after.status.conditions,
                    condition(api::kConditionScheduled, ConditionStatus::kTrue, "Scheduled",
                              "bound to hypervisor " + target, vm->metadata.generation),
                    now);
  api::VirtualMachine stored = *vm;
  if (!(after.status == vm->status)) {
    after.status.observedGeneration = vm->metadata.generation;
    auto written = deps_.client->updateStatus(kube::kVirtualMachine, vm->metadata.namespace_,
                                              api::toJson(after));
    if (!written.isOk()) {
      return written.status().withContext("handing VM " + keyOf(vm->metadata) + " over to " +
                                          target);
    }
    NOVACRON_ASSIGN_OR_RETURN(stored, api::virtualMachineFromJson(*written));
    spdlog::info("VMMigration {}: VM {} bound to {}", keyOf(m.metadata), keyOf(vm->metadata),
                 target);
  }
  auto relabelled = binder_.labelFor(stored);
  if (!relabelled.isOk()) {
    return relabelled.status();
  }
  return finish(m, MigrationPhase::kSucceeded, "Succeeded",
                "VM " + m.spec.vmName + " moved from " + source + " to " + target,
                &relabelled.value());
}

core::Status MigrationReconciler::finish(const api::VMMigration& m, api::MigrationPhase phase,
                                         const std::string& reason, const std::string& message,
                                         const api::VirtualMachine* written_vm) {
  const std::string phase_name(api::toString(phase));
  const bool succeeded = phase == MigrationPhase::kSucceeded;
  const auto now = api::toTimestamp(deps_.clock->wallNow());
  VirtualMachinePtr vm = written_vm ? std::make_shared<const api::VirtualMachine>(*written_vm)
                                    : deps_.cache->vm(vmKeyOf(m));

  // 1. Unlock the VM if it still names this migration.
  if (vm && vm->status.activeMigration == m.metadata.name) {
    api::VirtualMachine after = *vm;
    after.status.activeMigration.reset();
    api::setCondition(after.status.conditions,
                      condition(kConditionMigrating, ConditionStatus::kFalse, phase_name,
                                "VMMigration " + m.metadata.name + " " +
                                    (succeeded ? "succeeded" : "ended " + phase_name) +
                                    (message.empty() ? "" : ": " + message),
                                vm->metadata.generation),
                      now);
    auto written = deps_.client->updateStatus(kube::kVirtualMachine, vm->metadata.namespace_,
                                              api::toJson(after));
    if (!written.isOk() && written.status().code() != core::StatusCode::kNotFound) {
      return written.status().withContext("clearing activeMigration of " + keyOf(vm->metadata));
    }
  }
  // 2. Release what is no longer needed: the source's entry after success, the target's
  // reservation otherwise (unless the VM is bound there after all). A migration reserves only
  // after it locked the VM, so one that lost the lock to another migration holds nothing there:
  // the entry is the other one's.
  const bool held_by_other =
      vm && vm->status.activeMigration && *vm->status.activeMigration != m.metadata.name;
  if (vm && !held_by_other && !m.spec.dryRun) {  // a plan holds nothing
    const std::string bound = boundHypervisor(*vm);
    const std::string release =
        succeeded ? m.status.sourceHypervisor.value_or("") : m.status.targetHypervisor.value_or("");
    if (!release.empty() && bound != release) {
      NOVACRON_RETURN_IF_ERROR(releaseEntry(release, keyOf(vm->metadata), vm->metadata.uid));
    }
  }
  // 3. The record: terminal phase, conditions, completionTime — last, so Progressing=False means
  // everything above is done.
  api::VMMigration after = m;
  after.status.phase = phase;
  if (!after.status.completionTime) {
    after.status.completionTime = now;
  }
  const bool planned = phase == MigrationPhase::kPlanned;
  if (!succeeded && !planned && !after.status.failureReason && !message.empty()) {
    after.status.failureReason = message;
  }
  const api::Condition* progressing =
      api::findCondition(m.status.conditions, api::kConditionProgressing);
  const bool transition = !progressing || progressing->status != ConditionStatus::kFalse;
  // Once recorded, the summary stays (a later pass only re-checks the releases above).
  const std::string summary = !transition ? progressing->message
                              : (succeeded || planned)
                                  ? message
                                  : after.status.failureReason.value_or(phase_name);
  api::setCondition(after.status.conditions,
                    condition(api::kConditionProgressing, ConditionStatus::kFalse, phase_name,
                              summary, m.metadata.generation),
                    now);
  const api::Condition* reported =
      api::findCondition(m.status.conditions, api::kConditionSucceeded);
  if (planned) {
    // A plan has no Succeeded condition: nothing was meant to move.
  } else if (succeeded) {
    api::setCondition(after.status.conditions,
                      condition(api::kConditionSucceeded, ConditionStatus::kTrue, "Succeeded",
                                summary, m.metadata.generation),
                      now);
  } else if (!reported || reported->status != ConditionStatus::kFalse) {
    // A Succeeded=False the node-daemon wrote keeps its (more specific) reason.
    api::setCondition(after.status.conditions,
                      condition(api::kConditionSucceeded, ConditionStatus::kFalse, reason, summary,
                                m.metadata.generation),
                      now);
  }
  if (const api::Condition* waited =
          api::findCondition(m.status.conditions, kConditionWaitingForSource);
      waited && waited->status == ConditionStatus::kTrue) {
    api::setCondition(after.status.conditions,
                      condition(kConditionWaitingForSource, ConditionStatus::kFalse, phase_name,
                                "the migration ended " + phase_name, m.metadata.generation),
                      now);
  }
  api::VMMigration stored = after;
  if (!m.metadata.deletionTimestamp ||
      decideTargetCleanup(targetCleanupFacts(m, phase)) == TargetCleanup::kWait) {
    // An object being deleted is not written: the finalizer's removal (conditional on the version
    // this reconcile read) follows, and the object goes with it. Unless the finalizer waits for
    // the target (target_cleanup.h): the target acts on the terminal phase it reads, and a later
    // pass must not report the transition again.
    NOVACRON_ASSIGN_OR_RETURN(stored, writeStatus(m, after));
  }
  if (transition) {
    spdlog::info("VMMigration {}: {}: {}", keyOf(m.metadata), phase_name, summary);
    event(m, succeeded || planned ? "Normal" : "Warning", phase_name, summary);
    if (deps_.metrics && !m.spec.dryRun) {
      deps_.metrics->finished(stored);
    }
  }
  if (succeeded) {
    // Best effort: a lost measurement only makes the next choice less informed.
    if (auto recorded = recordBandwidth(*deps_.client, *deps_.cache, stored); !recorded.isOk()) {
      spdlog::warn("VMMigration {}: cannot record the measured bandwidth: {}", keyOf(m.metadata),
                   recorded.toString());
    }
  }
  return core::okStatus();
}

core::Status MigrationReconciler::requestAbort(const api::VMMigration& m, const Decision& d) {
  if (m.spec.cancel) {
    return core::okStatus();
  }
  api::VMMigration cancelled = m;
  cancelled.spec.cancel = true;  // the one abort signal the source node-daemon watches
  if (d.reason == kReasonColdMigrationTimeout) {
    // The source reports this abort as Failed with this reason (not as a user's Cancelled).
    cancelled.metadata.annotations[std::string(api::kAbortReasonAnnotation)] =
        d.reason + ": " + d.message;
  }
  auto written =
      deps_.client->update(kube::kVMMigration, m.metadata.namespace_, api::toJson(cancelled));
  if (!written.isOk()) {
    return written.status().withContext("asking the node-daemon to abort " + keyOf(m.metadata));
  }
  if (d.reason == "SourceNotResponding" || d.reason == kReasonColdMigrationTimeout) {
    spdlog::warn("VMMigration {}: {}", keyOf(m.metadata), d.message);
    event(m, "Warning", d.reason, d.message);
  } else {
    event(m, "Normal", "Cancelling", "the VMMigration is being deleted; aborting the migration");
  }
  return core::okStatus();
}

bool MigrationReconciler::sourceReportChanged(const api::VMMigration& m) {
  std::lock_guard lock(mu_);
  auto it = source_reports_.find(keyOf(m.metadata));
  return it != source_reports_.end() && it->second.changed;
}

core::Status MigrationReconciler::reportSourceWait(const api::VMMigration& m, const Decision& d) {
  const bool waiting = d.action == Action::kWaitForSource;
  const api::Condition* before =
      api::findCondition(m.status.conditions, kConditionWaitingForSource);
  const bool was_waiting = before && before->status == ConditionStatus::kTrue;
  if (!waiting && !was_waiting) {
    return core::okStatus();
  }
  if (!waiting && !sourceReportChanged(m)) {
    // Not waiting only because this process has just started (a restart or a new leader: the
    // silence clock is in memory): the source has not answered, so the wait goes on.
    return core::okStatus();
  }
  const auto now = api::toTimestamp(deps_.clock->wallNow());
  const std::string source = m.status.sourceHypervisor.value_or("?");
  api::VMMigration after = m;
  std::string message;
  if (waiting) {
    const api::Timestamp since = was_waiting ? before->lastTransitionTime : now;
    message = d.message + "; waiting since " + api::formatTimestamp(since);
    api::setCondition(after.status.conditions,
                      condition(kConditionWaitingForSource, ConditionStatus::kTrue, d.reason,
                                message, m.metadata.generation),
                      now);
  } else {
    message = "the source node-daemon (hypervisor " + source + ") reported again";
    api::setCondition(after.status.conditions,
                      condition(kConditionWaitingForSource, ConditionStatus::kFalse,
                                "SourceAnswered", message, m.metadata.generation),
                      now);
  }
  NOVACRON_RETURN_IF_ERROR(writeStatus(m, after).status());
  if (waiting && !was_waiting) {
    spdlog::warn("VMMigration {}: {}", keyOf(m.metadata), message);
    event(m, "Warning", kConditionWaitingForSource, message);
  } else if (!waiting) {
    spdlog::info("VMMigration {}: {}", keyOf(m.metadata), message);
  }
  return core::okStatus();
}

core::Status MigrationReconciler::releaseEntry(const std::string& hypervisor,
                                               const std::string& vm_key, const std::string& uid) {
  HypervisorPtr cached = deps_.cache->hypervisor(hypervisor);
  if (!cached) {
    return core::okStatus();
  }
  api::Hypervisor current = *cached;
  for (int attempt = 0; attempt < 4; ++attempt) {
    NOVACRON_ASSIGN_OR_RETURN(ledger::Ledger entries, ledgerOf(current));
    auto it = entries.find(vm_key);
    if (it == entries.end() || it->second.uid != uid) {
      return core::okStatus();  // nothing of ours (the ledger reconciler is the backstop)
    }
    entries.erase(it);
    api::Hypervisor updated = current;
    ledger::putLedger(updated.status, entries);
    auto written = deps_.client->updateStatus(kube::kHypervisor, "", api::toJson(updated));
    if (written.isOk() || written.status().code() == core::StatusCode::kNotFound) {
      return core::okStatus();
    }
    if (written.status().code() != core::StatusCode::kConflict) {
      return written.status().withContext("releasing " + vm_key + " on " + hypervisor);
    }
    auto live = deps_.client->get(kube::kHypervisor, "", hypervisor);
    if (!live.isOk()) {
      return live.status().code() == core::StatusCode::kNotFound
                 ? core::okStatus()
                 : live.status().withContext("re-reading hypervisor " + hypervisor);
    }
    NOVACRON_ASSIGN_OR_RETURN(current, api::hypervisorFromJson(*live));
  }
  return core::conflictError("hypervisor " + hypervisor + " kept changing while releasing " +
                             vm_key);
}

core::StatusOr<api::VMMigration> MigrationReconciler::writeStatus(const api::VMMigration& before,
                                                                  const api::VMMigration& after) {
  if (after.status == before.status) {
    return before;  // idempotent: a second reconcile in a row writes nothing
  }
  api::VMMigration out = after;
  out.status.observedGeneration = after.metadata.generation;
  auto written =
      deps_.client->updateStatus(kube::kVMMigration, after.metadata.namespace_, api::toJson(out));
  if (!written.isOk()) {
    return written.status().withContext("writing status of VMMigration " + keyOf(after.metadata));
  }
  return api::vmMigrationFromJson(*written);
}

void MigrationReconciler::event(const api::VMMigration& m, std::string_view type,
                                std::string_view reason, const std::string& message) {
  if (deps_.events) {
    deps_.events->event(api::toJson(m), type, reason, message);
  }
}

void MigrationReconciler::phaseEvents(const api::VMMigration& m) {
  const MigrationPhase phase = phaseOf(m);
  std::optional<MigrationPhase> previous;
  {
    std::lock_guard lock(mu_);
    const std::string key = keyOf(m.metadata);
    if (auto it = last_phase_.find(key); it != last_phase_.end()) {
      previous = it->second;
    }
    last_phase_[key] = phase;
  }
  // Phases the source node-daemon enters; the controller's own transitions have their events.
  if (previous && *previous != phase &&
      (phase == MigrationPhase::kPreparing || phase == MigrationPhase::kFinalizing)) {
    event(m, "Normal", api::toString(phase),
          phase == MigrationPhase::kFinalizing
              ? "the guest runs on " + m.status.targetHypervisor.value_or("?") +
                    "; handing the VM over"
              : "the target is preparing the incoming domain");
  }
}

void MigrationReconciler::updateInFlight() {
  if (!deps_.metrics) {
    return;
  }
  double count = 0;
  double waiting = 0;
  for (const auto& m : deps_.cache->migrations()) {
    count += holdsSlot(phaseOf(*m)) ? 1 : 0;
    const api::Condition* c = api::findCondition(m->status.conditions, kConditionWaitingForSource);
    waiting += c && c->status == ConditionStatus::kTrue && !api::isTerminal(phaseOf(*m)) ? 1 : 0;
  }
  deps_.metrics->setInFlight(count);
  deps_.metrics->setWaitingForSource(waiting);
}

}  // namespace novacron::controller::migration
