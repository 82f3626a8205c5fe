// Round: what one pass of the rebalancing loop decides, as a pure function of what it observed
// (hypervisors, bound VMs, every VMMigration) and the time. The loop (rebalancer.h) observes the
// informer caches, calls decideRound(), and acts on the decision.
//
// etcd is the only store: the budget is counted from the VMMigrations labelled
// novacron.io/initiator=rebalance created within the last hour (creationTimestamp, set by the API
// server), and a VM's last move is its latest VMMigration of any initiator, so a controller
// restart resets neither the budget nor a cooldown. The created VMMigrations' names are a
// function of the VM, its resourceVersion, source and target: a second controller (or this one
// after a restart) that makes the same decision from the same state gets AlreadyExists.
//
// Order of checks: a Failed rebalance migration that nobody acknowledged pauses rebalancing (the
// operator looks, then annotates it novacron.io/rebalance-acknowledged=true or deletes it);
// rebalance migrations still in flight make the round wait (the allocation is in flux); quiet
// hours create nothing; otherwise the planner's moves are the migrations to create. The plan is
// computed in every state so the imbalance is always reported.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/rebalance/planner.h"
#include "controller/rebalance/rebalance_config.h"
#include "lib/api/vm_migration.h"

namespace novacron::controller::rebalance {

// Which part of the controller asked for a VMMigration; evacuation uses the same label.
inline constexpr std::string_view kInitiatorLabel = "novacron.io/initiator";
inline constexpr std::string_view kRebalanceInitiator = "rebalance";
// On a rebalance VMMigration: the hypervisor it moves the VM from (status.sourceHypervisor is set
// only once the migration is admitted; the per-node budget needs it from creation on).
inline constexpr std::string_view kSourceAnnotation = "novacron.io/rebalance-source";
// On a rebalance VMMigration: the planner's explanation.
inline constexpr std::string_view kReasonAnnotation = "novacron.io/rebalance-reason";
// "true" on a Failed rebalance VMMigration: the operator has seen it; rebalancing resumes.
inline constexpr std::string_view kAcknowledgedAnnotation = "novacron.io/rebalance-acknowledged";

// What a round needs of one VMMigration.
struct MigrationRecord {
  std::string namespace_;
  std::string name;
  std::string vm_name;
  bool rebalance = false;     // labelled initiator=rebalance
  bool acknowledged = false;  // kAcknowledgedAnnotation = "true"
  api::MigrationPhase phase = api::MigrationPhase::kPending;
  std::optional<WallTime> created;
  std::optional<WallTime> completed;
  std::string source;  // status.sourceHypervisor, else kSourceAnnotation
  std::string target;  // status.targetHypervisor, else spec.targetHypervisor
  std::string failure_reason;
};

MigrationRecord recordOf(const api::VMMigration& migration);

struct RoundInput {
  std::vector<scheduler::HypervisorView> hypervisors;
  std::vector<VmCandidate> vms;  // movable and last_moved are completed from `migrations`
  std::vector<MigrationRecord> migrations;
  WallTime now;
  CanMigrate can_migrate;  // planner.h
};

enum class RoundState {
  kPlanned,     // the plan's moves are to be made (or proposed)
  kWaiting,     // rebalance migrations in flight: nothing new this round
  kQuietHours,  // inside a quiet-hours window: nothing new
  kPaused,      // a rebalance migration Failed: nothing new until acknowledged
};

std::string_view roundStateName(RoundState state);

struct NewMigration {
  std::string namespace_;
  std::string name;  // deterministic, see migrationName()
  std::string vm_name;
  std::string source;
  std::string target;
  std::string reason;
};

struct RoundDecision {
  RoundState state = RoundState::kPlanned;
  std::string message;  // one line for the log and Events
  Plan plan;
  int budget_used = 0;  // rebalance migrations created within the last hour
  int budget_remaining = 0;
  std::optional<MigrationRecord> failed;  // the migration that paused rebalancing
  std::vector<NewMigration> create;       // empty unless kPlanned
};

RoundDecision decideRound(RoundInput input, const RebalanceConfig& config,
                          const PlannerOptions& options);

// The budget left at `now`: budget_per_hour minus rebalance migrations created in (now-1h, now],
// and per hypervisor (as source or target) likewise.
Budget budgetAt(const std::vector<MigrationRecord>& migrations, WallTime now,
                const RebalanceConfig& config);

bool inQuietHours(const std::vector<QuietHours>& windows, WallTime now);

// "<vm name, shortened>-rebalance-<8 hex digits of a hash of namespace, vm, resourceVersion,
// source and target>": a valid object name, the same for the same decision.
std::string migrationName(const VmCandidate& vm, std::string_view target);

}  // namespace novacron::controller::rebalance
