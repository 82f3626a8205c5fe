// MigrationReconciler: the controller's side of a VMMigration (docs/migration.md). One reconcile
// reads the cache once (observe), calls the pure decide() (decide.h) and carries the decision out:
//   Pending     admission, limits (FIFO), target choice;
//   Scheduling  lock the VM (status.activeMigration + condition Migrating), reserve capacity on
//               the target's ledger (Binder::reserve), label the VMMigration for the source
//               node-daemon, then phase Migrating with startTime and status.targetAddress;
//   Finalizing  (written by the source node-daemon once the guest runs on the target) hand the
//               binding over in ONE VM status write, mirror the label, release the source's ledger
//               entry, then Succeeded;
//   Preparing/Migrating  watch that the source node-daemon is alive (decide.h): a silent source
//               is asked to abort, then the migration fails SourceNotResponding — unless the
//               source started the job and still heartbeats: then it is waited for, visibly
//               (condition WaitingForSource, one Warning Event,
//               novacron_migration_waiting_for_source) until it answers;
//   terminal    release the target reservation (unless Succeeded), unlock the VM, conditions,
//               completionTime, Events and metrics — idempotent, so a migration the node-daemon
//               ended Failed/Cancelled gets the same bookkeeping as one the controller ended.
// The finalizer novacron.io/controller guards all of it (runtime::finalizer): deleting a migration
// before Migrating cancels it; during Migrating the controller sets spec.cancel so the node-daemon
// aborts, and the object goes only after the node-daemon reported and everything was released —
// and, for a failed or cancelled one, after a live target reported that it removed what it
// prepared (target_cleanup.h).
// Every write carries the resourceVersion it was based on; a reconcile of an unchanged migration
// writes nothing.
// Thread-safety: reconcile() may run concurrently for different keys.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "controller/cache/cluster_cache.h"
#include "controller/config/config.h"
#include "controller/health/heartbeat_tracker.h"
#include "controller/migration/decide.h"
#include "controller/migration/migration_metrics.h"
#include "controller/migration/target_cleanup.h"
#include "controller/scheduler/scheduler.h"
#include "controller/vm/binder.h"
#include "lib/core/clock.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/runtime/event_recorder.h"
#include "lib/runtime/reconcile_result.h"

namespace novacron::controller::migration {

using api::kConditionMigrating;
using api::kSourceHypervisorLabel;

struct MigrationReconcilerDeps {
  kube::ClientPtr client;
  std::shared_ptr<const ClusterCache> cache;
  std::shared_ptr<health::HeartbeatTracker> heartbeats;
  std::shared_ptr<MigrationMetrics> metrics;       // may be null
  std::shared_ptr<runtime::EventRecorder> events;  // may be null
  core::ClockPtr clock = core::systemClock();
  config::ControllerConfig config;
};

class MigrationReconciler {
public:
  explicit MigrationReconciler(MigrationReconcilerDeps deps);

  // key: "namespace/name".
  core::StatusOr<runtime::ReconcileResult> reconcile(const std::string& key);

  // A waiting migration is looked at again after this long even without a cluster change (limits
  // from Hypervisor specs can change without any migration event).
  static constexpr std::chrono::seconds kWaitRecheck{30};
  // How soon a migration about to fail on a stale copy of its VM is decided again.
  static constexpr std::chrono::milliseconds kStaleVmRecheck{200};

private:
  DecideInput observe(const api::VMMigration& m);
  // How long the source has been silent about `m` (decide.h, SourceSilence); forgets migrations
  // that are no longer in Preparing/Migrating.
  SourceSilence sourceSilence(const api::VMMigration& m);
  core::StatusOr<runtime::ReconcileResult> act(const api::VMMigration& m, const Decision& d);
  core::Status cleanup(const api::VMMigration& m);
  // The terminal phase decision `d` ends `m` with; nullopt when it does not end it.
  static std::optional<api::MigrationPhase> outcomeOf(const api::VMMigration& m, const Decision& d);
  TargetCleanupFacts targetCleanupFacts(const api::VMMigration& m,
                                        std::optional<api::MigrationPhase> outcome) const;
  // A deleted migration keeps its finalizer until the target cleaned up (target_cleanup.h):
  // Unavailable while it waits; reports an orphan when the target is fenced or gone.
  core::Status awaitTargetCleanup(const api::VMMigration& m,
                                  std::optional<api::MigrationPhase> outcome);

