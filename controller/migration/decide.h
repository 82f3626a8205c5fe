// decide(): the controller's whole policy for one VMMigration, as a pure function of what the
// reconciler observed (docs/migration.md, "Phases and writers"). No I/O, no clock: the reconciler
// (migration_reconciler.h) gathers the facts, calls decide() and carries out the Decision.
//
// Admission of a Pending migration, in this order (the first failing check decides):
//   cancel requested or the object is being deleted        -> Cancel
//   the VM is missing or being deleted                       -> Fail VMNotFound
//   another migration holds the VM (activeMigration, or an older non-terminal migration of the
//   same VM, or one already past Pending)                    -> Fail AlreadyMigrating
//   the VM is not bound to a hypervisor                      -> Fail VMNotBound
//   Live and the VM is not Running                           -> Fail VMNotRunning
//   spec.targetHypervisor: the source                        -> Fail SameHypervisor
//                          unknown                           -> Fail TargetNotFound
//                          does not fit / not Ready / cordoned -> Fail TargetUnschedulable
//                          CPU not compatible (cpu_compat.h) -> Fail TargetCPUIncompatible
//                          no spec.migration.address         -> Fail TargetAddressUnknown
//   no explicit target: the best one by rankTargets() (same zone, measured bandwidth, score);
//                       no hypervisor but the source fits (and is CPU compatible) -> Fail NoTarget
//                       those that fit lack an address      -> Fail TargetAddressUnknown
//   a limit is reached (cluster maxParallel, the source's maxOutbound, the target's maxInbound)
//                                                            -> Wait (condition WaitingForLimit)
//   otherwise                                                -> Start (target, address)
// Limits are first come, first served by creationTimestamp (then name), users' migrations before
// the controller's own (evacuation: label novacron.io/initiator): the migrations running
// now (Scheduling..Finalizing) hold their slots, and every older Pending migration that the
// limits admit takes its slots before this one is considered. An older migration blocked on one
// hypervisor does not hold up a younger one between other hypervisors (no head-of-line blocking),
// but it is always first in line for the slot it waits for. An older Pending migration without an
// explicit target counts against the cluster and its source only (its target is not chosen yet).
//
// While the source node-daemon has the next move (Preparing, Migrating) the controller watches
// that it is alive: when it stays silent (no status write the controller has seen) for longer than
// the bound of silenceBound(), the controller asks it to abort (spec.cancel, the one abort signal:
// a late pick-up then never starts the job); when it stays silent for another sourceTimeout after
// that, the migration ends Failed/SourceNotResponding and the target's reservation is released.
// The VM stays bound to the source: the binding never moves without the source's Finalizing.
// A Cold migration is bounded as a whole as well (it has no node-side completion timeout, and a
// trickling copy is not silent): once it has run for coldTimeout since status.startTime the
// controller asks the source to abort with reason ColdMigrationTimeout (annotation
// novacron.io/abort-reason: the source reports the abort as Failed with it), and fails it
// ColdMigrationTimeout itself when the source does not answer within another sourceTimeout.
// Every abort-then-fail obeys one rule (abortThenFail in decide.cc): a source that started the
// job (status.progress) and still heartbeats is asked to abort but never failed for not
// answering — only it can tell where the guest is, and failing would unlock the VM on the source
// while the guest may run on the target (it would run twice). It is waited for (recheck every
// sourceTimeout) until it reports or its heartbeat stops — visibly: the decision is then
// WaitForSource (the reconciler sets condition WaitingForSource, emits one Warning Event and counts
// it in novacron_migration_waiting_for_source), not a silent Nothing.
//
// A dry run (spec.dryRun, docs/migration.md "Plans") moves nothing: it is checked like a Pending
// migration but never waits for a limit, never counts against one, and ignores other migrations
// of the VM; its target is chosen the same way (without the inbound-slot condition) -> Plan
// (phase Planning, the source node-daemon measures the dirty rate) -> once the measurement (or
// its error) is in: Forecast (phase Planned, terminal). A source that does not measure within
// sourceTimeout ends it Failed/SourceNotResponding.
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/api/hypervisor.h"
#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "lib/api/vm_migration.h"

