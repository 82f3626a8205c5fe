// Rebalancing on a simulated fleet of 150 hypervisors (tests/testing/rebalance_simulation.h): the
// real round decision, round after round, from a skewed fleet to within the allowed imbalance,
// with every promise checked independently of the planner. Seconds, not minutes; the larger run
// with figures is tests/bench/controller/rebalance_bench.
#include <gtest/gtest.h>

#include "tests/testing/rebalance_simulation.h"

namespace novacron::testing {
namespace {

SimulationOptions options() {
  SimulationOptions o;
  o.hypervisors = 150;
  o.config.enabled = true;
  o.config.mode = controller::rebalance::Mode::kExecute;
  o.config.max_imbalance_percent = 25;
  o.config.budget_per_hour = 24;
  o.config.budget_per_node_per_hour = 2;
  o.config.cooldown = std::chrono::hours(2);
  o.config.interval = std::chrono::minutes(5);
  o.config.quiet_hours = {controller::rebalance::QuietHours{60, 120}};  // 01:00-02:00 UTC
  o.config.exclude_namespaces = {"critical"};
  return o;
}

std::string describe(const SimulationResult& r) {
  std::string text = "spread " + std::to_string(r.initial_spread) + " -> " +
                     std::to_string(r.final_spread) + " in " + std::to_string(r.migrations) +
                     " migrations (lower bound " + std::to_string(r.lower_bound) + "), " +
                     std::to_string(r.rounds) + " rounds; last: " + r.last_message;
  for (const auto& v : r.violations) {
    text += "\n  violation: " + v;
  }
  return text;
}

TEST(RebalanceSimulationTest, ASkewedFleetConvergesWithinBudget) {
  const auto o = options();
  const auto r = runRebalanceSimulation(o);
  EXPECT_EQ(r.hypervisors, 150);
  EXPECT_GT(r.vms, 1000);
  EXPECT_GT(r.initial_spread, 50) << describe(r);  // the fleet starts skewed
  EXPECT_TRUE(r.converged) << describe(r);
  EXPECT_LE(r.final_spread, o.config.max_imbalance_percent) << describe(r);
  EXPECT_TRUE(r.violations.empty()) << describe(r);
  // Close to the fewest possible: within half again of a lower bound no plan can beat.
  EXPECT_GE(r.migrations, r.lower_bound);
  EXPECT_LE(r.migrations, r.lower_bound * 3 / 2) << describe(r);
  EXPECT_LE(r.max_in_any_hour, o.config.budget_per_hour);
  EXPECT_LE(r.max_per_node_in_any_hour, o.config.budget_per_node_per_hour);
  // It took longer than an hour, so the budget (not the planner) paced it, and quiet hours fell
  // inside the run.
  EXPECT_GT(r.simulated, std::chrono::hours(2)) << describe(r);
  EXPECT_GT(r.quiet_rounds, 0) << describe(r);
}

TEST(RebalanceSimulationTest, ABalancedFleetMovesNothing) {
  auto o = options();
  o.hot_fraction = 0;  // every hypervisor at 10..40 % (less where the first VM did not fit)
  o.config.max_imbalance_percent = 45;
  const auto r = runRebalanceSimulation(o);
  EXPECT_TRUE(r.converged) << describe(r);
  EXPECT_EQ(r.migrations, 0);
  EXPECT_EQ(r.rounds, 1);
}

TEST(RebalanceSimulationTest, StdDevMetricConvergesToo) {
  auto o = options();
  o.config.metric = controller::rebalance::SpreadMetric::kMemoryStdDev;
  o.config.max_imbalance_percent = 8;
  const auto r = runRebalanceSimulation(o);
  EXPECT_TRUE(r.converged) << describe(r);
  EXPECT_TRUE(r.violations.empty()) << describe(r);
  EXPECT_LE(r.max_in_any_hour, o.config.budget_per_hour);
}

}  // namespace
}  // namespace novacron::testing
