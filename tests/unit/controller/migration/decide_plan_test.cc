// decide() for dry runs (spec.dryRun): checked and targeted like a migration, but never limited,
// never counted, never blocked by other migrations; Planning waits for the measurement.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/migration/decide.h"

namespace novacron::controller::migration {
namespace {

using api::MigrationPhase;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

api::Timestamp at(int seconds) {
  return api::Timestamp{std::chrono::seconds(1'800'000'000 + seconds)};
}

MigrationFacts mig(std::string name, int created, MigrationPhase phase, std::string target = "") {
  MigrationFacts m;
  m.key = "ns/" + name;
  m.name = name;
  m.vm_key = "ns/web-1";
  m.created = at(created);
  m.phase = phase;
  m.source = "hv-a";
  m.target = std::move(target);
  return m;
}

HypervisorFacts hv(int64_t score = 0, int in = 2) {
  HypervisorFacts h;
  h.address = "10.0.0.1";
  h.score = score;
  h.max_inbound = in;
  return h;
}

// A dry run of web-1 (on hv-a) without a target; hv-b and hv-c fit.
DecideInput plan() {
  DecideInput in;
  in.self = mig("plan", 10, MigrationPhase::kPending);
  in.self.dry_run = true;
  in.vm = VmFacts{false, "hv-a", api::VirtualMachinePhase::kRunning, ""};
  in.hypervisors = {{"hv-a", hv()}, {"hv-b", hv(5)}, {"hv-c", hv(9)}};
  in.all = {in.self};
  return in;
}

TEST(DecidePlanTest, ChoosesTheBestTargetAndSaysWhy) {
  DecideInput in = plan();
  in.hypervisors["hv-d"] = hv(99);
  in.hypervisors["hv-d"].unfit = "insufficient memory";
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kPlan);
  EXPECT_EQ(d.target, "hv-c");
  EXPECT_THAT(d.message, HasSubstr("score 9; the first of 2 hypervisors that fit"));
  EXPECT_THAT(d.message, HasSubstr("next: hv-b ("));
  EXPECT_THAT(d.message, HasSubstr("rejected: hv-d: insufficient memory"));
}

// The plan's target and its reasons are rankTargets()'s, as for a real migration: the source's
// zone before the score, then the bandwidth measured from the source.
TEST(DecidePlanTest, TheTargetReasonIsTheRankingsReasons) {
  DecideInput in = plan();
  in.source_zone = "z1";
  in.hypervisors["hv-b"].zone = "z1";  // score 5, the source's zone
  in.hypervisors["hv-c"].zone = "z2";  // score 9
  Decision d = decide(in);
  ASSERT_EQ(d.action, Action::kPlan) << d.message;
  EXPECT_EQ(d.target, "hv-b");
  EXPECT_THAT(d.message, HasSubstr("same zone as the source (z1)"));
  EXPECT_THAT(d.message, HasSubstr("score 5"));
  EXPECT_THAT(d.message, HasSubstr("next: hv-c (other zone (z2, source in z1)"));
  EXPECT_THAT(d.message, Not(HasSubstr("scheduler's pick")));

  in.hypervisors["hv-c"].zone = "z1";
  in.hypervisors["hv-b"].bandwidth_from_source = 118'000'000;
  d = decide(in);
  EXPECT_EQ(d.target, "hv-b") << "measured beats a higher score";
  EXPECT_THAT(d.message, HasSubstr("measured 118.0 MB/s from the source, score 5"));
  EXPECT_EQ(decide(in).message, d.message) << "the same facts give the same words";
}

TEST(DecidePlanTest, AnExplicitTargetIsCheckedLikeAMigration) {
  DecideInput in = plan();
  in.requested_target = "hv-b";
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kPlan);
  EXPECT_EQ(d.target, "hv-b");
  EXPECT_EQ(d.message, "spec.targetHypervisor");
  in.hypervisors["hv-b"].cpu_incompatible = "lacks CPU features avx512f";
  d = decide(in);
  EXPECT_EQ(d.action, Action::kFail);
  EXPECT_EQ(d.reason, "TargetCPUIncompatible");
  in.requested_target = "hv-a";
  EXPECT_EQ(decide(in).reason, "SameHypervisor");
}

TEST(DecidePlanTest, NeverWaitsForALimit) {
  DecideInput in = plan();
  in.max_parallel = 1;
  in.hypervisors["hv-c"] = hv(9, /*in=*/0);  // no inbound slot at all
  MigrationFacts running = mig("other-vm-move", 1, MigrationPhase::kMigrating, "hv-c");
  running.vm_key = "ns/db-1";
  in.all.push_back(running);
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kPlan) << d.message;
  EXPECT_EQ(d.target, "hv-c");
}

TEST(DecidePlanTest, AnotherMigrationOfTheVmDoesNotMatter) {
  DecideInput in = plan();
  in.all.push_back(mig("real", 1, MigrationPhase::kMigrating, "hv-b"));
  in.vm->active_migration = "real";
  EXPECT_EQ(decide(in).action, Action::kPlan);
}

TEST(DecidePlanTest, APlanNeverCountsAgainstLimitsOrBlocksAMigration) {
  // An older plan of the same VM, Pending or Planning, with the cluster limit at 1.
  for (auto phase : {MigrationPhase::kPending, MigrationPhase::kPlanning}) {
    DecideInput in;
    in.self = mig("real", 20, MigrationPhase::kPending, "hv-b");
    in.requested_target = "hv-b";
    in.vm = VmFacts{false, "hv-a", api::VirtualMachinePhase::kRunning, ""};
    in.hypervisors = {{"hv-a", hv()}, {"hv-b", hv(0, 1)}};
    in.max_parallel = 1;
    MigrationFacts older = mig("plan", 1, phase, "hv-b");
    older.dry_run = true;
    in.all = {older, in.self};
    Decision d = decide(in);
    EXPECT_EQ(d.action, Action::kStart) << api::toString(phase) << ": " << d.message;
  }
}

TEST(DecidePlanTest, VmChecksStillApply) {
  DecideInput in = plan();
  in.vm->phase = api::VirtualMachinePhase::kStopped;
  EXPECT_EQ(decide(in).reason, "VMNotRunning");
  in.vm.reset();
  EXPECT_EQ(decide(in).reason, "VMNotFound");
  in = plan();
  in.vm->bound_to = "";
  EXPECT_EQ(decide(in).reason, "VMNotBound");
  in = plan();
  in.hypervisors = {{"hv-a", hv()}};
  EXPECT_EQ(decide(in).reason, "NoTarget");
}

TEST(DecidePlanTest, PlanningWaitsForTheMeasurementThenForecasts) {
  DecideInput in = plan();
  in.self.phase = MigrationPhase::kPlanning;
  in.source_timeout = 60s;
  in.source.silent_for = 20s;
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kNothing);
  EXPECT_EQ(d.recheck, 40s);
  in.measured = true;
  EXPECT_EQ(decide(in).action, Action::kForecast);
}

TEST(DecidePlanTest, ASilentSourceFailsThePlan) {
  DecideInput in = plan();
  in.self.phase = MigrationPhase::kPlanning;
  in.source_timeout = 60s;
  in.source.silent_for = 60s;
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kFail);
  EXPECT_EQ(d.reason, "SourceNotResponding");
  EXPECT_THAT(d.message, HasSubstr("did not measure"));
}

TEST(DecidePlanTest, CancelAndDeleteEndAPlan) {
  for (auto phase : {MigrationPhase::kPending, MigrationPhase::kPlanning}) {
    DecideInput in = plan();
    in.self.phase = phase;
    in.self.deleting = true;
    EXPECT_EQ(decide(in).action, Action::kCancel);
  }
  DecideInput in = plan();
  in.self.phase = MigrationPhase::kPlanned;
  EXPECT_EQ(decide(in).action, Action::kComplete);
  EXPECT_TRUE(api::isTerminal(MigrationPhase::kPlanned));
  EXPECT_FALSE(api::isTerminal(MigrationPhase::kPlanning));
  EXPECT_FALSE(holdsSlot(MigrationPhase::kPlanning));
}

}  // namespace
}  // namespace novacron::controller::migration
