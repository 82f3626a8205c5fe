// decideEvacuation(): the controller's whole evacuation policy for one Hypervisor (issue 17), as
// a pure function of what the evacuator (evacuator.h) observed. No I/O, no clock but `now`.
//
// While spec.maintenance is set, every VM bound to the hypervisor leaves by its evictionStrategy:
//   LiveMigrate            Running and live-migratable -> a Live evacuation VMMigration;
//                          not running (Stopped/Failed) -> a Cold one (nothing to interrupt);
//                          Running but not live-migratable, or Paused -> blocked
//                          (NotLiveMigratable); other phases -> pending until it settles.
//   LiveMigrateIfPossible  Live when it can be, else (not live-migratable, not running, or a live
//                          attempt failed) Cold: stop, move, start again per runStrategy.
//   Shutdown               Cold: stopped, moved, started on the target per runStrategy.
//   None                   stopped (runStrategy Halted, its previous value kept in the annotation
//                          novacron.io/evacuation-stopped) and left here.
// Evacuation VMMigrations have deterministic names (evacuationName(): attempt 1, 2, ...) and the
// labels novacron.io/initiator=evacuation and novacron.io/evacuating-hypervisor=<hv>, so running
// this twice never creates a duplicate. A failed attempt makes the VM blocked (its reason) and is
// retried after a back-off (30 s doubling to 10 min); a cancelled one (spec.cancel by a user) is
// never retried: the VM stays where it runs. A VM another (user's) migration is moving waits.
//
// When maintenance is cleared: evacuation migrations that have not started moving data (Pending,
// Scheduling) are deleted (their finalizer cancels them; the VM keeps running here); those already
// moving data finish (the VM runs on the target); terminal ones are deleted once nothing runs;
// VMs the evacuation stopped get their runStrategy back (and start again here).
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "lib/api/hypervisor.h"
#include "lib/api/names.h"
#include "lib/api/object_meta.h"

namespace novacron::controller::evacuation {

struct VmFacts {
  std::string ns;
  std::string name;
  std::string uid;
  api::EvictionStrategy strategy = api::EvictionStrategy::kLiveMigrate;
  api::RunStrategy run_strategy = api::RunStrategy::kAlways;
  std::optional<api::VirtualMachinePhase> phase;
  // Condition Migratable is not False (the node-daemon sets it False for host-passthrough CPUs and
  // guests that do not run); with phase Running: can be live-migrated.
  bool migratable = true;
  std::string not_migratable_why;                    // its message when False
  std::optional<std::string> stopped_by_evacuation;  // annotation: the runStrategy it had
  bool deleting = false;
  std::string active_migration;  // status.activeMigration
  std::string key() const { return ns + "/" + name; }
  bool operator==(const VmFacts&) const = default;
};

struct MigrationFacts {
  std::string ns;
  std::string name;
  std::string vm_name;
  std::string evacuating;  // label novacron.io/evacuating-hypervisor; empty: not an evacuation's
  int attempt = 0;         // evacuation attempt parsed from the name; 0 for others
  api::MigrationMode mode = api::MigrationMode::kLive;
  api::MigrationPhase phase = api::MigrationPhase::kPending;
  bool cancel = false;
  bool deleting = false;
  std::string failure_reason;  // condition Succeeded's reason when Failed
  std::string failure_message;
  std::optional<api::Timestamp> completed;  // status.completionTime
  std::string vmKey() const { return ns + "/" + vm_name; }
};

struct EvacuationInput {
  std::string hypervisor;
  bool maintenance = false;
  // Bound to the hypervisor; outside maintenance only those an evacuation stopped (all clearing
  // looks at).
  std::vector<VmFacts> vms;
  // Its evacuation migrations and those of its VMs; outside maintenance only the former.
  std::vector<MigrationFacts> migrations;
  // The hypervisor carries Evacuating/Evacuated already (after maintenance they are set False;
  // a hypervisor never in maintenance gets none).
  bool had_conditions = false;
  api::Timestamp now{};
};

struct CreateMigration {
  std::string ns;
  std::string name;  // evacuationName(hypervisor, vm, attempt)
  std::string vm_name;
  std::string vm_uid;
  api::MigrationMode mode = api::MigrationMode::kLive;
  std::string why;  // for the Event and the log
  bool operator==(const CreateMigration&) const = default;
};

struct VmChange {
  std::string ns;
  std::string name;
  std::string why;
  // kHalt: set runStrategy Halted, keep the old one in the annotation. kRestore: put the annotated
  // runStrategy back and drop the annotation.
  enum class Kind { kHalt, kRestore } kind = Kind::kHalt;
  std::optional<api::RunStrategy> restore_to;  // kRestore
  bool operator==(const VmChange&) const = default;
};

struct DeleteMigration {
  std::string ns;
  std::string name;
  std::string why;
  bool operator==(const DeleteMigration&) const = default;
};

struct ConditionValue {
  api::ConditionStatus status = api::ConditionStatus::kFalse;
  std::string reason;
  std::string message;
  bool operator==(const ConditionValue&) const = default;
};

struct EvacuationPlan {
  std::vector<CreateMigration> create;
  std::vector<VmChange> vm_changes;
  std::vector<DeleteMigration> remove;
  // status.evacuation as it should be; nullopt: removed (no maintenance).
  std::optional<api::EvacuationStatus> status;
  // Conditions Evacuating and Evacuated; nullopt: leave them as they are (never set).
  std::optional<ConditionValue> evacuating;
  std::optional<ConditionValue> evacuated;
  // Look again after this long even without a change (a retry back-off); 0: only on a change.
  std::chrono::seconds recheck{0};
};

// The name of attempt `attempt` (1, 2, ...) to evacuate VM `vm` from `hypervisor`: a DNS-1123
// subdomain, "evac-<hypervisor>-<vm>-<attempt>" (shortened with a hash when too long).
std::string evacuationName(const std::string& hypervisor, const std::string& vm, int attempt);
// The attempt of an evacuation migration's name (its last "-N"); 0 when there is none.
int attemptOf(const std::string& name);
// The back-off before attempt `next` (2, 3, ...) follows a failed one: 30 s doubling, at most
// 10 min.
std::chrono::seconds retryDelay(int next);

EvacuationPlan decideEvacuation(const EvacuationInput& input);

// A VM the evacuation stopped (evictionStrategy None: runStrategy Halted, the old value in the
// annotation novacron.io/evacuation-stopped) that is bound to no hypervisor any more — its host
// was fenced and failover unbound it — is held by no evacuation: no hypervisor's evacuation sees
// it, so clearing maintenance would never give its runStrategy back (issue 18, fault-suite seeds
// 9013 and 9020). It gets it back at once: it holds nothing on the host in maintenance any more,
// and is placed elsewhere like any VM that failed over. The runStrategy to restore (the
// annotation removed in the same write), or nullopt: bound, being deleted, or not stopped by an
// evacuation.
std::optional<api::RunStrategy> runStrategyToRestoreWhenUnbound(
    const std::optional<std::string>& stopped_by_evacuation, bool bound, bool deleting);

}  // namespace novacron::controller::evacuation
