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
//                          no spec.migration.address         -> Fail TargetAddressUnknown
//   no explicit target: no hypervisor but the source fits    -> Fail NoTarget
//                       those that fit lack an address      -> Fail TargetAddressUnknown
//   a limit is reached (cluster maxParallel, the source's maxOutbound, the target's maxInbound)
//                                                            -> Wait (condition WaitingForLimit)
//   otherwise                                                -> Start (target, address)
// Limits are first come, first served by creationTimestamp (then name): the migrations running
// now (Scheduling..Finalizing) hold their slots, and every older Pending migration that the
// limits admit takes its slots before this one is considered. An older migration blocked on one
// hypervisor does not hold up a younger one between other hypervisors (no head-of-line blocking),
// but it is always first in line for the slot it waits for. An older Pending migration without an
// explicit target counts against the cluster and its source only (its target is not chosen yet).
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lib/api/hypervisor.h"
#include "lib/api/names.h"
#include "lib/api/object_meta.h"

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
};

struct DecideInput {
  MigrationFacts self;
  api::MigrationMode mode = api::MigrationMode::kLive;
  std::optional<std::string> requested_target;         // spec.targetHypervisor
  std::optional<VmFacts> vm;                           // nullopt: no such VM
  std::vector<MigrationFacts> all;                     // every VMMigration (self may be included)
  std::map<std::string, HypervisorFacts> hypervisors;  // every Hypervisor, by name
  int max_parallel = 5;
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
};

struct Decision {
  Action action = Action::kNothing;
  std::string reason;   // CamelCase condition reason
  std::string message;  // for humans
  std::string target;   // kStart: the chosen hypervisor
  std::string address;  // kStart: its migration address

  friend bool operator==(const Decision&, const Decision&) = default;
};

Decision decide(const DecideInput& input);

// FIFO order: older first, then by key.
bool before(const MigrationFacts& a, const MigrationFacts& b);

}  // namespace novacron::controller::migration
