// MigrationRunner: runs live-migration jobs off the reconcile workers (a slow migration must not
// stall the node's other VMs), one per VMMigration key, and reports their progress and outcome.
//
// Each job has two threads: one blocked in virt::Connection::migrate() (libvirt peer-to-peer), and
// a monitor that samples jobStats() every `sample_interval` on the clock, feeds the
// ProgressTracker, calls `on_progress`, and aborts the libvirt job when the tracker says
// NoProgress / CompletionTimeout or cancel() was called. When migrate() returns the outcome is
// stored (take it with outcome()) and `on_done` runs; after an abort the guest keeps running on
// the source (libvirt's guarantee for pre-copy). A job whose options allow post-copy is switched to
// it when PostCopyTrigger says so; from then on it is neither aborted nor cancelled, and a failure
// is recovered with post-copy resume (postcopy.h).
// Thread-safety: every method is safe from any thread; callbacks run on the job's threads and must
// only hand work off (e.g. enqueue a key).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "lib/api/vm_migration.h"
#include "lib/core/clock.h"
#include "node-daemon/migration/failed_call.h"
#include "node-daemon/migration/postcopy.h"
#include "node-daemon/migration/progress.h"
#include "node-daemon/migration/source_domain.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node::migration {

struct Job {
  std::string key;     // the VMMigration's "namespace/name"
  std::string domain;  // the domain to move
  virt::MigrateRequest request;
  ProgressLimits limits;
  PostCopyPolicy postcopy;  // when to switch to post-copy (request.postcopy must allow it)
};

struct Outcome {
  api::MigrationPhase phase = api::MigrationPhase::kFailed;  // Finalizing, Failed or Cancelled
  std::string reason;   // CamelCase: Succeeded, NoProgress, CompletionTimeout, Cancelled, ...
  std::string message;  // for failureReason and Events
  api::MigrationProgress progress;
  PostCopyStatus postcopy;
};

struct RunnerOptions {
  core::ClockPtr clock;  // default core::systemClock()
  std::chrono::milliseconds sample_interval{500};
  std::function<void(const std::string& key)> on_progress;  // new progress() available
  std::function<void(const std::string& key)> on_done;      // outcome() available
  // A failed call whose outcome neither the source domain nor the target shows yet (failed_call.h)
  // is observed again after `confirm_interval`, as long as it takes: never decided by a timeout.
  // After `confirm_limit`, a job libvirt still runs on the domain is aborted (then observed on).
  std::chrono::milliseconds confirm_interval{1000};
  std::chrono::milliseconds confirm_limit{60000};
  // How the runner asks the target where the guest is when the source domain cannot tell
  // (source_domain.h); unset: the target cannot be asked, so there is no verdict (the runner
  // looks again, as for a target that does not answer) — never "nothing there".
  ConnectTarget connect_target;
};

class MigrationRunner {
public:
  MigrationRunner(virt::Connection& conn, RunnerOptions options);
  ~MigrationRunner();  // aborts and joins every running job
  MigrationRunner(const MigrationRunner&) = delete;
  MigrationRunner& operator=(const MigrationRunner&) = delete;

  // Starts the job unless one with that key runs or has an untaken outcome. Returns whether it
  // started.
  bool start(Job job);
  // Asks a running job to abort (reported as Cancelled). No-op for unknown keys.
  void cancel(const std::string& key);
  bool running(const std::string& key) const;
  std::optional<api::MigrationProgress> progress(const std::string& key) const;
  std::optional<PostCopyStatus> postCopy(const std::string& key) const;
  // The outcome of a finished job; it stays until forget(key).
  std::optional<Outcome> outcome(const std::string& key) const;
  void forget(const std::string& key);
  size_t active() const;

private:
  struct Run;
  void monitor(Run& run);
  void finish(Run& run, const core::Status& migrated);
  // migrate(), and after a failure once post-copy began: never a second copy, only
  // VIR_MIGRATE_POSTCOPY_RESUME until the guest runs on the target.
  core::Status migrateWithRecovery(Run& run);
  // After a failed migrate() before any post-copy switch was seen: the failure once the source
  // domain (or, when it cannot tell, the target) shows the guest stayed, OK when the move
  // completed, nullopt when the source is in post-copy (failed_call.h). Observes again every
  // `confirm_interval` until it knows or the runner stops.
  std::optional<core::Status> confirmFailure(Run& run, const core::Status& migrated);
  // In the monitor, run.mu held by `lock`: switches to post-copy when the trigger says so.
  void maybeSwitchToPostCopy(Run& run, std::unique_lock<std::mutex>& lock,
                             core::Clock::TimePoint now);

  virt::Connection& conn_;
  RunnerOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Run>> runs_;  // guarded by mu_
};

}  // namespace novacron::node::migration
