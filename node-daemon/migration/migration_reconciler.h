// SourceMigrationReconciler: the source node-daemon's part of a VMMigration (docs/migration.md).
//
// Watches VMMigrations labelled novacron.io/source-hypervisor=<this node> on the same loop as every
// other reconciler (runtime::Controller). For one in phase Migrating it reads top to bottom:
//   observe  the VMMigration, the runner's job for it, the local domain;
//   decide   decideSource() (pure): start the job, report progress, report the outcome, abort
//            (spec.cancel or deletion), or recover after a restart (a shut-off domain with reason
//            Migrated means the move completed; a running guest without a job means the job died
//            with the old process: Failed, the guest stays here);
//   act      MigrationRunner (off the workers), status writes with resourceVersion preconditions.
// Only the phases the protocol gives the source are written: progress while Migrating, then
// Finalizing, Failed or Cancelled.
// Thread-safety: start()/stop() from one thread; reconcile() from the loop's workers.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "lib/api/vm_migration.h"
#include "lib/core/clock.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/runtime/controller.h"
#include "lib/runtime/event_recorder.h"
#include "lib/runtime/informer.h"
#include "node-daemon/migration/cold_runner.h"
#include "node-daemon/migration/dirty_rate_probe.h"
#include "node-daemon/migration/runner.h"
#include "node-daemon/migration/source_domain.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node::migration {

// The label the controller puts on a VMMigration once it is Migrating: the source's watch filter.
using api::kSourceHypervisorLabel;

enum class SourceAction {
  kNone,            // not ours / nothing to do
  kStartJob,        // the guest runs here and no job exists yet
  kCancelJob,       // spec.cancel or deletion while the job runs
  kReportProgress,  // the job runs: copy its progress into status if it changed
  kReportOutcome,   // the job ended: write Finalizing / Failed / Cancelled
  kReportMigrated,  // recovered: the domain already left (shut off, reason Migrated)
  kReportLost,      // recovered: the guest runs here but its job died with an old process
  kReportNoDomain,  // the domain is not here at all
  // recovered: the domain is paused by post-copy (postcopy.h): never report it lost, never
  // restart it; resume a failed post-copy, or wait while libvirt's post-copy job still runs.
  kResumePostCopy,
  kWaitPostCopy,
  kWaitForTarget,    // the target still prepares (condition TargetPrepared, target_decide.h)
  kReportCancelled,  // cancelled before the job started: nothing moved
  kAbortOrphanJob,   // recovered: libvirt still runs a job a previous process started; abort it
                     // and decide again once it is gone (never report while it may still move)
  kAskTarget,        // recovered: the source domain cannot tell where the guest is (gone, shut
                     // off for another reason than Migrated, or paused by the migration: a
                     // libvirtd restarted mid-migration forgets the outcome); decide again with
                     // `target` (source_domain.h)
  kWaitForLibvirt,   // recovered: a domain on the target does not run yet (the source domain is
                     // still paused by the migration: libvirt's finish step); look again shortly
  // recovered: the source domain is shut off (not Migrated) or gone, and the target holds the
  // guest's domain, not running (e.g. paused by post-copy after the source's QEMU died across a
  // node-daemon restart): the guest cannot run here and is never restarted; waited for, visibly
  // (condition WaitingForTargetGuest, one Warning Event, a warn log), until it runs there or an
  // operator decides.
  kWaitGuestOnTarget,
};

struct SourceObservation {
  bool ours = false;    // phase Migrating and sourceHypervisor == this node
  bool cancel = false;  // spec.cancel or deletionTimestamp
  bool job_running = false;
  bool job_finished = false;
  bool started_before = false;  // status.progress is set: a job ran for this migration
  // libvirt runs a job on the domain that no job of this process drives: a previous node-daemon's
  // migration, which libvirtd carries on after its client died (peer-to-peer).
  bool orphan_job = false;
  std::optional<virt::DomainInfo> domain;
  bool target_ready = true;  // targetReady(): the target prepared (or nothing needs preparing)
  std::optional<TargetGuest> target;  // where the guest is on the target (after kAskTarget)
};

SourceAction decideSource(const SourceObservation& o);

