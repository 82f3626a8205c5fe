#include "controller/config/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace novacron::controller::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

TEST(ConfigTest, EmptyGivesDefaults) {
  auto config = parseConfig("");
  ASSERT_TRUE(config.isOk()) << config.status();
  EXPECT_EQ(config->scheduler.policy, scheduler::Policy::kBinPack);
  EXPECT_EQ(config->scheduler.default_overcommit.cpu.milli, 4000);
  EXPECT_EQ(config->scheduler.default_overcommit.memory.milli, 1000);
  EXPECT_EQ(config->health.heartbeat_timeout, seconds(40));
  EXPECT_EQ(config->health.failover, FailoverPolicy::kNone);
  EXPECT_EQ(config->workers.vm, 16);
  EXPECT_EQ(config->workers.hypervisor, 2);
  EXPECT_EQ(config->workers.migration, 2);
  EXPECT_EQ(config->migrations.max_parallel, 5);
  EXPECT_EQ(config->migrations.source_timeout, seconds(60));
  EXPECT_EQ(config->migrations.cold_timeout, std::chrono::hours(1));
  EXPECT_TRUE(config->leader_election.enabled);
  EXPECT_EQ(config->leader_election.namespace_, "novacron-system");
  EXPECT_EQ(config->leader_election.lease_duration, seconds(15));
  EXPECT_EQ(config->leader_election.renew_deadline, seconds(10));
  EXPECT_EQ(config->leader_election.retry_period, seconds(2));
}

TEST(ConfigTest, ReadsEveryField) {
  auto config = parseConfig(R"(
scheduler:
  policy: Spread
  defaultOvercommit:
    cpu: 2.5
    memory: "1.25"
hypervisorHealth:
  heartbeatTimeout: 1m30s
  failover: Fenced
workers:
  vm: 8
  hypervisor: 3
  migration: 4
migrations:
  maxParallel: 12
  sourceTimeout: 2m
  coldTimeout: 90m
leaderElection:
  enabled: false
  namespace: other
  leaseName: ctl
  leaseDuration: 30s
  renewDeadline: 20s
  retryPeriod: 500ms
server:
  bindAddress: 127.0.0.1:9090
)");
  ASSERT_TRUE(config.isOk()) << config.status();
  EXPECT_EQ(config->scheduler.policy, scheduler::Policy::kSpread);
  EXPECT_EQ(config->scheduler.default_overcommit.cpu.milli, 2500);
  EXPECT_EQ(config->scheduler.default_overcommit.memory.milli, 1250);
  EXPECT_EQ(config->health.heartbeat_timeout, seconds(90));
  EXPECT_EQ(config->health.failover, FailoverPolicy::kFenced);
  EXPECT_EQ(config->workers.vm, 8);
  EXPECT_EQ(config->workers.hypervisor, 3);
  EXPECT_EQ(config->workers.migration, 4);
  EXPECT_EQ(config->migrations.max_parallel, 12);
  EXPECT_EQ(config->migrations.source_timeout, seconds(120));
  EXPECT_EQ(config->migrations.cold_timeout, std::chrono::minutes(90));
  EXPECT_FALSE(config->leader_election.enabled);
  EXPECT_EQ(config->leader_election.namespace_, "other");
  EXPECT_EQ(config->leader_election.lease_name, "ctl");
  EXPECT_EQ(config->leader_election.lease_duration, seconds(30));
  EXPECT_EQ(config->leader_election.renew_deadline, seconds(20));
  EXPECT_EQ(config->leader_election.retry_period, milliseconds(500));
  EXPECT_EQ(config->server.bind_address, "127.0.0.1:9090");
}

struct BadCase {
  const char* yaml;
  const char* message;  // must appear in the error
};

class BadConfigTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfigTest, IsRejectedNamingTheField) {
  auto config = parseConfig(GetParam().yaml);
  ASSERT_FALSE(config.isOk()) << GetParam().yaml;
  EXPECT_EQ(config.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadConfigTest,
    ::testing::Values(
        BadCase{"scheduler: {policy: Packed}",
                "scheduler.policy: must be BinPack or Spread, got \"Packed\""},
        BadCase{"scheduler: {polcy: Spread}", "scheduler.polcy: unknown field"},
        BadCase{"schedular: {}", "schedular: unknown field"},
        BadCase{"scheduler: 3", "scheduler: must be a mapping"},
        BadCase{"scheduler: {defaultOvercommit: {cpu: 0}}",
                "scheduler.defaultOvercommit.cpu: must be greater than 0"},
        BadCase{"scheduler: {defaultOvercommit: {cpu: -1}}",
                "scheduler.defaultOvercommit.cpu: must be a decimal number"},
        BadCase{"scheduler: {defaultOvercommit: {memory: 1.2345}}",
                "scheduler.defaultOvercommit.memory: must have at most 3 decimal places"},
        BadCase{"scheduler: {defaultOvercommit: {memory: 5000}}",
                "scheduler.defaultOvercommit.memory: must be at most 1000"},
        BadCase{"scheduler: {defaultOvercommit: {cpu: abc}}",
                "scheduler.defaultOvercommit.cpu: must be a decimal number"},
        BadCase{"scheduler: {defaultOvercommit: {cpu: [1]}}",
                "scheduler.defaultOvercommit.cpu: must be a scalar"},
        BadCase{"hypervisorHealth: {heartbeatTimeout: 40}",
                "hypervisorHealth.heartbeatTimeout: invalid duration \"40\": missing unit"},
        BadCase{"hypervisorHealth: {heartbeatTimeout: 40days}",
                "hypervisorHealth.heartbeatTimeout: invalid duration \"40days\": unknown unit"},
        BadCase{"hypervisorHealth: {heartbeatTimeout: -5s}",
                "hypervisorHealth.heartbeatTimeout: invalid duration"},
        BadCase{"hypervisorHealth: {heartbeatTimeout: 500ms}",
                "hypervisorHealth.heartbeatTimeout: must be at least 1s"},
        BadCase{"hypervisorHealth: {failover: Always}",
                "hypervisorHealth.failover: must be None or Fenced, got \"Always\""},
        BadCase{"workers: {vm: 0}", "workers.vm: must be between 1 and 64, got 0"},
        BadCase{"workers: {hypervisor: two}",
                "workers.hypervisor: must be an integer, got \"two\""},
        BadCase{"migrations: {maxParallel: 0}",
                "migrations.maxParallel: must be between 1 and 1000, got 0"},
        BadCase{"migrations: {maxParalel: 3}", "migrations.maxParalel"},
        BadCase{"migrations: {sourceTimeout: 2h}", "migrations.sourceTimeout: must be 1s..1h"},
        BadCase{"migrations: {coldTimeout: 30s}", "migrations.coldTimeout: must be 1m..24h"},
        BadCase{"leaderElection: {enabled: maybe}",
                "leaderElection.enabled: must be true or false, got \"maybe\""},
        BadCase{"leaderElection: {leaseName: ''}", "leaderElection.leaseName: must not be empty"},
        BadCase{"leaderElection: {leaseDuration: 10s, renewDeadline: 10s}",
                "leaderElection.leaseDuration: must be greater than renewDeadline"},
        BadCase{"leaderElection: {retryPeriod: 12s}",
                "leaderElection.renewDeadline: must be greater than retryPeriod"},
        BadCase{"leaderElection: {namespace: novacron-node-lease}",
                "leaderElection.namespace: must not be novacron-node-lease"},
        BadCase{"- a\n- b", "the document must be a mapping"},
        BadCase{"scheduler: {policy: [", "invalid controller configuration"}));

TEST(ConfigTest, ReportsEveryProblemAtOnce) {
  auto config = parseConfig("scheduler: {policy: X}\nworkers: {vm: 100}\n");
  ASSERT_FALSE(config.isOk());
  EXPECT_THAT(config.status().message(), HasSubstr("scheduler.policy"));
  EXPECT_THAT(config.status().message(), HasSubstr("workers.vm"));
}

TEST(DurationTest, Forms) {
  EXPECT_EQ(*parseDuration("40s"), seconds(40));
  EXPECT_EQ(*parseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*parseDuration("1m30s"), seconds(90));
  EXPECT_EQ(*parseDuration("2h"), seconds(7200));
  EXPECT_EQ(*parseDuration("1h1m1s1ms"), milliseconds(3'661'001));
  EXPECT_FALSE(parseDuration("").isOk());
  EXPECT_FALSE(parseDuration("s").isOk());
  EXPECT_FALSE(parseDuration("1.5s").isOk());
  EXPECT_FALSE(parseDuration("99999999999999h").isOk());
}

TEST(RatioTest, Forms) {
  EXPECT_EQ(parseRatio("1")->milli, 1000);
  EXPECT_EQ(parseRatio("1.5")->milli, 1500);
  EXPECT_EQ(parseRatio("0.75")->milli, 750);
  EXPECT_EQ(parseRatio("16.001")->milli, 16001);
  EXPECT_EQ(parseRatio("1000")->milli, 1'000'000);
  EXPECT_FALSE(parseRatio("1.").isOk());
  EXPECT_FALSE(parseRatio(".5").isOk());
  EXPECT_FALSE(parseRatio("1e3").isOk());
  EXPECT_FALSE(parseRatio("0.000").isOk());
  EXPECT_FALSE(parseRatio("1000.001").isOk());
}

TEST(ConfigFileTest, LoadsAndNamesTheFileOnError) {
  auto dir = std::filesystem::temp_directory_path() /
             ("novacron-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto good = dir / "good.yaml";
  std::ofstream(good) << "scheduler:\n  policy: Spread\n";
  auto loaded = loadConfigFile(good.string());
  ASSERT_TRUE(loaded.isOk()) << loaded.status();
  EXPECT_EQ(loaded->scheduler.policy, scheduler::Policy::kSpread);

  auto bad = dir / "bad.yaml";
  std::ofstream(bad) << "workers: {vm: -1}\n";
  auto failed = loadConfigFile(bad.string());
  ASSERT_FALSE(failed.isOk());
  EXPECT_THAT(failed.status().message(), HasSubstr(bad.string()));
  EXPECT_THAT(failed.status().message(), HasSubstr("workers.vm"));

  EXPECT_EQ(loadConfigFile((dir / "missing.yaml").string()).status().code(),
            core::StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace novacron::controller::config

namespace novacron::controller::config {
namespace {

TEST(RebalanceConfigTest, OffByDefault) {
  auto config = parseConfig("");
  ASSERT_TRUE(config.isOk()) << config.status();
  EXPECT_FALSE(config->rebalance.enabled);
  EXPECT_EQ(config->rebalance.mode, rebalance::Mode::kPropose);
  EXPECT_EQ(config->rebalance.metric, rebalance::SpreadMetric::kMemoryMaxMin);
  EXPECT_EQ(config->rebalance.max_imbalance_percent, 20);
  EXPECT_EQ(config->rebalance.interval, std::chrono::minutes(5));
}

TEST(RebalanceConfigTest, ReadsEveryField) {
  auto config = parseConfig(R"yaml(
rebalance:
  enabled: true
  mode: Execute
  metric: CpuStdDev
  maxImbalancePercent: 15
  budgetPerHour: 30
  budgetPerNodePerHour: 3
  cooldown: 2h
  quietHours: ["22:00-06:00", "12:00-12:30"]
  excludeNamespaces: [kube-system, critical]
  excludeSelector: "novacron.io/no-rebalance=true,tier in (db)"
  interval: 1m
)yaml");
  ASSERT_TRUE(config.isOk()) << config.status();
  const auto& r = config->rebalance;
  EXPECT_TRUE(r.enabled);
  EXPECT_EQ(r.mode, rebalance::Mode::kExecute);
  EXPECT_EQ(r.metric, rebalance::SpreadMetric::kCpuStdDev);
  EXPECT_EQ(r.max_imbalance_percent, 15);
  EXPECT_EQ(r.budget_per_hour, 30);
  EXPECT_EQ(r.budget_per_node_per_hour, 3);
  EXPECT_EQ(r.cooldown, std::chrono::hours(2));
  ASSERT_EQ(r.quiet_hours.size(), 2u);
  EXPECT_EQ(r.quiet_hours[0], (rebalance::QuietHours{22 * 60, 6 * 60}));
  EXPECT_EQ(r.quiet_hours[1], (rebalance::QuietHours{12 * 60, 12 * 60 + 30}));
  EXPECT_EQ(r.exclude_namespaces, (std::vector<std::string>{"kube-system", "critical"}));
  EXPECT_EQ(r.exclude_selector, "novacron.io/no-rebalance=true,tier in (db)");
  EXPECT_EQ(r.interval, std::chrono::minutes(1));
}

TEST(RebalanceConfigTest, RejectsBadValuesNamingTheField) {
  auto config = parseConfig(R"yaml(
rebalance:
  mode: Always
  metric: DiskMaxMin
  maxImbalancePercent: 0
  quietHours: ["25:00-01:00"]
  excludeSelector: "a in (b"
  interval: 1s
  bogus: 1
)yaml");
  ASSERT_FALSE(config.isOk());
  const std::string message(config.status().message());
  for (const char* field :
       {"rebalance.mode", "rebalance.metric", "rebalance.maxImbalancePercent",
        "rebalance.quietHours", "rebalance.excludeSelector", "rebalance.bogus: unknown field"}) {
    EXPECT_THAT(message, ::testing::HasSubstr(field));
  }
  auto slow = parseConfig("rebalance:\n  interval: 1s\n");
  ASSERT_FALSE(slow.isOk());
  EXPECT_THAT(std::string(slow.status().message()), ::testing::HasSubstr("rebalance.interval"));
}

TEST(SchedulerConfigTest, PercentageOfHypervisorsToScoreIsAdaptiveByDefaultAndRangeChecked) {
  EXPECT_EQ(parseConfig("")->scheduler.percentage_to_score, 0);
  auto set = parseConfig("scheduler:\n  percentageOfHypervisorsToScore: 100\n");
  ASSERT_TRUE(set.isOk()) << set.status();
  EXPECT_EQ(set->scheduler.percentage_to_score, 100);
  auto bad = parseConfig("scheduler:\n  percentageOfHypervisorsToScore: 101\n");
  ASSERT_FALSE(bad.isOk());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("scheduler.percentageOfHypervisorsToScore"));
}

}  // namespace
}  // namespace novacron::controller::config
