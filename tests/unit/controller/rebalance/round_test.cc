#include "controller/rebalance/round.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace novacron::controller::rebalance {
namespace {

constexpr int64_t kGi = int64_t{1} << 30;
// 2026-12-01T12:00:00Z
const WallTime kNoon =
    std::chrono::sys_days{std::chrono::year{2026} / 12 / 1} + std::chrono::hours(12);

scheduler::HypervisorView host(std::string name, int64_t used_gi) {
  scheduler::HypervisorView v;
  v.name = std::move(name);
  v.ready = true;
  v.capacity = scheduler::Resources{64, 100 * kGi};
  v.allocated = scheduler::Resources{1, used_gi * kGi};
  return v;
}

VmCandidate vm(std::string name, std::string on, int64_t mem_gi) {
  VmCandidate c;
  c.namespace_ = "default";
  c.name = std::move(name);
  c.hypervisor = std::move(on);
  c.resource_version = "7";
  c.request.resources = scheduler::Resources{1, mem_gi * kGi};
  return c;
}

RoundInput skewedFleet() {
  RoundInput in;
  in.hypervisors = {host("a", 80), host("b", 0)};
  in.vms = {vm("v1", "a", 40), vm("v2", "a", 20), vm("v3", "a", 20)};
  in.now = kNoon;
  return in;
}

MigrationRecord rebalanceRecord(std::string name, std::string vm_name, WallTime created,
                                api::MigrationPhase phase, std::string source = "a",
                                std::string target = "b") {
  MigrationRecord r;
  r.namespace_ = "default";
  r.name = std::move(name);
  r.vm_name = std::move(vm_name);
  r.rebalance = true;
  r.created = created;
  r.phase = phase;
  r.source = std::move(source);
  r.target = std::move(target);
  return r;
}

RebalanceConfig config() {
  RebalanceConfig c;
  c.enabled = true;
  c.budget_per_hour = 3;
  c.budget_per_node_per_hour = 2;
  return c;
}

PlannerOptions plannerOptions() {
  PlannerOptions o;
  o.max_imbalance_percent = 20;
  return o;
}

TEST(RoundTest, PlansTheMovesWithDeterministicNames) {
  auto d = decideRound(skewedFleet(), config(), plannerOptions());
  ASSERT_EQ(d.state, RoundState::kPlanned) << d.message;
  ASSERT_EQ(d.create.size(), 1u);
  EXPECT_EQ(d.create[0].vm_name, "v1");
  EXPECT_EQ(d.create[0].target, "b");
  EXPECT_EQ(d.create[0].source, "a");
  EXPECT_EQ(d.create[0].name.rfind("v1-rebalance-", 0), 0u) << d.create[0].name;
  EXPECT_EQ(decideRound(skewedFleet(), config(), plannerOptions()).create[0].name,
            d.create[0].name);
  EXPECT_EQ(d.budget_remaining, 3);
}

TEST(RoundTest, NameChangesWithTheVmsState) {
  auto v = vm("v1", "a", 1);
  auto name = migrationName(v, "b");
  v.resource_version = "8";
  EXPECT_NE(migrationName(v, "b"), name);
  v.name = std::string(100, 'x');
  EXPECT_LE(migrationName(v, "b").size(), 63u);
}

TEST(RoundTest, BudgetCountsRebalanceMigrationsOfTheLastHourOnly) {
  auto in = skewedFleet();
  using api::MigrationPhase;
  in.migrations = {
      rebalanceRecord("old", "x", kNoon - std::chrono::minutes(61), MigrationPhase::kSucceeded),
      rebalanceRecord("r1", "y", kNoon - std::chrono::minutes(30), MigrationPhase::kSucceeded, "c",
                      "d"),
      rebalanceRecord("r2", "z", kNoon - std::chrono::minutes(5), MigrationPhase::kSucceeded, "c",
                      "e"),
  };
  MigrationRecord user = in.migrations[1];
  user.name = "user";
  user.rebalance = false;  // user-initiated: not counted
  in.migrations.push_back(user);
  auto budget = budgetAt(in.migrations, kNoon, config());
  EXPECT_EQ(budget.remaining, 1);
  EXPECT_EQ(budget.used_per_node["c"], 2);
  EXPECT_EQ(budget.remainingOn("c"), 0);
  EXPECT_EQ(budget.remainingOn("a"), 2);
  auto d = decideRound(in, config(), plannerOptions());
  EXPECT_EQ(d.budget_used, 2);
  EXPECT_EQ(d.create.size(), 1u);
}

TEST(RoundTest, BudgetSpentPlansNothing) {
  auto in = skewedFleet();
  for (int i = 0; i < 3; ++i) {
    in.migrations.push_back(rebalanceRecord("r" + std::to_string(i), "x" + std::to_string(i),
                                            kNoon - std::chrono::minutes(10 + i),
                                            api::MigrationPhase::kSucceeded, "c", "d"));
  }
  auto d = decideRound(in, config(), plannerOptions());
  EXPECT_EQ(d.state, RoundState::kPlanned);
  EXPECT_TRUE(d.create.empty());
  EXPECT_EQ(d.plan.outcome, PlanOutcome::kBudgetExhausted);
  EXPECT_EQ(d.budget_remaining, 0);
}

TEST(RoundTest, AFailedRebalanceMigrationPausesUntilAcknowledged) {
  auto in = skewedFleet();
  auto failed =
      rebalanceRecord("r1", "v9", kNoon - std::chrono::hours(3), api::MigrationPhase::kFailed);
  failed.failure_reason = "target unreachable";
  in.migrations = {failed};
  auto d = decideRound(in, config(), plannerOptions());
  EXPECT_EQ(d.state, RoundState::kPaused);
  EXPECT_TRUE(d.create.empty());
  ASSERT_TRUE(d.failed.has_value());
  EXPECT_EQ(d.failed->name, "r1");
  EXPECT_NE(d.message.find("target unreachable"), std::string::npos) << d.message;
  EXPECT_GT(d.plan.spread_before, 20);  // still measured
  in.migrations[0].acknowledged = true;
  EXPECT_EQ(decideRound(in, config(), plannerOptions()).state, RoundState::kPlanned);
}

TEST(RoundTest, WaitsWhileRebalanceMigrationsAreInFlight) {
  auto in = skewedFleet();
  in.migrations = {rebalanceRecord("r1", "v2", kNoon - std::chrono::minutes(1),
                                   api::MigrationPhase::kMigrating)};
  auto d = decideRound(in, config(), plannerOptions());
  EXPECT_EQ(d.state, RoundState::kWaiting);
  EXPECT_TRUE(d.create.empty());
}

TEST(RoundTest, AnyRecentMigrationStartsTheCooldown) {
  auto in = skewedFleet();
  MigrationRecord user;
  user.namespace_ = "default";
  user.name = "by-hand";
  user.vm_name = "v1";
  user.created = kNoon - std::chrono::hours(2);
  user.completed = kNoon - std::chrono::minutes(20);
  user.phase = api::MigrationPhase::kSucceeded;
  in.migrations = {user};
  auto d = decideRound(in, config(), plannerOptions());
  EXPECT_EQ(d.plan.cooling_vms, 1u);
  for (const auto& m : d.create) {
    EXPECT_NE(m.vm_name, "v1");
  }
}

TEST(RoundTest, QuietHoursCreateNothing) {
  auto c = config();
  c.quiet_hours = {QuietHours{11 * 60, 13 * 60}};
  auto d = decideRound(skewedFleet(), c, plannerOptions());
  EXPECT_EQ(d.state, RoundState::kQuietHours);
  EXPECT_TRUE(d.create.empty());
  EXPECT_FALSE(d.plan.moves.empty());  // what it would do is still known
}

TEST(RoundTest, QuietHoursWrapMidnight) {
  const std::vector<QuietHours> night = {QuietHours{22 * 60, 6 * 60}};
  const auto day = std::chrono::sys_days{std::chrono::year{2026} / 12 / 1};
  EXPECT_TRUE(inQuietHours(night, day + std::chrono::hours(23)));
  EXPECT_TRUE(inQuietHours(night, day + std::chrono::hours(5) + std::chrono::minutes(59)));
  EXPECT_FALSE(inQuietHours(night, day + std::chrono::hours(6)));
  EXPECT_FALSE(inQuietHours(night, day + std::chrono::hours(12)));
  EXPECT_FALSE(inQuietHours({}, day));
}

TEST(RoundTest, RecordOfReadsLabelsAnnotationsAndStatus) {
  api::VMMigration m;
  m.metadata.namespace_ = "ns";
  m.metadata.name = "v-rebalance-1";
  m.metadata.labels[std::string(kInitiatorLabel)] = "rebalance";
  m.metadata.annotations[std::string(kSourceAnnotation)] = "a";
  m.metadata.creationTimestamp = api::Timestamp{std::chrono::seconds(100)};
  m.spec.vmName = "v";
  m.spec.targetHypervisor = "b";
  auto r = recordOf(m);
  EXPECT_TRUE(r.rebalance);
  EXPECT_EQ(r.source, "a");
  EXPECT_EQ(r.target, "b");
  EXPECT_EQ(r.phase, api::MigrationPhase::kPending);
  m.metadata.labels[std::string(kInitiatorLabel)] = "evacuation";
  m.status.sourceHypervisor = "c";
  m.status.phase = api::MigrationPhase::kFailed;
  m.metadata.annotations[std::string(kAcknowledgedAnnotation)] = "true";
  r = recordOf(m);
  EXPECT_FALSE(r.rebalance);
  EXPECT_TRUE(r.acknowledged);
  EXPECT_EQ(r.source, "c");
  EXPECT_EQ(r.phase, api::MigrationPhase::kFailed);
}

}  // namespace
}  // namespace novacron::controller::rebalance
