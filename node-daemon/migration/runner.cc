#include "node-daemon/migration/runner.h"

#include <condition_variable>

#include <spdlog/spdlog.h>

#include "node-daemon/migration/source_domain.h"

namespace novacron::node::migration {

struct MigrationRunner::Run {
  Run(Job j, core::Clock::TimePoint started)
      : job(std::move(j)), tracker(job.limits, started), trigger(job.postcopy) {
    if (job.request.postcopy_resume) {
      postcopy.active = true;  // a recovery job: the switch happened under an earlier process
      postcopy.message = "resuming a failed post-copy migration";
    }
  }

  Job job;
  std::mutex mu;
  std::condition_variable_any cv;
  bool done = false;                     // guarded by mu; migrate() returned
  bool cancel = false;                   // guarded by mu; cancel() was called
  bool abort_sent = false;               // guarded by mu
  std::optional<Verdict> abort_verdict;  // guarded by mu; the tracker's reason to abort
  std::string abort_message;             // guarded by mu
  ProgressTracker tracker;               // monitor thread only
  PostCopyTrigger trigger;               // monitor thread only
  PostCopyStatus postcopy;               // guarded by mu
  bool stopping = false;                 // guarded by mu; the runner is being destroyed
  bool confirming = false;          // guarded by mu; migrate() failed: the monitor no longer acts
  api::MigrationProgress progress;  // guarded by mu
  std::optional<Outcome> outcome;   // guarded by mu
  std::thread migrate_thread;
  std::thread monitor_thread;
};

MigrationRunner::MigrationRunner(virt::Connection& conn, RunnerOptions options)
    : conn_(conn), options_(std::move(options)) {
  if (!options_.clock) {
    options_.clock = core::systemClock();
  }
}

MigrationRunner::~MigrationRunner() {
  std::map<std::string, std::shared_ptr<Run>> runs;
  {
    std::lock_guard lock(mu_);
    runs.swap(runs_);
  }
  for (auto& [key, run] : runs) {  // every run told first, so none waits for another's join
    {
      std::lock_guard lock(run->mu);
      run->cancel = !run->done;
      run->stopping = true;
    }
    run->cv.notify_all();
  }
  for (auto& [key, run] : runs) {
    if (run->migrate_thread.joinable()) {
      run->migrate_thread.join();
    }
    if (run->monitor_thread.joinable()) {
      run->monitor_thread.join();
    }
  }
}

bool MigrationRunner::start(Job job) {
  std::lock_guard lock(mu_);
  if (runs_.contains(job.key)) {
    return false;
  }
  auto run = std::make_shared<Run>(std::move(job), options_.clock->now());
  runs_[run->job.key] = run;
  spdlog::info("node-daemon: migration {}: moving domain {} to {}", run->job.key, run->job.domain,
               run->job.request.dest_uri);
  Run* r = run.get();
  r->monitor_thread = std::thread([this, r] { monitor(*r); });
  r->migrate_thread = std::thread([this, r] {
    core::Status migrated = migrateWithRecovery(*r);
    finish(*r, migrated);
  });
  return true;
}

void MigrationRunner::cancel(const std::string& key) {
  std::shared_ptr<Run> run;
  {
    std::lock_guard lock(mu_);
    auto it = runs_.find(key);
    if (it == runs_.end()) {
      return;
    }
    run = it->second;
  }
  {
    std::lock_guard lock(run->mu);
    if (run->done || run->cancel) {
      return;
    }
    run->cancel = true;
  }
  run->cv.notify_all();
}

void MigrationRunner::monitor(Run& run) {
  const std::string& domain = run.job.domain;
  std::unique_lock lock(run.mu);
  while (!run.done) {
    options_.clock->waitFor(lock, run.cv, options_.sample_interval,
                            [&] { return run.done || (run.cancel && !run.abort_sent); });
    if (run.done) {
      break;
    }
    if (run.confirming) {
      // The call returned: confirmFailure() observes the domain, nothing to sample or abort.
      // Wait here (releasing run.mu): the wait above returns at once while a cancel is unsent,
      // and looping on it held run.mu for good, so confirmFailure() never got it back.
      options_.clock->waitFor(lock, run.cv, options_.sample_interval, [&] { return run.done; });
      continue;
    }
    if (run.cancel && !run.abort_sent) {
      run.abort_sent = true;
      if (run.postcopy.active) {
        spdlog::warn(
            "node-daemon: migration {}: not cancelling: in post-copy the guest already "
            "runs on the target",
            run.job.key);
        continue;
      }
      lock.unlock();
      spdlog::info("node-daemon: migration {}: cancelling the job of {}", run.job.key, domain);
      if (core::Status s = conn_.abortJob(domain); !s.isOk()) {
        spdlog::warn("node-daemon: migration {}: abort failed: {}", run.job.key, s.toString());
      }
      lock.lock();
      continue;
    }
    lock.unlock();
    auto stats = conn_.jobStats(domain);
    const auto now = options_.clock->now();
    if (!stats.isOk() || stats->type == virt::JobType::kNone) {
      lock.lock();
      continue;  // not started yet, or just finished
    }
    const Verdict verdict = run.tracker.observe(*stats, now);
    const std::string why = run.tracker.explain(verdict);
    lock.lock();
    run.progress = run.tracker.progress();
    maybeSwitchToPostCopy(run, lock, now);
    // In post-copy there is nothing to abort back to: the guest runs on the target.
    bool abort = verdict != Verdict::kContinue && !run.abort_sent && !run.postcopy.active;
    if (abort) {
      run.abort_sent = true;
      run.abort_verdict = verdict;
      run.abort_message = why;
    }
    lock.unlock();
    if (options_.on_progress) {
      options_.on_progress(run.job.key);
    }
    if (abort) {
      spdlog::warn("node-daemon: migration {}: aborting: {}", run.job.key, why);
      if (core::Status s = conn_.abortJob(domain); !s.isOk()) {
        spdlog::warn("node-daemon: migration {}: abort failed: {}", run.job.key, s.toString());
      }
    }
    lock.lock();
  }
}

void MigrationRunner::finish(Run& run, const core::Status& migrated) {
  Outcome o;
  {
    std::lock_guard lock(run.mu);
    o.progress = run.progress;
    o.postcopy = run.postcopy;
    if (migrated.isOk() && o.postcopy.active) {
      o.postcopy.completed = true;
      o.postcopy.message = "completed in post-copy; " + o.postcopy.message;
    }
    if (migrated.isOk()) {
      o.phase = api::MigrationPhase::kFinalizing;
      o.reason = "Succeeded";
      o.message = "the guest runs on the target";
      o.progress.percent = 100;
      o.progress.dataRemainingBytes = 0;
      o.progress.etaSeconds = 0;
    } else if (run.postcopy.lost) {
      o.phase = api::MigrationPhase::kFailed;  // nothing to restart from but the disks
      o.reason = "PostCopyGuestLost";
      o.message = run.postcopy.message;
    } else if (run.cancel) {
      o.phase = api::MigrationPhase::kCancelled;
      o.reason = "Cancelled";
      o.message = "cancelled; the guest keeps running on the source";
    } else if (run.abort_verdict) {
      o.phase = api::MigrationPhase::kFailed;
      o.reason = *run.abort_verdict == Verdict::kNoProgress ? "NoProgress" : "CompletionTimeout";
      o.message = run.abort_message + "; the guest keeps running on the source";
    } else {
      o.phase = api::MigrationPhase::kFailed;
      o.reason = migrated.code() == core::StatusCode::kUnavailable ? "TargetUnreachable"
                 : migrated.code() == core::StatusCode::kInvalidArgument
                     ? "UnsupportedOptions"  // libvirt/QEMU refused an option (e.g. zstd)
                     : "MigrationFailed";
      o.message = migrated.message() + "; the guest keeps running on the source";
    }
  }
  if (migrated.isOk()) {
    // The source keeps its (shut off) definition, so the completed job's figures are readable.
    auto completed = conn_.completedJobStats(run.job.domain);
    if (completed.isOk()) {
      o.progress.downtimeMs = static_cast<int64_t>(completed->downtime_ms);
      if (completed->time_elapsed_ms > 0) {
        o.progress.elapsedMs = static_cast<int64_t>(completed->time_elapsed_ms);
      }
      if (completed->data_total > 0) {
        o.progress.dataTotalBytes = static_cast<int64_t>(completed->data_total);
        o.progress.dataProcessedBytes = static_cast<int64_t>(completed->data_processed);
      }
    }
  }
  spdlog::info("node-daemon: migration {}: {} ({})", run.job.key, o.reason, o.message);
  {
    std::lock_guard lock(run.mu);
    run.outcome = o;
    run.done = true;
  }
  run.cv.notify_all();
  if (options_.on_done) {
    options_.on_done(run.job.key);
  }
}

bool MigrationRunner::running(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = runs_.find(key);
  if (it == runs_.end()) {
    return false;
  }
  std::lock_guard run_lock(it->second->mu);
  return !it->second->done;
}

std::optional<api::MigrationProgress> MigrationRunner::progress(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = runs_.find(key);
  if (it == runs_.end()) {
    return std::nullopt;
  }
  std::lock_guard run_lock(it->second->mu);
  return it->second->progress;
}

std::optional<PostCopyStatus> MigrationRunner::postCopy(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = runs_.find(key);
  if (it == runs_.end()) {
    return std::nullopt;
  }
  std::lock_guard run_lock(it->second->mu);
  return it->second->postcopy;
}

std::optional<Outcome> MigrationRunner::outcome(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = runs_.find(key);
  if (it == runs_.end()) {
    return std::nullopt;
  }
  std::lock_guard run_lock(it->second->mu);
  return it->second->outcome;
}

void MigrationRunner::forget(const std::string& key) {
  std::shared_ptr<Run> run;
  {
    std::lock_guard lock(mu_);
    auto it = runs_.find(key);
    if (it == runs_.end()) {
      return;
    }
    {
      std::lock_guard run_lock(it->second->mu);
      if (!it->second->done) {
        return;  // never forget a running job
      }
    }
    run = it->second;
    runs_.erase(it);
  }
  if (run->migrate_thread.joinable()) {
    run->migrate_thread.join();
  }
  if (run->monitor_thread.joinable()) {
    run->monitor_thread.join();
  }
}

size_t MigrationRunner::active() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [key, run] : runs_) {
    std::lock_guard run_lock(run->mu);
    n += run->done ? 0 : 1;
  }
  return n;
}

