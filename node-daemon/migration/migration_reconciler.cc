#include "node-daemon/migration/migration_reconciler.h"

#include <spdlog/spdlog.h>

#include "lib/api/codec.h"
#include "lib/runtime/store.h"
#include "node-daemon/domain/naming.h"
#include "node-daemon/migration/migrate_params.h"
#include "node-daemon/migration/source_domain.h"
#include "node-daemon/migration/target_decide.h"

namespace novacron::node::migration {
namespace {

using core::Status;
using core::StatusOr;
using runtime::ReconcileResult;

std::string fill(const std::string& tmpl, const std::string& value) {
  std::string out = tmpl;
  if (auto at = out.find("{}"); at != std::string::npos) {
    out.replace(at, 2, value);
  }
  return out;
}

// "host:port" -> "host" ("[v6]:port" -> "v6"); a bare host stays as it is.
std::string hostOf(const std::string& address) {
  if (!address.empty() && address.front() == '[') {
    auto end = address.find(']');
    return end == std::string::npos ? address : address.substr(1, end - 1);
  }
  auto colon = address.find(':');
  if (colon != std::string::npos && address.find(':', colon + 1) == std::string::npos) {
    return address.substr(0, colon);
  }
  return address;
}

}  // namespace

SourceAction decideSource(const SourceObservation& o) {
  if (!o.ours) {
    // Someone else ended it (the controller, after this node stayed silent too long): nothing of
    // ours may keep moving the guest.
    return o.job_running ? SourceAction::kCancelJob : SourceAction::kNone;
  }
  if (o.job_finished) {
    return SourceAction::kReportOutcome;
  }
  if (o.job_running) {
    return o.cancel ? SourceAction::kCancelJob : SourceAction::kReportProgress;
  }
  // No job in this process. When the source cannot tell where the guest is, the target decides:
  // running there, the move completed; a domain there not running yet, look again (visibly when
  // the source's domain is shut off or gone: it will not run here again); nothing there, lost
  // (started again here) or never here.
  const bool source_down = !o.domain || o.domain->state == virt::DomainState::kShutOff;
  const auto by_target = [&](SourceAction absent) {
    if (!o.target) {
      return SourceAction::kAskTarget;
    }
    switch (*o.target) {
    case TargetGuest::kRunning:
      return SourceAction::kReportMigrated;
    case TargetGuest::kPresent:
      return source_down ? SourceAction::kWaitGuestOnTarget : SourceAction::kWaitForLibvirt;
    case TargetGuest::kAbsent:
      break;
    }
    return absent;
  };
  if (!o.domain) {
    return o.started_before ? by_target(SourceAction::kReportNoDomain)
                            : SourceAction::kReportNoDomain;
  }
  if (o.domain->state == virt::DomainState::kShutOff &&
      o.domain->shutoff_reason == virt::ShutoffReason::kMigrated) {
    return SourceAction::kReportMigrated;
  }
  if (o.domain->state == virt::DomainState::kPaused &&
      o.domain->paused_reason == virt::PausedReason::kPostcopyFailed) {
    return SourceAction::kResumePostCopy;
  }
  if (o.domain->state == virt::DomainState::kPaused &&
      o.domain->paused_reason == virt::PausedReason::kPostcopy) {
    return SourceAction::kWaitPostCopy;
  }
  if (o.orphan_job) {
    return SourceAction::kAbortOrphanJob;
  }
  if (o.started_before) {
    const bool paused_by_migration = o.domain->state == virt::DomainState::kPaused &&
                                     o.domain->paused_reason == virt::PausedReason::kMigration;
    if (o.domain->state == virt::DomainState::kRunning ||
        (o.domain->state == virt::DomainState::kPaused && !paused_by_migration)) {
      return SourceAction::kReportLost;  // the guest is here; its job died with the old process
    }
    return by_target(SourceAction::kReportLost);
  }
  if (o.cancel) {
    return SourceAction::kReportCancelled;  // never started: nothing to abort
  }
  if (!o.target_ready) {
    return SourceAction::kWaitForTarget;
  }
  return SourceAction::kStartJob;
}

std::optional<std::string> targetAddressOf(const api::VMMigration& mig) {
  if (!mig.status.targetAddress || mig.status.targetAddress->empty()) {
    return std::nullopt;
  }
  return mig.status.targetAddress;
}

virt::MigrateRequest migrateRequest(const api::MigrationOptions& options,
                                    const std::string& address,
                                    const SourceReconcilerOptions& templates) {
  virt::MigrateRequest r;
  r.dest_uri = options.tls ? withPkiPath(fill(templates.tls_libvirt_uri_template, address),
                                         templates.tls_pki_dir)
                           : fill(templates.libvirt_uri_template, address);
  if (!templates.migrate_uri_template.empty()) {
    r.migrate_uri = fill(templates.migrate_uri_template, hostOf(address));
  }
  if (options.bandwidthMiBps) {
    r.bandwidth_mib = static_cast<uint64_t>(*options.bandwidthMiBps);
  }
  r.max_downtime_ms = static_cast<uint64_t>(options.maxDowntimeMs);
  r.auto_converge = options.autoConverge;
  r.postcopy = options.postCopy && options.postCopy->enabled;
  switch (options.compression) {
  case api::MigrationCompression::kNone:
    break;
  case api::MigrationCompression::kXbzrle:
    r.compression = virt::MigrateRequest::Compression::kXbzrle;
    break;
  case api::MigrationCompression::kZstd:
    r.compression = virt::MigrateRequest::Compression::kZstd;
    r.parallel_connections = 2;
    break;
  }
  r.copy_storage = options.copyStorage == api::CopyStorage::kAlways;
  r.tls = options.tls;
  return r;
}

SourceMigrationReconciler::SourceMigrationReconciler(
    kube::ClientPtr client, virt::Connection& conn,
    std::shared_ptr<runtime::EventRecorder> recorder, SourceReconcilerOptions options)
    : client_(std::move(client)),
      conn_(conn),
      recorder_(std::move(recorder)),
      options_(std::move(options)),
      informer_(client_, kube::kVMMigration, api::fromJson<api::VMMigration>,
                runtime::ReflectorOptions{.label_selector = std::string(kSourceHypervisorLabel) +
                                                            "=" + options_.node_name,
                                          .registry = options_.registry}),
      loop_(
          runtime::ControllerOptions{.name = "node_migration",
                                     .workers = std::max(1, options_.workers),
                                     .synced = {runtime::waitForSyncOf(informer_)},
                                     .clock = options_.clock ? options_.clock : core::systemClock(),
                                     .registry = options_.registry},
          [this](const std::string& key) { return reconcile(key); }),
      runner_(conn_, RunnerOptions{
                         .clock = options_.clock,
                         .sample_interval = options_.sample_interval,
                         .on_progress = [this](const std::string& key) { loop_.queue().add(key); },
                         .on_done = [this](const std::string& key) { loop_.queue().add(key); },
                         .connect_target = options_.connect_target}),
      cold_(conn_, ColdRunnerOptions{
                       .clock = options_.clock,
                       .connect = options_.connect_target,
                       .uploader = options_.uploader,
                       .on_progress = [this](const std::string& key) { loop_.queue().add(key); },
                       .on_done = [this](const std::string& key) { loop_.queue().add(key); }}),
      probe_(conn_, options_.clock ? options_.clock : core::systemClock(), options_.dirty_rate) {
  informer_.addEventHandler(runtime::enqueueKeys<api::VMMigration>(loop_.queue()));
}

SourceMigrationReconciler::~SourceMigrationReconciler() {
  stop();
}

Status SourceMigrationReconciler::start(std::chrono::milliseconds sync_timeout) {
  informer_.start();
  if (!informer_.waitForSync(sync_timeout)) {
    return core::unavailableError("VMMigration informer did not sync");
  }
  loop_.start();
  return Status::ok();
}

void SourceMigrationReconciler::stop() {
  loop_.stop();
  informer_.stop();
}

StatusOr<ReconcileResult> SourceMigrationReconciler::reconcile(const std::string& key) {
  auto cached = informer_.store().get(key);
  if (!cached) {
    cancelJob(key);  // the object is gone (its finalizer let go): nothing may keep moving
    forgetJob(key);
    return ReconcileResult::done();
  }
  const api::VMMigration& mig = *cached;
  if (mig.spec.dryRun) {
    return reconcilePlan(key, mig);  // a plan never starts a job
  }

  // Observe.
  SourceObservation o;
  o.ours = mig.status.phase == api::MigrationPhase::kMigrating &&
           mig.status.sourceHypervisor.value_or("") == options_.node_name;
  o.cancel = mig.spec.cancel || mig.metadata.deletionTimestamp.has_value();
  o.job_running = jobRunning(key);
  o.job_finished = jobOutcome(key).has_value();
  o.started_before = mig.status.progress.has_value();
  o.target_ready = targetReady(mig);
  NOVACRON_ASSIGN_OR_RETURN(std::string domain,
                            domain::domainName(mig.metadata.namespace_, mig.spec.vmName));
  if (o.ours && !o.job_running && !o.job_finished) {
    // Unreadable (libvirtd restarting): decide nothing, look again (source_domain.h).
    NOVACRON_ASSIGN_OR_RETURN(SourceDomain seen, observeSourceDomain(conn_, domain));
    o.domain = std::move(seen.domain);
    o.orphan_job = seen.job_running;
  }

  // Decide (asking the target when the source cannot tell), act.
  SourceAction action = decideSource(o);
  if (action == SourceAction::kAskTarget) {
    // No answer (no connect_target configured included: FailedPrecondition) is no verdict: the
    // error is retried, never taken for "nothing there".
    auto address = targetAddressOf(mig);
    if (!address) {
      return core::unavailableError("VMMigration " + mig.metadata.name +
                                    " has no status.targetAddress to ask where the guest is");
    }
    auto on = guestOnTarget(options_.connect_target,
                            migrateRequest(mig.spec.options, *address, options_).dest_uri, domain);
    if (!on.isOk()) {
      return on.status().withContext("asking the target where the guest of " + domain + " is");
    }
    o.target = *on;
    action = decideSource(o);
  }
  api::VMMigrationStatus status = mig.status;
  switch (action) {
  case SourceAction::kNone:
    if (!o.ours && o.job_finished) {
      forgetJob(key);  // reported; the controller has moved on
    }
    return ReconcileResult::done();
  case SourceAction::kWaitForTarget:
    return ReconcileResult::done();  // the target's status write brings the key back
  case SourceAction::kReportCancelled:
    status.phase = api::MigrationPhase::kCancelled;
    status.failureReason = "Cancelled: cancelled before data started moving";
    if (auto reason = applyAbortReason(mig, status)) {
      NOVACRON_RETURN_IF_ERROR(writeStatus(mig, status));
      event(mig, "Warning", *reason, *status.failureReason);
      return ReconcileResult::done();
    }
    NOVACRON_RETURN_IF_ERROR(writeStatus(mig, status));
    event(mig, "Normal", "Cancelled", *status.failureReason);
    return ReconcileResult::done();
  case SourceAction::kStartJob:
    NOVACRON_RETURN_IF_ERROR(mig.spec.mode == api::MigrationMode::kCold ? startColdJob(mig, domain)
                                                                        : startJob(mig, domain));
    return ReconcileResult::done();
  case SourceAction::kCancelJob:
    cancelJob(key);
    return ReconcileResult::done();
  case SourceAction::kReportProgress: {
    auto progress = runner_.progress(key);
    if (!progress) {
      progress = cold_.progress(key);
    }
    if (progress) {
      status.progress = *progress;
    }
    setPostCopyCondition(status, runner_.postCopy(key), mig.metadata.generation);
    NOVACRON_RETURN_IF_ERROR(writeStatus(mig, status));
    return ReconcileResult::done();
  }
  case SourceAction::kReportOutcome: {
    Outcome out = *jobOutcome(key);
    if (out.phase == api::MigrationPhase::kFinalizing) {
      NOVACRON_RETURN_IF_ERROR(removeCopiedFiles(mig));
    }
    status.phase = out.phase;
    status.progress = out.progress;
    setPostCopyCondition(status, out.postcopy, mig.metadata.generation);
    if (out.phase != api::MigrationPhase::kFinalizing) {
      status.failureReason = out.reason + ": " + out.message;
    }
    if (auto reason = applyAbortReason(mig, status)) {
      out.reason = *reason;
      out.message = *status.failureReason;
    }
    NOVACRON_RETURN_IF_ERROR(writeStatus(mig, status));
    event(mig, out.phase == api::MigrationPhase::kFinalizing ? "Normal" : "Warning", out.reason,
          out.message);
    forgetJob(key);
    return ReconcileResult::done();
  }
  case SourceAction::kReportMigrated:
    NOVACRON_RETURN_IF_ERROR(removeCopiedFiles(mig));
    status.phase = api::MigrationPhase::kFinalizing;
    if (!status.progress) {
      status.progress = api::MigrationProgress{};
    }
    status.progress->percent = 100;
    NOVACRON_RETURN_IF_ERROR(writeStatus(mig, status));
    event(mig, "Normal", "Succeeded", "the guest left " + options_.node_name + " (recovered)");
    return ReconcileResult::done();
  case SourceAction::kReportLost:
    status.phase = api::MigrationPhase::kFailed;
    status.failureReason =
        o.domain && o.domain->state != virt::DomainState::kShutOff
            ? "NodeDaemonRestarted: the migration job ended with a previous node-daemon process; "
              "the guest keeps running on the source"
            : "NodeDaemonRestarted: the migration job ended with a previous node-daemon process "
              "and the guest runs neither here nor on the target (libvirt lost it); it is started "
              "again on the source";
    NOVACRON_RETURN_IF_ERROR(writeStatus(mig, status));
    event(mig, "Warning", "NodeDaemonRestarted", *status.failureReason);
    return ReconcileResult::done();
  case SourceAction::kResumePostCopy:
    NOVACRON_RETURN_IF_ERROR(startJob(mig, domain, /*resume_postcopy=*/true));
    return ReconcileResult::done();
  case SourceAction::kWaitPostCopy:
    setPostCopyCondition(
        status,
        PostCopyStatus{.active = true,
                       .message = "post-copy runs in libvirt (job of an earlier node-daemon "
                                  "process); waiting for it to end"},
        mig.metadata.generation);
    NOVACRON_RETURN_IF_ERROR(writeStatus(mig, status));
    return ReconcileResult::after(std::chrono::seconds(5));
  case SourceAction::kAbortOrphanJob: {
    spdlog::warn("VMMigration {}: aborting the libvirt job of {} left by a previous node-daemon",
                 key, domain);
    Status aborted = conn_.abortJob(domain);
    if (!aborted.isOk()) {
      return aborted.withContext("aborting the orphaned migration job of " + domain);
    }
    event(mig, "Warning", "OrphanedJobAborted",
          "aborted the migration job a previous node-daemon process left running on " + domain);
    return ReconcileResult::after(std::chrono::seconds(1));  // then: Migrated or Lost
  }
  case SourceAction::kAskTarget:  // not reached: decided again above with the target's answer
    return core::internalError("VMMigration " + key + ": the target's answer was not used");
  case SourceAction::kWaitForLibvirt:
    return ReconcileResult::after(std::chrono::seconds(2));
  case SourceAction::kWaitGuestOnTarget: {
    const std::string why =
        "the source domain " + domain + " on " + options_.node_name + " is " +
        (o.domain ? "shut off (not migrated)" : "gone") + " and hypervisor " +
        mig.status.targetHypervisor.value_or("?") +
        " holds the guest's domain, not running (paused, e.g. by post-copy): the guest cannot "
        "run here and is never restarted (a guest must never run twice); the VM stays locked "
        "until it runs there or an operator decides (docs/migration.md, Post-copy)";
    const bool started = noteTargetGuestWait(status, true, why, mig.metadata.generation,
                                             api::toTimestamp(clock()->wallNow()));
    NOVACRON_RETURN_IF_ERROR(writeStatus(mig, status));
    if (started) {
      spdlog::warn("VMMigration {}: {}", key, why);
      event(mig, "Warning", "TargetGuestNotRunning", why);
    }
    return ReconcileResult::after(std::chrono::seconds(10));
  }
  case SourceAction::kReportNoDomain:
    status.phase = api::MigrationPhase::kFailed;
    status.failureReason =
        "SourceDomainMissing: domain " + domain + " is not on " + options_.node_name;
    NOVACRON_RETURN_IF_ERROR(writeStatus(mig, status));
    event(mig, "Warning", "SourceDomainMissing", *status.failureReason);
    return ReconcileResult::done();
  }
  return ReconcileResult::done();
}

bool needsDirtyRate(const api::VMMigration& mig, const std::string& node_name) {
  return mig.spec.dryRun && mig.status.phase == api::MigrationPhase::kPlanning &&
         mig.status.sourceHypervisor.value_or("") == node_name && !mig.metadata.deletionTimestamp &&
         !(mig.status.plan &&
           (mig.status.plan->dirtyRateBytesPerSecond || mig.status.plan->dirtyRateError));
}

StatusOr<ReconcileResult> SourceMigrationReconciler::reconcilePlan(const std::string& key,
                                                                   const api::VMMigration& mig) {
  if (!needsDirtyRate(mig, options_.node_name)) {
    probe_.forget(key);
    return ReconcileResult::done();
  }
  NOVACRON_ASSIGN_OR_RETURN(std::string domain,
                            domain::domainName(mig.metadata.namespace_, mig.spec.vmName));
  DirtyRateProbe::Step step = probe_.step(key, domain);
  if (!step.result) {
    return ReconcileResult::after(step.again);
  }
  api::VMMigrationStatus status = mig.status;
  api::MigrationPlan& plan = status.plan ? *status.plan : status.plan.emplace();
  if (step.result->bytes_per_second) {
    plan.dirtyRateBytesPerSecond = *step.result->bytes_per_second;
    plan.dirtyRateMeasuredTime =
        api::toTimestamp((options_.clock ? options_.clock : core::systemClock())->wallNow());
  } else {
    plan.dirtyRateError = step.result->error;
    spdlog::warn("VMMigration {}: measuring the dirty rate of {} failed: {}", key, domain,
                 step.result->error);
  }
  Status written = writeStatus(mig, status);
  if (!written.isOk()) {
    probe_.forget(key);  // measure again on the retry: the result is not stored anywhere
    return written;
  }
  return ReconcileResult::done();
}

Status SourceMigrationReconciler::startJob(const api::VMMigration& mig, const std::string& domain,
                                           bool resume_postcopy) {
  auto address = targetAddressOf(mig);
  if (!address) {
    return core::unavailableError("VMMigration " + mig.metadata.name +
                                  " has no status.targetAddress yet");
  }
  Job job;
  job.key = runtime::objectKey(mig.metadata.namespace_, mig.metadata.name);
  job.domain = domain;
  job.request = migrateRequest(mig.spec.options, *address, options_);
  applyTargetStorage(job.request, mig.status.targetStorage, options_.vm_root, options_.image_root);
  job.request.postcopy_resume = resume_postcopy;
  job.postcopy = postCopyPolicyFor(mig.spec.options);
  Status usable = checkWireOptions(mig.spec.options);
  if (usable.isOk() && mig.spec.options.tls && !options_.tls_pki_dir.empty()) {
    usable = checkTlsDir(options_.tls_pki_dir);
  }
  if (!usable.isOk() && !resume_postcopy) {
    // Terminal: nothing moved yet, the guest keeps running here.
    api::VMMigrationStatus status = mig.status;
    status.phase = api::MigrationPhase::kFailed;
    status.failureReason = "UnsupportedOptions: " + usable.message();
    NOVACRON_RETURN_IF_ERROR(writeStatus(mig, status));
    event(mig, "Warning", "UnsupportedOptions", usable.message());
    return Status::ok();
  }
  int64_t memory = 0;
  if (options_.vm_memory) {
    memory = options_.vm_memory(runtime::objectKey(mig.metadata.namespace_, mig.spec.vmName))
                 .value_or(0);
  }
  job.limits = limitsFor(mig.spec.options, memory);
  if (runner_.start(std::move(job))) {
    event(mig, "Normal", "MigrationStarted",
          "moving " + domain + " from " + options_.node_name + " to " + *address);
  }
  return Status::ok();
}

Status SourceMigrationReconciler::startColdJob(const api::VMMigration& mig,
                                               const std::string& domain) {
  auto address = targetAddressOf(mig);
  if (!address) {
    return core::unavailableError("VMMigration " + mig.metadata.name +
                                  " has no status.targetAddress yet");
  }
  if (!options_.connect_target || !options_.uploader) {
    return core::terminal(
        core::failedPreconditionError("cold migration is not wired on " + options_.node_name));
  }
  const std::string vm_key = runtime::objectKey(mig.metadata.namespace_, mig.spec.vmName);
  ColdJob job;
  job.key = runtime::objectKey(mig.metadata.namespace_, mig.metadata.name);
  job.domain = domain;
  virt::MigrateRequest request = migrateRequest(mig.spec.options, *address, options_);
  applyTargetStorage(request, mig.status.targetStorage, options_.vm_root, options_.image_root);
  job.dest_uri = request.dest_uri;
  job.copy = request.copy_storage;
  job.prefixes = request.rewrite_paths;
  if (options_.vm_grace_seconds) {
    job.grace = std::chrono::seconds(options_.vm_grace_seconds(vm_key).value_or(30));
  }
  if (job.copy) {
    auto dir = options_.vm_dir ? options_.vm_dir(vm_key) : std::nullopt;
    if (!dir) {
      return core::unavailableError("the folder of VM " + vm_key + " is unknown here");
    }
    job.vm_dir = *dir;
  }
  if (cold_.start(std::move(job))) {
    event(mig, "Normal", "MigrationStarted",
          "moving " + domain + " cold from " + options_.node_name + " to " + *address);
  }
  return Status::ok();
}

bool SourceMigrationReconciler::jobRunning(const std::string& key) const {
  return runner_.running(key) || cold_.running(key);
}

std::optional<Outcome> SourceMigrationReconciler::jobOutcome(const std::string& key) const {
  auto out = runner_.outcome(key);
  return out ? out : cold_.outcome(key);
}

void SourceMigrationReconciler::cancelJob(const std::string& key) {
  runner_.cancel(key);
  cold_.cancel(key);
}

void SourceMigrationReconciler::forgetJob(const std::string& key) {
  runner_.forget(key);
  cold_.forget(key);
}

Status SourceMigrationReconciler::removeCopiedFiles(const api::VMMigration& mig) {
  if (!mig.status.targetStorage || !mig.status.targetStorage->copy ||
      !options_.remove_local_files) {
    return Status::ok();  // shared storage: the target runs on these very files
  }
  return options_.remove_local_files(runtime::objectKey(mig.metadata.namespace_, mig.spec.vmName));
}

Status SourceMigrationReconciler::writeStatus(const api::VMMigration& mig,
                                              const api::VMMigrationStatus& status) {
  api::VMMigration out = mig;
  out.status = status;
  // A report after a wait for the target's guest ends that wait.
  noteTargetGuestWait(out.status, false, "", mig.metadata.generation,
                      api::toTimestamp(clock()->wallNow()));
  if (mig.status == out.status) {
    return Status::ok();
  }
  auto written =
      client_->updateStatus(kube::kVMMigration, mig.metadata.namespace_, api::toJson(out));
  if (!written.isOk()) {
    return written.status().withContext("writing status of VMMigration " + mig.metadata.namespace_ +
                                        "/" + mig.metadata.name);
  }
  return Status::ok();
}

void SourceMigrationReconciler::event(const api::VMMigration& mig, std::string_view type,
                                      std::string_view reason, const std::string& message) {
  if (recorder_) {
    recorder_->event(api::toJson(mig), type, reason, message);
  }
}

std::optional<std::string> applyAbortReason(const api::VMMigration& mig,
                                            api::VMMigrationStatus& status) {
  auto it = mig.metadata.annotations.find(std::string(api::kAbortReasonAnnotation));
  if (status.phase != api::MigrationPhase::kCancelled || it == mig.metadata.annotations.end() ||
      it->second.empty()) {
    return std::nullopt;
  }
  status.phase = api::MigrationPhase::kFailed;
  status.failureReason = it->second;
  return it->second.substr(0, it->second.find(':'));
}

bool noteTargetGuestWait(api::VMMigrationStatus& status, bool waiting, const std::string& message,
                         int64_t generation, api::Timestamp now) {
  const api::Condition* before =
      api::findCondition(status.conditions, kConditionWaitingForTargetGuest);
  const bool was_waiting = before && before->status == api::ConditionStatus::kTrue;
  api::Condition c;
  c.type = std::string(kConditionWaitingForTargetGuest);
  c.observedGeneration = generation;
  if (waiting) {
    c.status = api::ConditionStatus::kTrue;
    c.reason = "TargetGuestNotRunning";
    c.message = message + "; waiting since " +
                api::formatTimestamp(was_waiting ? before->lastTransitionTime : now);
  } else if (was_waiting && status.phase != api::MigrationPhase::kMigrating) {
    const std::string phase(status.phase ? api::toString(*status.phase) : "Unknown");
    c.status = api::ConditionStatus::kFalse;
    c.reason = phase;
    c.message = "the source node-daemon reported " + phase;
  } else {
    return false;
  }
  api::setCondition(status.conditions, std::move(c), now);
  return waiting && !was_waiting;
}

void setPostCopyCondition(api::VMMigrationStatus& status,
                          const std::optional<PostCopyStatus>& postcopy, int64_t generation) {
  if (!postcopy) {
    return;
  }
  if (auto c = postCopyCondition(*postcopy, generation)) {
    api::setCondition(status.conditions, *c, api::toTimestamp(std::chrono::system_clock::now()));
  }
}

}  // namespace novacron::node::migration
