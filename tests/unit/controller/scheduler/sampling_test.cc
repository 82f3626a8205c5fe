// Sampled placement in a large fleet (kube-scheduler's percentageOfNodesToScore): how many
// feasible hypervisors are enough, where the walk starts, and that nothing is sampled when it
// would change what a user sees (an unschedulable VM, a small fleet).
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "controller/scheduler/scheduler.h"

namespace novacron::controller::scheduler {
namespace {

constexpr int64_t kGi = int64_t{1} << 30;

std::string nameOf(int i) {
  char name[16];
  std::snprintf(name, sizeof name, "hv-%04d", i);
  return name;
}

std::vector<HypervisorView> fleet(int n) {
  std::vector<HypervisorView> hvs;
  for (int i = 0; i < n; ++i) {
    HypervisorView view;
    view.name = nameOf(i);
    view.ready = true;
    view.capacity = Resources{8, 16 * kGi};
    hvs.push_back(std::move(view));
  }
  return hvs;
}

VmRequest oneCpu() {
  VmRequest request;
  request.resources = Resources{1, kGi};
  return request;
}

Scheduler scheduler(Policy policy, int percentage = 0) {
  SchedulerOptions options;
  options.policy = policy;
  options.percentage_to_score = percentage;
  return Scheduler(options);
}

TEST(SamplingTest, FeasibleToFindFollowsKubeSchedulersAdaptiveDefault) {
  const Scheduler s = scheduler(Policy::kSpread);
  EXPECT_EQ(s.feasibleToFind(0), 0u);
  EXPECT_EQ(s.feasibleToFind(50), 50u);  // small fleets: all of them
  EXPECT_EQ(s.feasibleToFind(100), 100u);
  EXPECT_EQ(s.feasibleToFind(200), 100u);     // 49% = 98, raised to the minimum
  EXPECT_EQ(s.feasibleToFind(1000), 420u);    // 50% - 8%
  EXPECT_EQ(s.feasibleToFind(5000), 500u);    // 50% - 40%
  EXPECT_EQ(s.feasibleToFind(20000), 1000u);  // never below 5%
}

TEST(SamplingTest, AConfiguredPercentageIsUsedAndHundredScoresEveryHypervisor) {
  EXPECT_EQ(scheduler(Policy::kSpread, 100).feasibleToFind(5000), 5000u);
  EXPECT_EQ(scheduler(Policy::kSpread, 20).feasibleToFind(5000), 1000u);
  EXPECT_EQ(scheduler(Policy::kSpread, 1).feasibleToFind(5000), 100u);  // the minimum still holds
}

TEST(SamplingTest, StopsOnceEnoughFeasibleHypervisorsWereFoundAndSaysSo) {
  const auto hvs = fleet(1000);
  const Decision d = scheduler(Policy::kSpread).schedule(oneCpu(), hvs);
  ASSERT_TRUE(d.placed());
  EXPECT_EQ(d.total, 1000u);
  EXPECT_EQ(d.examined, 420u);
  EXPECT_EQ(d.feasible, 420u);
  EXPECT_EQ(d.hypervisor, "hv-0000");  // equal scores: the smallest name of the sample
  EXPECT_EQ(d.explain(), "420/420 hypervisors available (looked at 420 of 1000)");
}

TEST(SamplingTest, TheWalkStartsAtTheGivenPositionAndWrapsAround) {
  const auto hvs = fleet(1000);
  const Scheduler s = scheduler(Policy::kSpread);
  const Decision middle = s.schedule(oneCpu(), hvs, 500);
  EXPECT_EQ(middle.hypervisor, "hv-0500");
  EXPECT_EQ(*middle.index, 500u);
  // From 900 on: 900..999, then 0..319; the smallest name of those is hv-0000.
  const Decision wrapped = s.schedule(oneCpu(), hvs, 900);
  EXPECT_EQ(wrapped.examined, 420u);
  EXPECT_EQ(wrapped.hypervisor, "hv-0000");
  EXPECT_EQ(s.schedule(oneCpu(), hvs, 1500).hypervisor, "hv-0500");  // taken modulo the size
}

TEST(SamplingTest, TheBestOfTheSampleWinsForEitherPolicy) {
  auto hvs = fleet(1000);
  hvs[10].allocated = Resources{4, 8 * kGi};    // inside the sample from 0
  hvs[700].allocated = Resources{6, 12 * kGi};  // outside it
  EXPECT_EQ(scheduler(Policy::kBinPack).schedule(oneCpu(), hvs).hypervisor, "hv-0010");
  EXPECT_EQ(scheduler(Policy::kBinPack).schedule(oneCpu(), hvs, 600).hypervisor, "hv-0700");
  EXPECT_EQ(scheduler(Policy::kBinPack, 100).schedule(oneCpu(), hvs).hypervisor, "hv-0700");
  // Spread: every other one of the sample is emptier than hv-0010.
  EXPECT_NE(scheduler(Policy::kSpread).schedule(oneCpu(), hvs).hypervisor, "hv-0010");
}

TEST(SamplingTest, InfeasibleHypervisorsDoNotCountTowardsTheSample) {
  auto hvs = fleet(1000);
  for (int i = 0; i < 900; ++i) {
    hvs[i].allocated = Resources{8, 16 * kGi};  // full
  }
  hvs[950].allocated = Resources{4, 8 * kGi};
  const Decision d = scheduler(Policy::kBinPack).schedule(oneCpu(), hvs);
  EXPECT_EQ(d.examined, 1000u);  // only 100 feasible: all of them looked at
  EXPECT_EQ(d.feasible, 100u);
  EXPECT_EQ(d.hypervisor, "hv-0950");
}

TEST(SamplingTest, AnUnschedulableVmIsAlwaysExplainedAgainstTheWholeFleet) {
  auto hvs = fleet(1000);
  for (auto& hv : hvs) {
    hv.allocated = Resources{8, 16 * kGi};
  }
  const Decision d = scheduler(Policy::kSpread).schedule(oneCpu(), hvs, 321);
  EXPECT_FALSE(d.placed());
  EXPECT_EQ(d.examined, 1000u);
  EXPECT_EQ(d.explain(), "0/1000 hypervisors available: 1000 insufficient memory");  // cpu: 4x
}

TEST(SamplingTest, ASmallFleetIsScoredWhole) {
  auto hvs = fleet(100);
  hvs[99].allocated = Resources{7, 14 * kGi};
  const Decision d = scheduler(Policy::kBinPack).schedule(oneCpu(), hvs, 37);
  EXPECT_EQ(d.examined, 100u);
  EXPECT_EQ(d.hypervisor, "hv-0099");
  EXPECT_EQ(d.explain(), "100/100 hypervisors available");
}

}  // namespace
}  // namespace novacron::controller::scheduler
