#include "controller/rebalance/planner.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace novacron::controller::rebalance {
namespace {

constexpr int64_t kGi = int64_t{1} << 30;
const WallTime kNow = WallTime{} + std::chrono::hours(24 * 365 * 50);

scheduler::HypervisorView host(std::string name, int64_t mem_gi = 100, std::string zone = "") {
  scheduler::HypervisorView v;
  v.name = std::move(name);
  v.ready = true;
  v.capacity = scheduler::Resources{64, mem_gi * kGi};
  if (!zone.empty()) {
    v.labels[std::string(kZoneLabel)] = zone;
  }
  return v;
}

VmCandidate vm(std::string name, std::string on, int64_t mem_gi, std::string ns = "default") {
  VmCandidate c;
  c.namespace_ = std::move(ns);
  c.name = std::move(name);
  c.hypervisor = std::move(on);
  c.request.resources = scheduler::Resources{1, mem_gi * kGi};
  return c;
}

// Builds the input with every host's allocation summed from its VMs, as the ledger would.
PlanInput input(std::vector<scheduler::HypervisorView> hosts, std::vector<VmCandidate> vms,
                int budget = 100, int per_node = 100) {
  for (auto& h : hosts) {
    for (const auto& v : vms) {
      if (v.hypervisor == h.name) {
        h.allocated.cpus += v.request.resources.cpus;
        h.allocated.memory_bytes += v.request.resources.memory_bytes;
        if (!v.request.anti_affinity_group.empty()) {
          h.anti_affinity_groups.push_back(v.request.anti_affinity_group);
        }
      }
    }
  }
  PlanInput in{std::move(hosts), std::move(vms), Budget{budget, per_node, {}}, kNow};
  return in;
}

PlannerOptions options(double max_imbalance = 20) {
  PlannerOptions o;
  o.max_imbalance_percent = max_imbalance;
  o.scheduler.default_overcommit =
      scheduler::OvercommitRatios{scheduler::Ratio{4000}, scheduler::Ratio{1000}};
  return o;
}

// a: 80 Gi of 100, b: 0 -> 80 points apart.
std::vector<VmCandidate> skewed() {
  return {vm("v1", "a", 40), vm("v2", "a", 20), vm("v3", "a", 10), vm("v4", "a", 10)};
}

TEST(PlannerTest, BalancedFleetNeedsNoMove) {
  auto p = plan(input({host("a"), host("b")}, {vm("v1", "a", 30), vm("v2", "b", 20)}), options());
  EXPECT_EQ(p.outcome, PlanOutcome::kBalanced);
  EXPECT_TRUE(p.moves.empty());
  EXPECT_DOUBLE_EQ(p.spread_before, 10);
  EXPECT_NE(p.summary.find("nothing to move"), std::string::npos) << p.summary;
}

TEST(PlannerTest, OneLargeMoveRatherThanManySmallOnes) {
  auto p = plan(input({host("a"), host("b")}, skewed()), options());
  ASSERT_EQ(p.outcome, PlanOutcome::kConverged) << p.summary;
  ASSERT_EQ(p.moves.size(), 1u);  // the 40 Gi VM: 80/0 -> 40/40
  EXPECT_EQ(p.moves[0].name, "v1");
  EXPECT_EQ(p.moves[0].source, "a");
  EXPECT_EQ(p.moves[0].target, "b");
  EXPECT_DOUBLE_EQ(p.spread_after, 0);
  EXPECT_NE(p.moves[0].reason.find("MemoryMaxMin spread 80.0 -> 0.0"), std::string::npos)
      << p.moves[0].reason;
  EXPECT_NE(p.moves[0].reason.find("a 80.0% -> 40.0%, b 0.0% -> 40.0%"), std::string::npos)
      << p.moves[0].reason;
}

TEST(PlannerTest, NeverOvercommitsTheTarget) {
  // b is a small host (30 Gi): v1 (40 Gi) would balance best but does not fit there.
  auto p = plan(input({host("a"), host("b", 30)}, skewed()), options(10));
  ASSERT_FALSE(p.moves.empty()) << p.summary;
  int64_t on_b = 0;
  for (const auto& m : p.moves) {
    EXPECT_NE(m.name, "v1");
    if (m.target == "b") {
      on_b += m.name == "v2" ? 20 : 10;
    }
  }
  EXPECT_LE(on_b, 30);
  EXPECT_EQ(p.outcome, PlanOutcome::kConverged) << p.summary;  // v2: a 60%, b 66.7%
}

TEST(PlannerTest, InfeasibleWhenNothingFits) {
  // Only one 80 Gi VM on a; b has 50 Gi free: it fits nowhere, so nothing can move.
  auto in = input({host("a"), host("b")}, {vm("big", "a", 80)});
  in.hypervisors[1].allocated.memory_bytes = 50 * kGi;
  auto p = plan(in, options());
  EXPECT_EQ(p.outcome, PlanOutcome::kNoFeasibleMove);
  EXPECT_TRUE(p.moves.empty());
  EXPECT_NE(p.summary.find("no further move helps"), std::string::npos) << p.summary;
}

TEST(PlannerTest, BudgetExhaustedStopsEarly) {
  // Four hosts full, four empty: four moves needed; the budget allows two.
  std::vector<scheduler::HypervisorView> hosts;
  std::vector<VmCandidate> vms;
  for (int i = 0; i < 4; ++i) {
    hosts.push_back(host("full-" + std::to_string(i)));
    hosts.push_back(host("empty-" + std::to_string(i)));
    vms.push_back(vm("x" + std::to_string(i), "full-" + std::to_string(i), 40));
    vms.push_back(vm("y" + std::to_string(i), "full-" + std::to_string(i), 40));
  }
  auto p = plan(input(hosts, vms, /*budget=*/2), options());
  EXPECT_EQ(p.outcome, PlanOutcome::kBudgetExhausted) << p.summary;
  EXPECT_EQ(p.moves.size(), 2u);
  auto all = plan(input(hosts, vms, /*budget=*/100), options());
  EXPECT_EQ(all.outcome, PlanOutcome::kConverged) << all.summary;
  EXPECT_EQ(all.moves.size(), 4u);
}

TEST(PlannerTest, ZeroBudgetMovesNothing) {
  auto p = plan(input({host("a"), host("b")}, skewed(), /*budget=*/0), options());
  EXPECT_EQ(p.outcome, PlanOutcome::kBudgetExhausted);
  EXPECT_TRUE(p.moves.empty());
}

TEST(PlannerTest, PerNodeBudgetIsRespected) {
  // One full host, three empty ones: the full host may be a source only once.
  std::vector<VmCandidate> vms = {vm("v1", "a", 30), vm("v2", "a", 30), vm("v3", "a", 30)};
  auto in = input({host("a"), host("b"), host("c"), host("d")}, vms, 100, /*per_node=*/1);
  auto p = plan(in, options());
  EXPECT_EQ(p.moves.size(), 1u);
  in.budget.used_per_node["a"] = 1;  // already spent within the hour
  EXPECT_TRUE(plan(in, options()).moves.empty());
}

TEST(PlannerTest, CooldownKeepsARecentlyMovedVmInPlace) {
  auto vms = skewed();
  vms[0].last_moved = kNow - std::chrono::minutes(10);  // v1, the ideal move
  auto p = plan(input({host("a"), host("b")}, vms), options());
  EXPECT_EQ(p.cooling_vms, 1u);
  for (const auto& m : p.moves) {
    EXPECT_NE(m.name, "v1");
  }
  EXPECT_EQ(p.outcome, PlanOutcome::kConverged) << p.summary;  // 20+10 -> 50/30
  vms[0].last_moved = kNow - std::chrono::hours(2);
  auto later = plan(input({host("a"), host("b")}, vms), options());
  ASSERT_EQ(later.moves.size(), 1u);
  EXPECT_EQ(later.moves[0].name, "v1");
}

TEST(PlannerTest, ExcludedNamespacesAndSelectorsNeverMove) {
  auto vms = skewed();
  vms[0].namespace_ = "critical";
  vms[1].labels["novacron.io/no-rebalance"] = "true";
  auto o = options();
  o.exclude_namespaces = {"critical"};
  auto selector = kube::Selector::parse("novacron.io/no-rebalance=true");
  ASSERT_TRUE(selector.isOk());
  o.exclude_selector = *selector;
  auto p = plan(input({host("a"), host("b")}, vms), o);
  EXPECT_EQ(p.excluded_vms, 2u);
  for (const auto& m : p.moves) {
    EXPECT_TRUE(m.name == "v3" || m.name == "v4") << m.name;
  }
}

TEST(PlannerTest, AVmIsNeverMovedTwiceInOnePlan) {
  auto p = plan(input({host("a"), host("b"), host("c")},
                      {vm("v1", "a", 60), vm("v2", "a", 30), vm("v3", "b", 30)}),
                options(5));
  std::map<std::string, int> moved;
  for (const auto& m : p.moves) {
    EXPECT_EQ(++moved[m.name], 1) << m.name;
  }
}

TEST(PlannerTest, UnmovableAndNonParticipatingAreLeftAlone) {
  auto vms = skewed();
  for (auto& v : vms) {
    v.movable = false;  // e.g. Stopped, or already migrating
  }
  EXPECT_TRUE(plan(input({host("a"), host("b")}, vms), options()).moves.empty());
  auto hosts = std::vector{host("a"), host("b")};
  hosts[1].unschedulable = true;  // cordoned: not a target, not part of the spread
  auto p = plan(input(hosts, skewed()), options());
  EXPECT_EQ(p.outcome, PlanOutcome::kTooFewHypervisors);
  EXPECT_TRUE(p.moves.empty());
}

TEST(PlannerTest, PrefersATargetInTheSourcesZone) {
  auto p = plan(input({host("a", 100, "z1"), host("b", 100, "z2"), host("c", 100, "z1")},
                      {vm("v1", "a", 40), vm("v2", "a", 40)}),
                options(30));
  ASSERT_EQ(p.moves.size(), 1u);
  EXPECT_EQ(p.moves[0].target, "c");
  EXPECT_NE(p.moves[0].reason.find("same zone z1"), std::string::npos) << p.moves[0].reason;
}

TEST(PlannerTest, TargetsAdmissionWouldRefuseAreSkipped) {
  auto in = input({host("a"), host("b"), host("c")}, skewed());
  in.can_migrate = [](const std::string&, const std::string& target) { return target != "b"; };
  auto p = plan(in, options());
  ASSERT_FALSE(p.moves.empty()) << p.summary;
  for (const auto& m : p.moves) {
    EXPECT_EQ(m.target, "c");
  }
  in.can_migrate = [](const std::string&, const std::string&) { return false; };
  EXPECT_EQ(plan(in, options()).outcome, PlanOutcome::kNoFeasibleMove);
}

TEST(PlannerTest, AntiAffinityIsAFitRule) {
  auto vms = skewed();
  vms[0].request.anti_affinity_group = "db";
  auto other = vm("w", "b", 1);
  other.request.anti_affinity_group = "db";
  vms.push_back(other);
  auto p = plan(input({host("a"), host("b")}, vms), options());
  for (const auto& m : p.moves) {
    EXPECT_NE(m.name, "v1");
  }
}

TEST(PlannerTest, StdDevMetric) {
  auto o = options(5);
  o.metric = SpreadMetric::kMemoryStdDev;
  auto p = plan(input({host("a"), host("b")}, skewed()), o);
  EXPECT_DOUBLE_EQ(p.spread_before, 40);  // utilisations 80 and 0
  EXPECT_EQ(p.outcome, PlanOutcome::kConverged);
  EXPECT_LE(p.spread_after, 5);
}

TEST(PlannerTest, CpuMetricCountsAgainstTheOvercommittedLimit) {
  // 64 CPUs at the default ratio 4: a limit of 256 vCPUs. a holds 2 x 32 vCPUs: 25 %.
  auto big = [](std::string name) {
    auto v = vm(std::move(name), "a", 1);
    v.request.resources.cpus = 32;
    return v;
  };
  auto o = options(10);
  o.metric = SpreadMetric::kCpuMaxMin;
  auto p = plan(input({host("a"), host("b")}, {big("c1"), big("c2")}), o);
  EXPECT_DOUBLE_EQ(p.spread_before, 25);
  ASSERT_EQ(p.moves.size(), 1u);
  EXPECT_DOUBLE_EQ(p.spread_after, 0);
  EXPECT_NE(p.moves[0].reason.find("CpuMaxMin"), std::string::npos) << p.moves[0].reason;
}

TEST(PlannerTest, DrainsAPlateauOfFullHosts) {
  // Three hosts at 60%, three at 0: no single move lowers max - min, yet three moves balance it.
  std::vector<scheduler::HypervisorView> hosts;
  std::vector<VmCandidate> vms;
  for (int i = 0; i < 3; ++i) {
    hosts.push_back(host("f" + std::to_string(i)));
    hosts.push_back(host("e" + std::to_string(i)));
    vms.push_back(vm("p" + std::to_string(i), "f" + std::to_string(i), 30));
    vms.push_back(vm("q" + std::to_string(i), "f" + std::to_string(i), 30));
  }
  auto p = plan(input(hosts, vms), options());
  EXPECT_EQ(p.outcome, PlanOutcome::kConverged) << p.summary;
  EXPECT_EQ(p.moves.size(), 3u);
  EXPECT_DOUBLE_EQ(p.spread_after, 0);
}

TEST(PlannerTest, DrainsAPlateauOfLargeHostsOntoSmallOnes) {
  // Two 200 Gi hosts at 50 %, two 100 Gi hosts at 20 %: a 10 Gi move lowers a large host by 5
  // points but raises a small one by 10, so max - min falls only after both large hosts gave one
  // VM each. The first move must count as progress although the unweighted sum of squared
  // utilisations grows (45^2 + 30^2 > 50^2 + 20^2); weighted by size it falls.
  std::vector<VmCandidate> vms = {vm("s0", "small-0", 20), vm("s1", "small-1", 20)};
  for (int i = 0; i < 20; ++i) {
    vms.push_back(vm("l" + std::to_string(i), "large-" + std::to_string(i % 2), 10));
  }
  auto p = plan(input({host("large-0", 200), host("large-1", 200), host("small-0", 100),
                       host("small-1", 100)},
                      vms),
                options(20));
  EXPECT_DOUBLE_EQ(p.spread_before, 30);
  EXPECT_EQ(p.outcome, PlanOutcome::kConverged) << p.summary;
  EXPECT_EQ(p.moves.size(), 2u);
  EXPECT_DOUBLE_EQ(p.spread_after, 15);
}

TEST(PlannerTest, SameInputSamePlanWhateverTheOrder) {
  std::vector<scheduler::HypervisorView> hosts = {host("a"), host("b"), host("c"), host("d")};
  std::vector<VmCandidate> vms = {vm("v1", "a", 20), vm("v2", "a", 20), vm("v3", "a", 20),
                                  vm("v4", "b", 20), vm("v5", "b", 20)};
  auto p = plan(input(hosts, vms), options(5));
  std::reverse(hosts.begin(), hosts.end());
  std::reverse(vms.begin(), vms.end());
  auto q = plan(input(hosts, vms), options(5));
  ASSERT_EQ(p.moves.size(), q.moves.size());
  for (std::size_t i = 0; i < p.moves.size(); ++i) {
    EXPECT_EQ(p.moves[i].name, q.moves[i].name);
    EXPECT_EQ(p.moves[i].target, q.moves[i].target);
  }
}

}  // namespace
}  // namespace novacron::controller::rebalance
