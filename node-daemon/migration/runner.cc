#include "node-daemon/migration/runner.h"

#include <condition_variable>

#include <spdlog/spdlog.h>

namespace novacron::node::migration {

struct MigrationRunner::Run {
  Run(Job j, core::Clock::TimePoint started) : job(std::move(j)), tracker(job.limits, started) {}

  Job job;
  std::mutex mu;
  std::condition_variable_any cv;
  bool done = false;                     // guarded by mu; migrate() returned
  bool cancel = false;                   // guarded by mu; cancel() was called
  bool abort_sent = false;               // guarded by mu
  std::optional<Verdict> abort_verdict;  // guarded by mu; the tracker's reason to abort
  std::string abort_message;             // guarded by mu
  ProgressTracker tracker;               // monitor thread only
  api::MigrationProgress progress;       // guarded by mu
  std::optional<Outcome> outcome;        // guarded by mu
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
  for (auto& [key, run] : runs) {
    {
      std::lock_guard lock(run->mu);
      run->cancel = !run->done;
    }
    run->cv.notify_all();
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
    core::Status migrated = conn_.migrate(r->job.domain, r->job.request);
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
    if (run.cancel && !run.abort_sent) {
      run.abort_sent = true;
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
    bool abort = verdict != Verdict::kContinue && !run.abort_sent;
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

void MigrationRunner::finish(Run& run, core::Status migrated) {
  Outcome o;
  {
    std::lock_guard lock(run.mu);
    o.progress = run.progress;
    if (migrated.isOk()) {
      o.phase = api::MigrationPhase::kFinalizing;
      o.reason = "Succeeded";
      o.message = "the guest runs on the target";
      o.progress.percent = 100;
      o.progress.dataRemainingBytes = 0;
      o.progress.etaSeconds = 0;
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
                                                                   : "MigrationFailed";
      o.message = migrated.message() + "; the guest keeps running on the source";
    }
  }
  if (migrated.isOk()) {
    // The source keeps its (shut off) definition, so the completed job's figures are readable.
    auto completed = conn_.completedJobStats(run.job.domain);
    if (completed.isOk()) {
      o.progress.downtimeMs = static_cast<int64_t>(completed->downtime_ms);
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

}  // namespace novacron::node::migration