// ---- post-copy (postcopy.h) ---------------------------------------------------------------------

void MigrationRunner::maybeSwitchToPostCopy(Run& run, std::unique_lock<std::mutex>& lock,
                                            core::Clock::TimePoint now) {
  if (!run.job.request.postcopy || run.postcopy.active || run.cancel || run.abort_sent) {
    return;
  }
  const std::optional<std::string> why = run.trigger.observe(run.progress, now);
  if (!why) {
    return;
  }
  lock.unlock();
  spdlog::info("node-daemon: migration {}: switching to post-copy {}", run.job.key, *why);
  const core::Status s = conn_.startPostCopy(run.job.domain);
  lock.lock();
  if (!s.isOk()) {
    spdlog::warn(
        "node-daemon: migration {}: switching to post-copy failed (asking again at the "
        "next sample): {}",
        run.job.key, s.toString());
    return;
  }
  run.postcopy.active = true;
  run.postcopy.message = "switched to post-copy " + *why +
                         "; the guest runs on the target, which fetches the remaining pages";
}

core::Status MigrationRunner::migrateWithRecovery(Run& run) {
  virt::MigrateRequest request = run.job.request;
  core::Status migrated = conn_.migrate(run.job.domain, request);
  for (int attempt = 0; !migrated.isOk(); ++attempt) {
    PostCopyFailure failure;
    {
      std::lock_guard lock(run.mu);
      failure.switched = run.postcopy.active;
    }
    if (!failure.switched) {
      std::optional<core::Status> confirmed = confirmFailure(run, migrated);
      if (confirmed) {
        return *confirmed;
      }
      // The source is in post-copy although no switch was seen to succeed (e.g. the call that
      // asked for it failed after QEMU switched): recover it as post-copy, never restart it.
      std::lock_guard lock(run.mu);
      run.postcopy.active = true;
      run.confirming = false;  // the monitor reports the post-copy recovery again
      failure.switched = true;
    }
    if (failure.switched) {
      auto info = conn_.lookupByName(run.job.domain);
      if (info.isOk()) {
        failure.source = std::move(info).value();
      }
    }
    PostCopyRecovery next = decidePostCopyRecovery(failure);
    std::string target_error;
    if (next == PostCopyRecovery::kAskTarget) {
      // As confirmFailure(): only the target can tell; no answer is no verdict.
      // Without connect_target guestOnTarget answers FailedPrecondition: no verdict, never
      // "nothing there" (that would end a post-copy guest PostCopyGuestLost).
      if (auto on = guestOnTarget(options_.connect_target, request.dest_uri, run.job.domain);
          on.isOk()) {
        failure.target = *on;
      } else {
        target_error = on.status().toString();
      }
      next = failure.target ? decidePostCopyRecovery(failure) : PostCopyRecovery::kWait;
    }
    if (next == PostCopyRecovery::kNotPostCopy) {
      return migrated;
    }
    if (next == PostCopyRecovery::kCompleted) {
      if (failure.target) {
        spdlog::warn(
            "node-daemon: migration {}: the call failed ({}) after the post-copy switch and the "
            "source domain is shut off, but the guest runs on the target: the move completed",
            run.job.key, migrated.message());
      }
      return core::Status::ok();
    }
    {
      std::unique_lock lock(run.mu);
      run.postcopy.failed = true;
      run.postcopy.lost = next == PostCopyRecovery::kLost;
      run.postcopy.resume_attempts += next == PostCopyRecovery::kResume ? 1 : 0;
      run.postcopy.message = postCopyFailureMessage(failure, next, migrated.message(), target_error,
                                                    run.postcopy.resume_attempts);
      spdlog::error("node-daemon: migration {}: {}", run.job.key, run.postcopy.message);
    }
    if (next == PostCopyRecovery::kLost) {
      return migrated;  // finish(): Failed/PostCopyGuestLost
    }
    if (options_.on_progress) {
      options_.on_progress(run.job.key);
    }
    {
      std::unique_lock lock(run.mu);
      options_.clock->waitFor(lock, run.cv, resumeBackoff(attempt), [&] { return run.stopping; });
      if (run.stopping) {
        return migrated;  // shutting down: a restarted node-daemon recovers (decideSource)
      }
    }
    if (next == PostCopyRecovery::kResume) {
      request.postcopy_resume = true;
      migrated = conn_.migrate(run.job.domain, request);
      if (migrated.isOk()) {
        std::lock_guard lock(run.mu);
        run.postcopy.failed = false;
        run.postcopy.message = "recovered with post-copy resume after " +
                               std::to_string(run.postcopy.resume_attempts) + " attempt(s)";
      }
    }
  }
  return migrated;
}