struct SourceReconcilerOptions {
  std::string node_name;
  // libvirt URI of a target from its address, e.g. "qemu+tcp://{}/system" ("{}" is replaced).
  std::string libvirt_uri_template = "qemu+tcp://{}/system";
  std::string tls_libvirt_uri_template = "qemu+tls://{}/system";
  // QEMU's migration stream, e.g. "tcp://{}"; empty: libvirt's default.
  std::string migrate_uri_template = "tcp://{}";
  // --migration-tls-dir: the certificates the source libvirtd presents to a qemu+tls target
  // (libvirt's pki layout; passed as the URI's pkipath). Empty: libvirt's /etc/pki defaults.
  std::string tls_pki_dir;
  std::chrono::milliseconds sample_interval{500};
  int workers = 2;
  core::ClockPtr clock;
  metrics::RegistryPtr registry;
  // Guest memory of a VM ("namespace/name"), for the completion timeout; nullopt when unknown.
  std::function<std::optional<int64_t>(const std::string& vm_key)> vm_memory;
  // This node's roots, rewritten to the target's in the domain XML when disks are copied.
  std::string vm_root;
  std::string image_root;
  // Removes the VM's ("namespace/name") local files after its disks were copied to the target and
  // the guest runs there; unset: nothing is removed.
  std::function<core::Status(const std::string& vm_key)> remove_local_files;
  // Cold migrations: the VM's terminationGracePeriodSeconds and its folder on this node.
  std::function<std::optional<int64_t>(const std::string& vm_key)> vm_grace_seconds;
  std::function<std::optional<std::string>(const std::string& vm_key)> vm_dir;
  // How a cold migration reaches the target's libvirtd (connection and disk copy), and how the
  // source asks the target where the guest is (source_domain.h). Unset: cold migrations are not
  // wired, and a question to the target has no answer (retried; never "nothing there").
  std::function<core::StatusOr<virt::ConnectionPtr>(const std::string& uri)> connect_target;
  virt::VolumeUploaderPtr uploader;
  // Plans (spec.dryRun): how the guest's dirty rate is measured.
  DirtyRateProbeOptions dirty_rate;
};

// A dry run this node measures for: spec.dryRun, phase Planning, this node the source, and no
// measurement in status.plan yet.
bool needsDirtyRate(const api::VMMigration& mig, const std::string& node_name);

class SourceMigrationReconciler {
public:
  SourceMigrationReconciler(kube::ClientPtr client, virt::Connection& conn,
                            std::shared_ptr<runtime::EventRecorder> recorder,
                            SourceReconcilerOptions options);
  ~SourceMigrationReconciler();

  [[nodiscard]] core::Status start(std::chrono::milliseconds sync_timeout);
  void stop();
  [[nodiscard]] core::StatusOr<runtime::ReconcileResult> reconcile(const std::string& key);
  bool hasSynced() const { return informer_.hasSynced(); }
  size_t activeJobs() const { return runner_.active(); }

private:
  core::Status startJob(const api::VMMigration& mig, const std::string& domain,
                        bool resume_postcopy = false);
  core::Status startColdJob(const api::VMMigration& mig, const std::string& domain);
  // spec.dryRun: measure the guest's dirty rate and write it into status.plan; nothing moves.
  core::StatusOr<runtime::ReconcileResult> reconcilePlan(const std::string& key,
                                                         const api::VMMigration& mig);
  bool jobRunning(const std::string& key) const;
  std::optional<Outcome> jobOutcome(const std::string& key) const;
  void cancelJob(const std::string& key);
  void forgetJob(const std::string& key);
  core::Status writeStatus(const api::VMMigration& mig, const api::VMMigrationStatus& status);
  core::Status removeCopiedFiles(const api::VMMigration& mig);
  void event(const api::VMMigration& mig, std::string_view type, std::string_view reason,
             const std::string& message);
  core::ClockPtr clock() const { return options_.clock ? options_.clock : core::systemClock(); }

  kube::ClientPtr client_;
  virt::Connection& conn_;
  std::shared_ptr<runtime::EventRecorder> recorder_;
  SourceReconcilerOptions options_;
  runtime::Informer<api::VMMigration> informer_;
  runtime::Controller loop_;
  MigrationRunner runner_;
  ColdMigrationRunner cold_;
  DirtyRateProbe probe_;
};

// VMMigration condition written by the source node-daemon (kWaitGuestOnTarget): True, reason
// TargetGuestNotRunning, while it waits for the guest's domain on the target to run; False (reason:
// the phase it reports next) once it reported where the guest is.
inline constexpr std::string_view kConditionWaitingForTargetGuest = "WaitingForTargetGuest";
// Sets WaitingForTargetGuest in `status`: True with `message` (plus since when) while `waiting`,
// False once status.phase left Migrating after a wait; untouched otherwise. Returns whether a wait
// started now (the caller logs it and emits the Event once).
bool noteTargetGuestWait(api::VMMigrationStatus& status, bool waiting, const std::string& message,
                         int64_t generation, api::Timestamp now);

// Upserts the PostCopy condition (postcopy.h) for what the runner reports, if anything.
void setPostCopyCondition(api::VMMigrationStatus& status,
                          const std::optional<PostCopyStatus>& postcopy, int64_t generation);
// An abort the controller asked for with a reason of its own (api::kAbortReasonAnnotation, e.g.
// "ColdMigrationTimeout: ...") ends Failed with that text as failureReason, not Cancelled; a
// user's cancel stays Cancelled. Returns the reason (the text before ':') when it changed status.
std::optional<std::string> applyAbortReason(const api::VMMigration& mig,
                                            api::VMMigrationStatus& status);
// The target's address as the controller resolved it (status.targetAddress).
std::optional<std::string> targetAddressOf(const api::VMMigration& mig);
// The libvirt migration request for `options` towards `address`.
virt::MigrateRequest migrateRequest(const api::MigrationOptions& options,
                                    const std::string& address,
                                    const SourceReconcilerOptions& templates);

}  // namespace novacron::node::migration