  core::StatusOr<runtime::ReconcileResult> wait(const api::VMMigration& m, const Decision& d);
  // Whether the cache's copy of the migration's VM is older than the API server's (a live read):
  // a pending migration is not failed on the VM's state as a stale copy shows it.
  core::StatusOr<bool> vmCacheBehind(const api::VMMigration& m) const;
  core::StatusOr<runtime::ReconcileResult> start(const api::VMMigration& m, const Decision& d);
  core::Status finalize(const api::VMMigration& m);
  // `written_vm`: the VM as this reconcile just wrote it (fresher than the cache), if it did.
  core::Status finish(const api::VMMigration& m, api::MigrationPhase phase,
                      const std::string& reason, const std::string& message,
                      const api::VirtualMachine* written_vm = nullptr);
  core::Status requestAbort(const api::VMMigration& m, const Decision& d);
  // Condition WaitingForSource: True with d's reason while d is WaitForSource (a Warning Event and
  // a warn log when the wait starts; the message says since when), False once the source answered.
  // Writes nothing when neither holds.
  core::Status reportSourceWait(const api::VMMigration& m, const Decision& d);
  // Whether this process saw the source report about `m` since it first saw it (SourceReport).
  bool sourceReportChanged(const api::VMMigration& m);
  // Dry runs (docs/migration.md, "Plans"): record the target and the controller's figures, label
  // the migration for the source node-daemon (which measures the dirty rate), enter Planning.
  core::StatusOr<runtime::ReconcileResult> plan(const api::VMMigration& m, const Decision& d);
  // The measurement is in: the forecast, then Planned.
  core::Status forecastPlan(const api::VMMigration& m);
  // The controller's figures of a plan (everything but the measurement and the forecast).
  api::MigrationPlan planFigures(const api::VirtualMachine& vm, const api::Hypervisor& target,
                                 const std::string& source, const api::MigrationOptions& options);
  // The forecast a real migration starts with (status.forecast), from the VM's latest plan.
  api::MigrationForecast startForecast(const api::VMMigration& m, const api::VirtualMachine& vm,
                                       const api::Hypervisor& target, const std::string& source);

  core::StatusOr<api::VirtualMachine> lockVm(const api::VirtualMachine& vm,
                                             const api::VMMigration& m, const std::string& target);
  core::Status releaseEntry(const std::string& hypervisor, const std::string& vm_key,
                            const std::string& uid);
  core::StatusOr<api::VMMigration> writeStatus(const api::VMMigration& before,
                                               const api::VMMigration& after);
  bool heartbeatFresh(const std::string& hypervisor) const;
  void event(const api::VMMigration& m, std::string_view type, std::string_view reason,
             const std::string& message);
  void phaseEvents(const api::VMMigration& m);
  void updateInFlight();

  MigrationReconcilerDeps deps_;
  scheduler::Scheduler scheduler_;
  Binder binder_;

  std::mutex mu_;
  std::map<std::string, api::MigrationPhase> last_phase_;  // guarded by mu_; key -> last seen
  struct SourceReport {
    api::MigrationPhase phase;
    std::optional<api::MigrationProgress> progress;
    core::Clock::TimePoint since;  // when this report was first seen
    // This process saw the source's report change (a new phase or progress), not only the first
    // sight of the migration after this controller started: only such a change ends a wait.
    bool changed = false;
  };
  std::map<std::string, SourceReport> source_reports_;  // guarded by mu_; key -> last seen
};

}  // namespace novacron::controller::migration