std::optional<core::Status> MigrationRunner::confirmFailure(Run& run,
                                                            const core::Status& migrated) {
  const std::string& domain = run.job.domain;
  {
    std::lock_guard lock(run.mu);
    run.confirming = true;
  }
  std::optional<core::Clock::TimePoint> undecided_since;
  core::Clock::TimePoint last_report{};
  bool abort_sent = false;
  for (;;) {
    std::string target_answer = "not asked";
    FailedCallObservation o;
    if (auto seen = observeSourceDomain(conn_, domain); seen.isOk()) {
      o.libvirt_answered = true;
      o.source = seen->domain;
      o.job_running = seen->job_running;
    }
    FailedCallVerdict verdict = decideFailedCall(o);
    if (verdict == FailedCallVerdict::kAskTarget) {
      // Without connect_target: no verdict (FailedPrecondition), as for a target that does not
      // answer.
      if (auto on = guestOnTarget(options_.connect_target, run.job.request.dest_uri, domain);
          on.isOk()) {
        o.target = *on;
        target_answer = *on == TargetGuest::kRunning   ? "running there"
                        : *on == TargetGuest::kPresent ? "a domain there, not running"
                                                       : "nothing there";
      } else {
        target_answer = on.status().toString();
      }
      verdict = o.target ? decideFailedCall(o) : FailedCallVerdict::kWait;
    }
    switch (verdict) {
    case FailedCallVerdict::kFailed:
      return migrated;
    case FailedCallVerdict::kMigrated:
      spdlog::warn(
          "node-daemon: migration {}: the call failed ({}) but the move completed: the guest "
          "runs on the target",
          run.job.key, migrated.message());
      return core::okStatus();
    case FailedCallVerdict::kPostCopy:
      return std::nullopt;
    case FailedCallVerdict::kWait:
    case FailedCallVerdict::kAskTarget:
      break;
    }
    // Not known yet. Never a verdict by timeout (a guess could run the guest twice or lose it):
    // say so once, and after confirm_limit abort a job libvirt still runs, then keep looking.
    const auto now = options_.clock->now();
    if (!undecided_since) {
      undecided_since = now;
      spdlog::warn(
          "node-daemon: migration {}: the call failed ({}); waiting until domain {} or the "
          "target shows where the guest is",
          run.job.key, migrated.message(), domain);
    } else if (now - last_report >= std::chrono::seconds(30)) {
      last_report = now;
      spdlog::warn(
          "node-daemon: migration {}: still cannot tell where the guest is: source {}, target: {}",
          run.job.key,
          !o.libvirt_answered ? std::string("unreadable")
          : o.source          ? std::string(virt::domainStateName(o.source->state)) +
                           (o.job_running ? " with a job running" : "")
                     : std::string("not defined"),
          target_answer);
    }
    if (o.job_running && !abort_sent && now - *undecided_since >= options_.confirm_limit) {
      abort_sent = true;
      spdlog::warn("node-daemon: migration {}: aborting the job libvirt still runs on {}",
                   run.job.key, domain);
      if (core::Status s = conn_.abortJob(domain); !s.isOk()) {
        spdlog::warn("node-daemon: migration {}: abort failed: {}", run.job.key, s.toString());
      }
    }
    std::unique_lock lock(run.mu);
    options_.clock->waitFor(lock, run.cv, options_.confirm_interval, [&] { return run.stopping; });
    if (run.stopping) {
      return migrated;  // shutting down: a restarted node-daemon decides from the domain
    }
  }
}

}  // namespace novacron::node::migration
