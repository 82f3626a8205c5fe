// FleetSimulation: rebalancing on a simulated fleet of hundreds of hypervisors, in process. Every
// round runs the controller's real round decision (controller/rebalance/round.h: the planner, the
// budget counted from the "API's" VMMigration records, cooldowns, quiet hours, pause) on the
// fleet's current state; the migrations it decides complete at once (the VM's allocation moves
// from source to target, its resourceVersion changes, a Succeeded record stays behind), then the
// simulated clock advances by rebalance.interval. Running hundreds of node-daemons on the test
// driver does not fit the 2 shared cores here; the loop's own I/O (observe from the cache, create
// objects) is covered by controller_rebalancer_test.
//
// The simulation checks what rebalancing promises, independently of the planner: no hypervisor
// over its schedulable limit, anti-affinity and hypervisor selectors kept, cordoned hypervisors
// and excluded VMs untouched, no VM moved twice within the cooldown, nothing created inside quiet
// hours, and never more rebalance migrations in any sliding hour than the budget (in total and per
// hypervisor). Violations are listed in the result.
// Thread-safety: plain functions; each call owns its fleet.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "controller/rebalance/rebalance_config.h"
#include "controller/scheduler/resources.h"

namespace novacron::testing {

struct SimulationOptions {
  int hypervisors = 300;
  double hot_fraction = 0.2;  // hypervisors filled to 80..95 %, the others to 10..40 %
  int zones = 4;              // label topology.kubernetes.io/zone
  int cordoned = 2;           // spec.unschedulable: never a source or target
  uint32_t seed = 1;
  int max_rounds = 600;                           // 50 simulated hours at a 5-minute interval
  controller::rebalance::RebalanceConfig config;  // enabled, Execute
  controller::scheduler::OvercommitRatios overcommit;
};

struct SimulationResult {
  int hypervisors = 0;
  int vms = 0;
  double initial_spread = 0;
  double final_spread = 0;
  bool converged = false;  // the final spread is within maxImbalancePercent
  int migrations = 0;
  // For MemoryMaxMin: no plan can do with fewer migrations. The size-weighted mean utilisation U
  // never changes, the final minimum is at most U and the final maximum at least U, so every
  // hypervisor must end at most U + allowed (each migration takes one VM off one hypervisor:
  // count the fewest VMs, largest first, that bring each one there) and at least U - allowed
  // (each migration brings one VM onto one: count the fewest of the largest VM size); the bound
  // is the larger sum. 0 for other metrics.
  int lower_bound = 0;
  int rounds = 0;  // until converged (or max_rounds)
  int rounds_with_moves = 0;
  int max_in_any_hour = 0;           // rebalance migrations created in any sliding hour
  int max_per_node_in_any_hour = 0;  // ...with one hypervisor as source or target
  int quiet_rounds = 0;              // rounds inside quiet hours
  std::chrono::minutes simulated{0};
  double decide_ms_total = 0;  // wall time in decideRound()
  double decide_ms_max = 0;
  std::string last_message;  // the last round's message
  std::vector<std::string> violations;
};

SimulationResult runRebalanceSimulation(const SimulationOptions& options);

}  // namespace novacron::testing
