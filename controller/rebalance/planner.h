// Planner: the fewest VM moves that bring a fleet's spread back within the allowed imbalance.
// Pure: no I/O, no clock (the time is an input), the same inputs give the same plan.
//
// Who takes part: hypervisors that are Ready, schedulable and not in maintenance (evacuation owns
// those) and offer a non-zero limit of the metric's resource. Which VMs may move: bound to such a
// hypervisor, movable (Running, no migration in flight; the caller decides), not in an excluded
// namespace, not matching the exclude selector, and not moved within the cooldown.
//
// Greedy, one move at a time: among the VMs of the most utilised hypervisors and the least
// utilised targets, take the move that lowers the spread most (ties: the lower size-weighted sum
// of squared utilisations, spread.h, a target in the source's zone, then names, so the plan never
// depends on input order). A move must lower the spread, or keep it and lower that sum while
// leaving a hypervisor at the maximum (a plateau of several full hypervisors is drained one by
// one). Targets pass the scheduler's own filters (controller/scheduler: selector, anti-affinity,
// CPU and memory after overcommit, disk space) against the allocation as the earlier moves of the
// plan leave it, so a plan never overcommits. Every move spends one from the hourly budget and one
// from the budget of both its hypervisors. It stops when the spread is within the allowed
// imbalance, the budget is spent, or no move helps; the outcome says which. Thread-safety: pure
// functions.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/rebalance/rebalance_config.h"
#include "controller/scheduler/inputs.h"
#include "controller/scheduler/scheduler.h"
#include "lib/kube/selector.h"

namespace novacron::controller::rebalance {

inline constexpr std::string_view kZoneLabel = "topology.kubernetes.io/zone";

using WallTime = std::chrono::system_clock::time_point;

struct VmCandidate {
  std::string namespace_;
  std::string name;
  std::map<std::string, std::string> labels;
  std::string hypervisor;  // bound to
  scheduler::VmRequest request;
  bool movable = true;                 // Running and no migration in flight
  std::optional<WallTime> last_moved;  // its latest migration (any initiator)
  std::string resource_version;        // seeds the deterministic VMMigration name

  std::string key() const { return namespace_ + "/" + name; }
};

// What the budget allows from now on (already net of what the last hour spent).
struct Budget {
  int remaining = 0;                         // in total
  int per_node_limit = 0;                    // per hypervisor (as source or target)
  std::map<std::string, int> used_per_node;  // by hypervisor, within the last hour

  int remainingOn(const std::string& hypervisor) const;
};

// Whether a guest running on `source` may move to `target` beyond the scheduler's filters: what
// the migration controller's admission checks too (a compatible CPU, a migration address), so a
// plan never proposes a migration that would fail at once and pause rebalancing. Unset: always.
using CanMigrate = std::function<bool(const std::string& source, const std::string& target)>;

struct PlanInput {
  std::vector<scheduler::HypervisorView> hypervisors;
  std::vector<VmCandidate> vms;
  Budget budget;
  WallTime now;
  CanMigrate can_migrate;
};

struct PlannerOptions {
  SpreadMetric metric = SpreadMetric::kMemoryMaxMin;
  double max_imbalance_percent = 20;
  std::chrono::milliseconds cooldown{std::chrono::hours(1)};
  std::vector<std::string> exclude_namespaces;
  kube::Selector exclude_selector;        // the repo's one selector parser (lib/kube/selector.h)
  scheduler::SchedulerOptions scheduler;  // default overcommit ratios, as the scheduler uses
};

struct Move {
  std::string namespace_;
  std::string name;  // the VM
  std::string source;
  std::string target;
  double spread_before = 0;  // of the fleet, before and after this move
  double spread_after = 0;
  std::string reason;  // one sentence for Events and logs
};

enum class PlanOutcome {
  kBalanced,         // the spread was within the allowed imbalance: nothing to do
  kConverged,        // the moves bring it within
  kBudgetExhausted,  // the moves help, but the budget ends before the spread is within
  kNoFeasibleMove,   // no (further) move helps: excluded, cooling down, or nowhere it fits
  kTooFewHypervisors,
};

std::string_view planOutcomeName(PlanOutcome outcome);

struct Plan {
  PlanOutcome outcome = PlanOutcome::kBalanced;
  double spread_before = 0;
  double spread_after = 0;
  std::size_t hypervisors = 0;   // taking part
  std::size_t excluded_vms = 0;  // by namespace or selector
  std::size_t cooling_vms = 0;   // moved within the cooldown
  std::vector<Move> moves;
  std::string summary;  // one line: what was decided and why
};

Plan plan(const PlanInput& input, const PlannerOptions& options);

// The utilisation the metric looks at, in percent of the schedulable limit; nullopt when the
// hypervisor offers none of that resource.
std::optional<double> utilisationPercent(const scheduler::HypervisorView& hv,
                                         const scheduler::Scheduler& scheduler,
                                         SpreadMetric metric);

}  // namespace novacron::controller::rebalance
