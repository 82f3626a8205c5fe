#include "controller/scheduler/scheduler.h"

#include <algorithm>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace novacron::controller::scheduler {
namespace {

constexpr int64_t kGi = int64_t{1} << 30;

HypervisorView hv(std::string name, int64_t cpus = 8, int64_t mem_gi = 16) {
  HypervisorView view;
  view.name = std::move(name);
  view.ready = true;
  view.capacity = Resources{cpus, mem_gi * kGi};
  return view;
}

VmRequest vm(int64_t cpus = 1, int64_t mem_gi = 1) {
  VmRequest request;
  request.resources = Resources{cpus, mem_gi * kGi};
  return request;
}

SchedulerOptions noOvercommit(Policy policy = Policy::kBinPack) {
  SchedulerOptions options;
  options.policy = policy;
  options.default_overcommit = OvercommitRatios{Ratio{1000}, Ratio{1000}};
  return options;
}

// --- filters -------------------------------------------------------------------------------------

TEST(FilterTest, AcceptsAReadyHypervisorWithRoom) {
  Scheduler s(noOvercommit());
  EXPECT_EQ(s.filter(vm(), hv("a")), std::nullopt);
}

TEST(FilterTest, RejectsInsufficientStorageWhereTheHypervisorReportsIt) {
  Scheduler s(noOvercommit());
  auto h = hv("a");
  auto request = vm();
  request.resources.storage_bytes = 10 * kGi;
  EXPECT_EQ(s.filter(request, h), std::nullopt);  // not reported: not checked
  h.storage_capacity_bytes = 20 * kGi;
  h.allocated.storage_bytes = 10 * kGi;
  EXPECT_EQ(s.filter(request, h), std::nullopt);  // exactly full after placement
  h.allocated.storage_bytes = 10 * kGi + 1;
  EXPECT_EQ(s.filter(request, h), RejectReason::kInsufficientStorage);
  EXPECT_EQ(rejectReasonText(RejectReason::kInsufficientStorage), "insufficient storage");
  // A VM with no counted disks adds nothing, even on an overfull root; never overcommitted.
  h.allocated.storage_bytes = 30 * kGi;
  EXPECT_EQ(s.filter(vm(), h), std::nullopt);
  Scheduler generous(
      SchedulerOptions{Policy::kBinPack, OvercommitRatios{Ratio{4000}, Ratio{4000}}});
  EXPECT_EQ(generous.filter(request, h), RejectReason::kInsufficientStorage);
}

TEST(FilterTest, RejectsNotReady) {
  Scheduler s(noOvercommit());
  auto h = hv("a");
  h.ready = false;
  EXPECT_EQ(s.filter(vm(), h), RejectReason::kNotReady);
}

TEST(FilterTest, RejectsUnschedulable) {
  Scheduler s(noOvercommit());
  auto h = hv("a");
  h.unschedulable = true;
  EXPECT_EQ(s.filter(vm(), h), RejectReason::kUnschedulable);
}

TEST(FilterTest, RejectsMaintenance) {
  Scheduler s(noOvercommit());
  auto h = hv("a");
  h.maintenance = true;
  EXPECT_EQ(s.filter(vm(), h), RejectReason::kMaintenance);
}

TEST(FilterTest, SelectorNeedsEveryLabel) {
  Scheduler s(noOvercommit());
  auto h = hv("a");
  h.labels = {{"zone", "z1"}, {"gpu", "yes"}};
  auto request = vm();
  request.hypervisor_selector = {{"zone", "z1"}};
  EXPECT_EQ(s.filter(request, h), std::nullopt);
  request.hypervisor_selector = {{"zone", "z1"}, {"gpu", "yes"}};
  EXPECT_EQ(s.filter(request, h), std::nullopt);
  request.hypervisor_selector = {{"zone", "z2"}};
  EXPECT_EQ(s.filter(request, h), RejectReason::kSelectorMismatch);
  request.hypervisor_selector = {{"zone", "z1"}, {"ssd", "yes"}};
  EXPECT_EQ(s.filter(request, h), RejectReason::kSelectorMismatch);
  request.hypervisor_selector = {{"zone", ""}};  // empty value is a value, not a wildcard
  EXPECT_EQ(s.filter(request, h), RejectReason::kSelectorMismatch);
}

TEST(FilterTest, AntiAffinityRejectsOnlyTheSameGroup) {
  Scheduler s(noOvercommit());
  auto h = hv("a");
  h.anti_affinity_groups = {"web", "cache"};
  auto request = vm();
  EXPECT_EQ(s.filter(request, h), std::nullopt);  // no group: no constraint
  request.anti_affinity_group = "db";
  EXPECT_EQ(s.filter(request, h), std::nullopt);
  request.anti_affinity_group = "web";
  EXPECT_EQ(s.filter(request, h), RejectReason::kAntiAffinity);
}

TEST(FilterTest, PinnedHypervisorOnly) {
  Scheduler s(noOvercommit());
  auto request = vm();
  request.pinned_hypervisor = "b";
  EXPECT_EQ(s.filter(request, hv("a")), RejectReason::kNotPinned);
  EXPECT_EQ(s.filter(request, hv("b")), std::nullopt);
}

TEST(FilterTest, PinnedHypervisorStillHasToBeHealthyAndHaveRoom) {
  Scheduler s(noOvercommit());
  auto request = vm(16, 1);
  request.pinned_hypervisor = "b";
  EXPECT_EQ(s.filter(request, hv("b", 8)), RejectReason::kInsufficientCpu);
  auto down = hv("b");
  down.ready = false;
  EXPECT_EQ(s.filter(vm(), down), RejectReason::kNotReady);
}

TEST(FilterTest, CpuAfterOvercommit) {
  SchedulerOptions options = noOvercommit();
  options.default_overcommit.cpu = Ratio{2000};
  Scheduler s(options);
  auto h = hv("a", 4, 64);  // 4 cpus * 2.0 = 8
  h.allocated = Resources{6, 0};
  EXPECT_EQ(s.filter(vm(2), h), std::nullopt);
  EXPECT_EQ(s.filter(vm(3), h), RejectReason::kInsufficientCpu);
}

TEST(FilterTest, MemoryAfterOvercommitRoundsDown) {
  SchedulerOptions options = noOvercommit();
  options.default_overcommit.memory = Ratio{1500};
  Scheduler s(options);
  auto h = hv("a", 64, 0);
  h.capacity.memory_bytes = 3;  // 3 * 1.5 = 4.5 -> 4 bytes
  VmRequest request;
  request.resources = Resources{1, 4};
  EXPECT_EQ(s.filter(request, h), std::nullopt);
  request.resources.memory_bytes = 5;
  EXPECT_EQ(s.filter(request, h), RejectReason::kInsufficientMemory);
}

TEST(FilterTest, PerHypervisorOvercommitOverridesDefaults) {
  Scheduler s(noOvercommit());
  auto h = hv("a", 4, 4);
  EXPECT_EQ(s.filter(vm(8, 1), h), RejectReason::kInsufficientCpu);
  h.overcommit = OvercommitOverrides{Ratio{2000}, Ratio{1000}};
  EXPECT_EQ(s.filter(vm(8, 1), h), std::nullopt);
  EXPECT_EQ(s.filter(vm(1, 5), h), RejectReason::kInsufficientMemory);
}

// Each resource falls back to the configured default on its own, and a ratio is applied once.
TEST(FilterTest, UnsetOvercommitFieldUsesItsOwnDefault) {
  SchedulerOptions options = noOvercommit();
  options.default_overcommit = OvercommitRatios{Ratio{4000}, Ratio{1000}};
  Scheduler s(options);
  auto h = hv("a", 4, 4);
  h.overcommit.memory = Ratio{1500};  // cpu unset: default 4 -> 16 cpus; memory 4 Gi * 1.5 = 6 Gi
  EXPECT_EQ(s.effectiveCapacityOf(h), (Resources{16, 6 * kGi}));
  EXPECT_EQ(s.filter(vm(16, 6), h), std::nullopt);
  EXPECT_EQ(s.filter(vm(17, 1), h), RejectReason::kInsufficientCpu);
  EXPECT_EQ(s.filter(vm(1, 7), h), RejectReason::kInsufficientMemory);
  h.overcommit.cpu = Ratio{2000};  // set: replaces the default, not multiplied by it
  EXPECT_EQ(s.effectiveCapacityOf(h), (Resources{8, 6 * kGi}));
}

TEST(FilterTest, ExactFitIsAccepted) {
  Scheduler s(noOvercommit());
  auto h = hv("a", 8, 16);
  h.allocated = Resources{7, 15 * kGi};
  EXPECT_EQ(s.filter(vm(1, 1), h), std::nullopt);
  h.allocated.memory_bytes += 1;
  EXPECT_EQ(s.filter(vm(1, 1), h), RejectReason::kInsufficientMemory);
}

TEST(FilterTest, HugeRequestsDoNotOverflow) {
  Scheduler s(noOvercommit());
  auto h = hv("a");
  h.allocated = Resources{1, 1};
  VmRequest request;
  request.resources = Resources{1, std::numeric_limits<int64_t>::max()};
  EXPECT_EQ(s.filter(request, h), RejectReason::kInsufficientMemory);
  request.resources = Resources{std::numeric_limits<int64_t>::max(), 1};
  EXPECT_EQ(s.filter(request, h), RejectReason::kInsufficientCpu);
}

TEST(FilterTest, FirstFailingFilterIsTheReason) {
  Scheduler s(noOvercommit());
  auto h = hv("a", 1, 1);
  h.ready = false;
  h.maintenance = true;
  EXPECT_EQ(s.filter(vm(4, 4), h), RejectReason::kNotReady);
  h.ready = true;
  EXPECT_EQ(s.filter(vm(4, 4), h), RejectReason::kMaintenance);
  h.maintenance = false;
  EXPECT_EQ(s.filter(vm(4, 4), h), RejectReason::kInsufficientCpu);
}

// --- scores --------------------------------------------------------------------------------------

TEST(ScoreTest, BinPackPrefersTheFullestAfterPlacement) {
  Scheduler s(noOvercommit(Policy::kBinPack));
  std::vector<HypervisorView> hvs = {hv("a"), hv("b"), hv("c")};
  hvs[0].allocated = Resources{2, 2 * kGi};
  hvs[1].allocated = Resources{6, 12 * kGi};
  hvs[2].allocated = Resources{4, 8 * kGi};
  auto d = s.schedule(vm(), hvs);
  ASSERT_TRUE(d.placed());
  EXPECT_EQ(d.hypervisor, "b");
  EXPECT_EQ(*d.index, 1u);
}

TEST(ScoreTest, SpreadPrefersTheEmptiestAfterPlacement) {
  Scheduler s(noOvercommit(Policy::kSpread));
  std::vector<HypervisorView> hvs = {hv("a"), hv("b"), hv("c")};
  hvs[0].allocated = Resources{2, 2 * kGi};
  hvs[1].allocated = Resources{6, 12 * kGi};
  hvs[2].allocated = Resources{1, 1 * kGi};
  EXPECT_EQ(s.schedule(vm(), hvs).hypervisor, "c");
}

TEST(ScoreTest, ScoresUseFractionsSoBigHostsLookEmptier) {
  Scheduler s(noOvercommit(Policy::kSpread));
  std::vector<HypervisorView> hvs = {hv("small", 4, 8), hv("big", 64, 256)};
  hvs[0].allocated = Resources{1, 1 * kGi};
  hvs[1].allocated = Resources{8, 16 * kGi};  // more in absolute terms, less as a fraction
  EXPECT_EQ(s.schedule(vm(), hvs).hypervisor, "big");
}

TEST(ScoreTest, ScoreIsCpuPlusMemoryUtilisationInMillionths) {
  Scheduler binpack(noOvercommit(Policy::kBinPack));
  Scheduler spread(noOvercommit(Policy::kSpread));
  auto h = hv("a", 4, 4);
  h.allocated = Resources{1, 1 * kGi};
  // After placing (1 cpu, 1 Gi): cpu 2/4, memory 2/4.
  EXPECT_EQ(binpack.score(vm(), h), 1'000'000);
  EXPECT_EQ(spread.score(vm(), h), 1'000'000);
  EXPECT_EQ(binpack.score(vm(3, 3), h), 2'000'000);
  EXPECT_EQ(spread.score(vm(3, 3), h), 0);
}

TEST(ScoreTest, ScoreRespectsOvercommit) {
  SchedulerOptions options = noOvercommit(Policy::kBinPack);
  options.default_overcommit.cpu = Ratio{4000};
  Scheduler s(options);
  auto h = hv("a", 4, 4);  // 16 vCPUs offered
  EXPECT_EQ(s.score(vm(4, 2), h), 250'000 + 500'000);
}

TEST(TieBreakTest, EqualScoresGoToTheSmallestNameWhateverTheInputOrder) {
  for (Policy policy : {Policy::kBinPack, Policy::kSpread}) {
    Scheduler s(noOvercommit(policy));
    std::vector<HypervisorView> hvs = {hv("node-c"), hv("node-a"), hv("node-b"), hv("node-d")};
    std::mt19937 rng(42);
    for (int round = 0; round < 20; ++round) {
      std::shuffle(hvs.begin(), hvs.end(), rng);
      auto d = s.schedule(vm(), hvs);
      ASSERT_TRUE(d.placed());
      EXPECT_EQ(d.hypervisor, "node-a") << policyName(policy);
      EXPECT_EQ(hvs[*d.index].name, "node-a");
    }
  }
}

TEST(TieBreakTest, RepeatedPlacementIsDeterministic) {
  // Place 30 VMs on 5 equal hypervisors twice, from two different input orders: same outcome.
  auto run = [](std::vector<HypervisorView> hvs, Policy policy) {
    Scheduler s(noOvercommit(policy));
    std::map<std::string, std::vector<int>> placed;
    for (int i = 0; i < 30; ++i) {
      auto d = s.schedule(vm(1, 1), hvs);
      EXPECT_TRUE(d.placed());
      hvs[*d.index].allocated.cpus += 1;
      hvs[*d.index].allocated.memory_bytes += kGi;
      placed[d.hypervisor].push_back(i);
    }
    return placed;
  };
  std::vector<HypervisorView> forward = {hv("a"), hv("b"), hv("c"), hv("d"), hv("e")};
  std::vector<HypervisorView> backward(forward.rbegin(), forward.rend());
  for (Policy policy : {Policy::kBinPack, Policy::kSpread}) {
    EXPECT_EQ(run(forward, policy), run(backward, policy));
  }
  auto spread = run(forward, Policy::kSpread);
  for (const auto& [name, vms] : spread) {
    EXPECT_EQ(vms.size(), 6u) << name;  // perfectly even
  }
  auto binpack = run(forward, Policy::kBinPack);
  EXPECT_EQ(binpack.at("a").size(), 8u);  // fills "a" (8 cpus) first, then "b", ...
  EXPECT_EQ(binpack.at("b").size(), 8u);
  EXPECT_EQ(binpack.at("c").size(), 8u);
  EXPECT_EQ(binpack.at("d").size(), 6u);
  EXPECT_EQ(binpack.count("e"), 0u);
}

// --- explanation ---------------------------------------------------------------------------------

TEST(ExplainTest, CountsEveryReasonLargestFirst) {
  Scheduler s(noOvercommit());
  std::vector<HypervisorView> hvs = {hv("a", 8, 2), hv("b", 8, 2), hv("c")};
  hvs[2].ready = false;
  auto d = s.schedule(vm(1, 4), hvs);
  EXPECT_FALSE(d.placed());
  EXPECT_EQ(d.hypervisor, "");
  EXPECT_EQ(d.explain(), "0/3 hypervisors available: 2 insufficient memory, 1 not Ready");
  EXPECT_EQ(d.rejectedFor(RejectReason::kInsufficientMemory), 2u);
  EXPECT_EQ(d.rejectedFor(RejectReason::kNotReady), 1u);
}

TEST(ExplainTest, EqualCountsFollowFilterOrder) {
  Scheduler s(noOvercommit());
  std::vector<HypervisorView> hvs = {hv("a", 1, 64), hv("b"), hv("c"), hv("d")};
  hvs[1].maintenance = true;
  hvs[2].unschedulable = true;
  hvs[3].ready = false;
  auto d = s.schedule(vm(2, 1), hvs);
  EXPECT_EQ(d.explain(),
            "0/4 hypervisors available: 1 not Ready, 1 unschedulable, 1 in maintenance, "
            "1 insufficient cpu");
}

TEST(ExplainTest, EveryReasonHasWords) {
  Scheduler s(noOvercommit());
  std::vector<HypervisorView> hvs = {
      hv("pinned-elsewhere"), hv("b"),       hv("c"), hv("d"), hv("e"), hv("f"),
      hv("g", 1, 64),         hv("h", 64, 1)};
  auto request = vm(2, 2);
  request.hypervisor_selector = {{"pool", "p"}};
  request.anti_affinity_group = "db";
  // Pin nothing: "pinned-elsewhere" fails the selector like the others; give them labels.
  for (auto& h : hvs) {
    h.labels = {{"pool", "p"}};
  }
  hvs[0].labels.clear();
  hvs[1].ready = false;
  hvs[2].unschedulable = true;
  hvs[3].maintenance = true;
  hvs[4].anti_affinity_groups = {"db"};
  hvs[5].anti_affinity_groups = {"db", "web"};
  auto d = s.schedule(request, hvs);
  EXPECT_EQ(d.explain(),
            "0/8 hypervisors available: 2 anti-affinity group already present, "
            "1 did not match hypervisorSelector, 1 not Ready, 1 unschedulable, 1 in maintenance, "
            "1 insufficient cpu, 1 insufficient memory");
  request.pinned_hypervisor = "zzz";
  EXPECT_EQ(s.schedule(request, hvs).explain(),
            "0/8 hypervisors available: 8 not the pinned hypervisor");
}

TEST(ExplainTest, NoHypervisors) {
  Scheduler s(noOvercommit());
  auto d = s.schedule(vm(), {});
  EXPECT_FALSE(d.placed());
  EXPECT_EQ(d.explain(), "0/0 hypervisors available: no Hypervisors registered");
}

TEST(ExplainTest, PlacedDecisionStillCounts) {
  Scheduler s(noOvercommit());
  std::vector<HypervisorView> hvs = {hv("a"), hv("b"), hv("c")};
  hvs[0].ready = false;
  auto d = s.schedule(vm(), hvs);
  EXPECT_TRUE(d.placed());
  EXPECT_EQ(d.feasible, 2u);
  EXPECT_EQ(d.explain(), "2/3 hypervisors available: 1 not Ready");
}

// --- invariants ----------------------------------------------------------------------------------

TEST(InvariantTest, RandomPlacementsNeverExceedEffectiveCapacity) {
  std::mt19937 rng(7);
  for (Policy policy : {Policy::kBinPack, Policy::kSpread}) {
    SchedulerOptions options;
    options.policy = policy;
    options.default_overcommit = OvercommitRatios{Ratio{1500}, Ratio{1100}};
    Scheduler s(options);
    std::vector<HypervisorView> hvs;
    for (int i = 0; i < 20; ++i) {
      hvs.push_back(hv("h" + std::to_string(i), 2 + i % 7, 4 + i % 5));
    }
    int unplaced = 0;
    for (int i = 0; i < 500; ++i) {
      auto request = vm(1 + rng() % 4, 1 + rng() % 3);
      auto d = s.schedule(request, hvs);
      if (!d.placed()) {
        ++unplaced;
        EXPECT_EQ(d.feasible, 0u);
        continue;
      }
      auto& h = hvs[*d.index];
      h.allocated.cpus += request.resources.cpus;
      h.allocated.memory_bytes += request.resources.memory_bytes;
      auto limit = s.effectiveCapacityOf(h);
      ASSERT_LE(h.allocated.cpus, limit.cpus);
      ASSERT_LE(h.allocated.memory_bytes, limit.memory_bytes);
    }
    EXPECT_GT(unplaced, 0);  // the cluster did fill up
  }
}

}  // namespace
}  // namespace novacron::controller::scheduler
