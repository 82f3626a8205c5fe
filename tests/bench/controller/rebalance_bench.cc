// Rebalancing simulation at fleet scale (issue 17): the controller's real round decision (planner,
// budget from the VMMigration records, cooldown, quiet hours) round after round on a skewed
// simulated fleet whose migrations complete at once (tests/testing/rebalance_simulation.h).
// Prints the fleet, the spread before and after, the migrations it took, the budget used against
// its limits, and the decision time; asserts nothing about time. The last line is
// machine-readable ("RESULT key=value ...").
//   controller_rebalance_bench [hypervisors=500] [budget_per_hour=60] [per_node_per_hour=2]
//                              [max_imbalance=20] [metric=MemoryMaxMin] [seed=1]
#include <algorithm>
#include <cstdio>
#include <string>

#include "tests/testing/rebalance_simulation.h"

namespace rb = novacron::controller::rebalance;

int main(int argc, char** argv) {
  novacron::testing::SimulationOptions o;
  o.hypervisors = argc > 1 ? std::stoi(argv[1]) : 500;
  o.config.enabled = true;
  o.config.mode = rb::Mode::kExecute;
  o.config.budget_per_hour = argc > 2 ? std::stoi(argv[2]) : 60;
  o.config.budget_per_node_per_hour = argc > 3 ? std::stoi(argv[3]) : 2;
  o.config.max_imbalance_percent = argc > 4 ? std::stoi(argv[4]) : 20;
  if (argc > 5) {
    auto metric = rb::spreadMetricFromName(argv[5]);
    if (!metric) {
      std::fprintf(stderr, "metric: MemoryMaxMin | MemoryStdDev | CpuMaxMin | CpuStdDev\n");
      return 2;
    }
    o.config.metric = *metric;
  }
  o.seed = argc > 6 ? static_cast<uint32_t>(std::stoul(argv[6])) : 1;
  o.config.cooldown = std::chrono::hours(2);
  o.config.interval = std::chrono::minutes(5);
  o.config.quiet_hours = {rb::QuietHours{2 * 60, 3 * 60}};
  o.config.exclude_namespaces = {"critical"};
  o.max_rounds = 2000;

  const auto r = novacron::testing::runRebalanceSimulation(o);
  const double hours = static_cast<double>(r.simulated.count()) / 60.0;
  std::printf(
      "rebalance simulation: %d hypervisors (%d cordoned, %.0f%% hot at 80-95%% memory, "
      "the rest 10-40%%), %d VMs, seed %u\n",
      r.hypervisors, o.cordoned, o.hot_fraction * 100, r.vms, o.seed);
  std::printf(
      "config: metric %s, allowed %d points, budget %d/h and %d per hypervisor per hour, "
      "cooldown 2h, interval 5m, quiet hours 02:00-03:00 UTC, namespace critical "
      "excluded\n",
      std::string(rb::spreadMetricName(o.config.metric)).c_str(), o.config.max_imbalance_percent,
      o.config.budget_per_hour, o.config.budget_per_node_per_hour);
  std::printf("imbalance: initial %.1f, final %.1f points (%s)\n", r.initial_spread, r.final_spread,
              r.converged ? "within the allowed imbalance" : "NOT converged");
  std::printf(
      "migrations: %d (lower bound %d) in %d rounds (%d with moves, %d in quiet hours), %.1f "
      "simulated "
      "hours\n",
      r.migrations, r.lower_bound, r.rounds, r.rounds_with_moves, r.quiet_rounds, hours);
  std::printf("budget: max %d/%d in any sliding hour, max %d/%d per hypervisor in any hour\n",
              r.max_in_any_hour, o.config.budget_per_hour, r.max_per_node_in_any_hour,
              o.config.budget_per_node_per_hour);
  std::printf("decision time: %.1f ms per round on average, %.1f ms max\n",
              r.decide_ms_total / std::max(1, r.rounds), r.decide_ms_max);
  std::printf("violations: %zu\n", r.violations.size());
  for (const auto& v : r.violations) {
    std::printf("  %s\n", v.c_str());
  }
  std::printf("last round: %s\n", r.last_message.c_str());
  std::printf(
      "RESULT hypervisors=%d vms=%d initial_imbalance=%.1f final_imbalance=%.1f "
      "migrations=%d lower_bound=%d rounds=%d budget_max_hour=%d budget_limit=%d "
      "budget_max_node_hour=%d budget_node_limit=%d violations=%zu converged=%d\n",
      r.hypervisors, r.vms, r.initial_spread, r.final_spread, r.migrations, r.lower_bound, r.rounds,
      r.max_in_any_hour, o.config.budget_per_hour, r.max_per_node_in_any_hour,
      o.config.budget_per_node_per_hour, r.violations.size(), r.converged ? 1 : 0);
  return r.violations.empty() ? 0 : 1;
}