namespace novacron::controller::migration {

// Phases that hold a slot against the limits: between admission and a terminal phase.
bool holdsSlot(api::MigrationPhase phase);

// What the limits and the one-migration-per-VM rule need to know about any VMMigration.
struct MigrationFacts {
  std::string key;     // namespace/name
  std::string name;    // metadata.name (what VM status.activeMigration holds)
  std::string vm_key;  // namespace/spec.vmName
  api::Timestamp created{};
  api::MigrationPhase phase = api::MigrationPhase::kPending;  // status.phase, Pending when unset
  std::string source;  // status.sourceHypervisor, or the VM's binding while Pending
  std::string target;  // status.targetHypervisor, else spec.targetHypervisor, else empty
  bool cancel = false;
  bool deleting = false;
  // Created by the controller (label novacron.io/initiator, e.g. an evacuation): waits behind
  // every users' migration for a limit slot (queueBefore()).
  bool low_priority = false;
  bool dry_run = false;  // spec.dryRun: never holds or waits for a slot, never blocks others
};

struct VmFacts {
  bool deleting = false;
  std::string bound_to;  // status.hypervisor; empty when unbound
  std::optional<api::VirtualMachinePhase> phase;
  std::string active_migration;  // status.activeMigration
};

struct HypervisorFacts {
  // Why the VM cannot be placed there (scheduler filter: not Ready, cordoned, maintenance,
  // selector, anti-affinity, capacity); nullopt when it fits.
  std::optional<std::string> unfit;
  int64_t score = 0;                   // the scheduler's score; higher is better
  std::optional<std::string> address;  // spec.migration.address
  int32_t max_inbound = api::kDefaultMaxInboundMigrations;
  int32_t max_outbound = api::kDefaultMaxOutboundMigrations;
  // Why this hypervisor cannot run the VM's guest as it runs on the source (cpu_compat.h);
  // nullopt when it can.
  std::optional<std::string> cpu_incompatible;
  // Network-aware choice (controller/scheduler/target_preference.h): label
  // topology.kubernetes.io/zone, and the bandwidth measured from the source to it.
  std::string zone;
  std::optional<int64_t> bandwidth_from_source;
};

// What the controller saw of the source node-daemon for a migration in Preparing/Migrating.
struct SourceSilence {
  bool picked_up = false;       // status.progress is set: the source started a job
  bool heartbeat_fresh = true;  // the source Hypervisor's heartbeat Lease
  // Since the controller last saw the source write this migration's status (phase or progress),
  // or since it first saw the migration in Migrating (a restarted controller starts counting anew:
  // the safe direction).
  std::chrono::milliseconds silent_for{0};
};

inline constexpr std::chrono::milliseconds kDefaultSourceTimeout{std::chrono::seconds(60)};
inline constexpr std::chrono::milliseconds kDefaultColdTimeout{std::chrono::hours(1)};
inline constexpr std::string_view kReasonColdMigrationTimeout = "ColdMigrationTimeout";
// VMMigration condition (controller): True (reason SourceNotResponding or ColdMigrationTimeout)
// while it waits for a live source that started the job to answer its abort request
// (kWaitForSource: never failed then, a guest must never run twice); False once the source
// answered.
inline constexpr std::string_view kConditionWaitingForSource = "WaitingForSource";

struct DecideInput {
  MigrationFacts self;
  api::MigrationMode mode = api::MigrationMode::kLive;
  std::optional<std::string> requested_target;         // spec.targetHypervisor
  std::optional<VmFacts> vm;                           // nullopt: no such VM
  std::vector<MigrationFacts> all;                     // every VMMigration (self may be included)
  std::map<std::string, HypervisorFacts> hypervisors;  // every Hypervisor, by name
  int max_parallel = 5;
  SourceSilence source;                                              // Preparing / Migrating only
  std::chrono::milliseconds source_timeout = kDefaultSourceTimeout;  // migrations.sourceTimeout
  int64_t progress_timeout_seconds = api::kDefaultProgressTimeoutSeconds;  // spec.options
  std::string source_zone;  // the source Hypervisor's topology.kubernetes.io/zone label
  std::chrono::milliseconds cold_timeout = kDefaultColdTimeout;  // migrations.coldTimeout
  // Since status.startTime (Cold migrations' bound); nullopt before it is set.
  std::optional<std::chrono::milliseconds> running_for;
  // Dry runs in Planning: status.plan has the dirty rate measurement (or its error).
  bool measured = false;
};

enum class Action {
  kNothing,   // the source node-daemon has the next move (Preparing, Migrating)
  kWait,      // stay Pending: a limit is reached (message says which)
  kFail,      // end Failed (reason, message) and release what is held
  kCancel,    // end Cancelled and release what is held
  kStart,     // Scheduling -> reserve on target -> lock the VM -> Migrating
  kAbort,     // deleted while the node-daemon migrates: ask it to abort (spec.cancel)
  kFinalize,  // the guest runs on the target: hand the binding over, then Succeeded
  kComplete,  // terminal: make sure everything is released and reported (idempotent)
  kPlan,      // dry run: record the target (why: message) in status.plan, enter Planning
  kForecast,  // dry run: the measurement is in; write the forecast, end Planned
  // Asked to abort, the source has not answered, but it started the job and still heartbeats:
  // never failed (abortThenFail), waited for; the reconciler makes the wait visible (condition
  // WaitingForSource with `reason` and `message`, one Warning Event, a gauge).
  kWaitForSource,
};

struct Decision {
  Action action = Action::kNothing;
  std::string reason;   // CamelCase condition reason
  std::string message;  // for humans
  std::string target;   // kStart: the chosen hypervisor
  std::string address;  // kStart: its migration address
  // kNothing / kAbort / kWaitForSource: decide again after this long even if nothing changes (0:
  // only on a change).
  std::chrono::milliseconds recheck{0};

  friend bool operator==(const Decision&, const Decision&) = default;
};

Decision decide(const DecideInput& input);

// Whether a kFail decision rests on the VM as the cache showed it (VMNotFound, VMNotBound,
// VMNotRunning): a copy that may be stale, so the reconciler confirms it live before a final
// Failed.
bool failsOnTheVmsState(const Decision& d);

// How long the source may stay silent before the controller asks it to abort:
//   not picked up yet, or its heartbeat is stale           -> source_timeout;
//   picked up and alive (its own NoProgress abort comes first) -> progress timeout +
//   source_timeout.
std::chrono::milliseconds silenceBound(const DecideInput& input);

// FIFO order: older first, then by key.
bool before(const MigrationFacts& a, const MigrationFacts& b);
// The limit queue's order: users' migrations before low-priority (controller-created) ones, FIFO
// within each.
bool queueBefore(const MigrationFacts& a, const MigrationFacts& b);

}  // namespace novacron::controller::migration
