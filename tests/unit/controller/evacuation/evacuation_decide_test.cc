// decideEvacuation(): every evictionStrategy, retries, cancellation, completion and the clean stop
// when maintenance is cleared.
#include "controller/evacuation/evacuation_decide.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace novacron::controller::evacuation {
namespace {

using api::ConditionStatus;
using api::EvictionStrategy;
using api::MigrationMode;
using api::MigrationPhase;
using api::VirtualMachinePhase;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

api::Timestamp at(int seconds) {
  return api::Timestamp{std::chrono::seconds(1'800'000'000 + seconds)};
}

VmFacts vm(std::string name, EvictionStrategy strategy,
           VirtualMachinePhase phase = VirtualMachinePhase::kRunning) {
  VmFacts v;
  v.ns = "ns";
  v.name = std::move(name);
  v.uid = "uid-" + v.name;
  v.strategy = strategy;
  v.phase = phase;
  return v;
}

MigrationFacts evac(const std::string& vm_name, int attempt, MigrationPhase phase,
                    MigrationMode mode = MigrationMode::kLive) {
  MigrationFacts m;
  m.ns = "ns";
  m.name = evacuationName("hv-a", vm_name, attempt);
  m.vm_name = vm_name;
  m.evacuating = "hv-a";
  m.attempt = attempt;
  m.mode = mode;
  m.phase = phase;
  if (api::isTerminal(phase)) {
    m.completed = at(100);
  }
  return m;
}

EvacuationInput input(std::vector<VmFacts> vms, std::vector<MigrationFacts> migrations = {}) {
  EvacuationInput in;
  in.hypervisor = "hv-a";
  in.maintenance = true;
  in.vms = std::move(vms);
  in.migrations = std::move(migrations);
  in.now = at(100);
  return in;
}

TEST(EvacuationDecideTest, LiveMigrateCreatesOneLiveMigrationPerVmWithADeterministicName) {
  const auto plan = decideEvacuation(input(
      {vm("web-1", EvictionStrategy::kLiveMigrate), vm("web-2", EvictionStrategy::kLiveMigrate)}));
  ASSERT_THAT(plan.create, SizeIs(2));
  EXPECT_EQ(plan.create[0].name, "evac-hv-a-web-1-1");
  EXPECT_EQ(plan.create[0].vm_name, "web-1");
  EXPECT_EQ(plan.create[0].vm_uid, "uid-web-1");
  EXPECT_EQ(plan.create[0].mode, MigrationMode::kLive);
  ASSERT_TRUE(plan.status);
  EXPECT_EQ(plan.status->total, 2);
  EXPECT_EQ(plan.status->pending, 2);
  ASSERT_TRUE(plan.evacuating);
  EXPECT_EQ(plan.evacuating->status, ConditionStatus::kTrue);
  EXPECT_EQ(plan.evacuating->reason, "InProgress");
  EXPECT_EQ(plan.evacuated->status, ConditionStatus::kFalse);
}

TEST(EvacuationDecideTest, AnExistingAttemptIsNeverCreatedAgain) {
  const auto plan = decideEvacuation(input({vm("web-1", EvictionStrategy::kLiveMigrate)},
                                           {evac("web-1", 1, MigrationPhase::kPending)}));
  EXPECT_THAT(plan.create, IsEmpty());
  EXPECT_EQ(plan.status->pending, 1);
  EXPECT_GT(plan.recheck.count(), 0);
}

TEST(EvacuationDecideTest, ModesFollowTheStrategyAndTheVmsState) {
  struct Case {
    EvictionStrategy strategy;
    VirtualMachinePhase phase;
    bool migratable;
    std::optional<MigrationMode> mode;  // nullopt: nothing created
  };
  const std::vector<Case> cases = {
      {EvictionStrategy::kLiveMigrate, VirtualMachinePhase::kRunning, true, MigrationMode::kLive},
      {EvictionStrategy::kLiveMigrate, VirtualMachinePhase::kStopped, false, MigrationMode::kCold},
      {EvictionStrategy::kLiveMigrate, VirtualMachinePhase::kRunning, false, std::nullopt},
      {EvictionStrategy::kLiveMigrate, VirtualMachinePhase::kStarting, false, std::nullopt},
      {EvictionStrategy::kLiveMigrateIfPossible, VirtualMachinePhase::kRunning, true,
       MigrationMode::kLive},
      {EvictionStrategy::kLiveMigrateIfPossible, VirtualMachinePhase::kRunning, false,
       MigrationMode::kCold},
      {EvictionStrategy::kLiveMigrateIfPossible, VirtualMachinePhase::kPaused, false,
       MigrationMode::kCold},
      {EvictionStrategy::kShutdown, VirtualMachinePhase::kRunning, true, MigrationMode::kCold},
      {EvictionStrategy::kNone, VirtualMachinePhase::kRunning, true, std::nullopt},
  };
  for (const auto& c : cases) {
    VmFacts v = vm("v", c.strategy, c.phase);
    v.migratable = c.migratable;
    const auto plan = decideEvacuation(input({v}));
    const std::string what =
        std::string(api::toString(c.strategy)) + " " + std::string(api::toString(c.phase));
    if (c.mode) {
      ASSERT_THAT(plan.create, SizeIs(1)) << what;
      EXPECT_EQ(plan.create[0].mode, *c.mode) << what;
    } else {
      EXPECT_THAT(plan.create, IsEmpty()) << what;
    }
  }
}

TEST(EvacuationDecideTest, ALiveMigrateVmThatCannotMoveLiveIsBlocked) {
  VmFacts v = vm("db", EvictionStrategy::kLiveMigrate);
  v.migratable = false;
  v.not_migratable_why = "cpu.model host-passthrough ties the guest to this host's exact CPU";
  const auto plan = decideEvacuation(input({v}));
  ASSERT_THAT(plan.status->blocked, SizeIs(1));
  EXPECT_EQ(plan.status->blocked[0].vm, "ns/db");
  EXPECT_EQ(plan.status->blocked[0].reason, "NotLiveMigratable");
  EXPECT_EQ(plan.evacuating->reason, "Blocked");
  EXPECT_EQ(plan.evacuating->message, "1 VM cannot move: not live-migratable");
}

TEST(EvacuationDecideTest, NoneStopsTheVmAndLeavesIt) {
  const auto running = decideEvacuation(input({vm("batch", EvictionStrategy::kNone)}));
  ASSERT_THAT(running.vm_changes, SizeIs(1));
  EXPECT_EQ(running.vm_changes[0].kind, VmChange::Kind::kHalt);
  EXPECT_THAT(running.create, IsEmpty());
  EXPECT_EQ(running.status->pending, 1);

  VmFacts halted = vm("batch", EvictionStrategy::kNone, VirtualMachinePhase::kStopping);
  halted.run_strategy = api::RunStrategy::kHalted;
  halted.stopped_by_evacuation = "Always";
  EXPECT_THAT(decideEvacuation(input({halted})).vm_changes, IsEmpty());
  EXPECT_EQ(decideEvacuation(input({halted})).status->pending, 1);

  halted.phase = VirtualMachinePhase::kStopped;
  const auto stopped = decideEvacuation(input({halted}));
  EXPECT_EQ(stopped.status->stopped, 1);
  EXPECT_EQ(stopped.evacuated->status, ConditionStatus::kTrue);
  EXPECT_EQ(stopped.evacuating->status, ConditionStatus::kFalse);
}

TEST(EvacuationDecideTest, AVmStartedAgainByItsOwnerIsNotStoppedTwice) {
  VmFacts v = vm("batch", EvictionStrategy::kNone);
  v.stopped_by_evacuation = "Always";  // stopped once, then runStrategy set back by a user
  const auto plan = decideEvacuation(input({v}));
  EXPECT_THAT(plan.vm_changes, IsEmpty());
  ASSERT_THAT(plan.status->blocked, SizeIs(1));
  EXPECT_EQ(plan.status->blocked[0].reason, "Restarted");
}

TEST(EvacuationDecideTest, EvacuatedWhenEveryVmLeftOrWasStopped) {
  VmFacts stopped = vm("batch", EvictionStrategy::kNone, VirtualMachinePhase::kStopped);
  stopped.run_strategy = api::RunStrategy::kHalted;
  // web-1 and web-2 left (no longer bound here) through Succeeded evacuation migrations.
  const auto plan =
      decideEvacuation(input({stopped}, {evac("web-1", 1, MigrationPhase::kSucceeded),
                                         evac("web-2", 1, MigrationPhase::kFailed),
                                         evac("web-2", 2, MigrationPhase::kSucceeded)}));
  EXPECT_EQ(plan.status->total, 3);
  EXPECT_EQ(plan.status->migrated, 2);
  EXPECT_EQ(plan.status->stopped, 1);
  EXPECT_EQ(plan.status->pending, 0);
  EXPECT_EQ(plan.evacuated->status, ConditionStatus::kTrue);
  EXPECT_EQ(plan.evacuated->reason, "Evacuated");
  EXPECT_THAT(plan.evacuated->message, HasSubstr("2 migrated, 1 stopped"));
  EXPECT_EQ(plan.recheck.count(), 0);
}

TEST(EvacuationDecideTest, AFailedAttemptBlocksUntilItsBackOffThenRetries) {
  MigrationFacts failed = evac("web-1", 1, MigrationPhase::kFailed);
  failed.failure_reason = "NoTarget";
  failed.failure_message = "no hypervisor other than hv-a fits the VM";
  EvacuationInput in = input(
      {vm("web-1", EvictionStrategy::kLiveMigrate), vm("web-2", EvictionStrategy::kLiveMigrate),
       vm("web-3", EvictionStrategy::kLiveMigrate)},
      {failed});
  MigrationFacts f2 = failed;
  f2.name = evacuationName("hv-a", "web-2", 1);
  f2.vm_name = "web-2";
  MigrationFacts f3 = failed;
  f3.name = evacuationName("hv-a", "web-3", 1);
  f3.vm_name = "web-3";
  in.migrations.push_back(f2);
  in.migrations.push_back(f3);
  in.now = at(110);
  auto plan = decideEvacuation(in);
  EXPECT_THAT(plan.create, IsEmpty());
  ASSERT_THAT(plan.status->blocked, SizeIs(3));
  EXPECT_EQ(plan.status->blocked[0].reason, "InsufficientCapacity");
  EXPECT_EQ(plan.evacuating->message, "3 VMs cannot move: insufficient capacity");
  EXPECT_EQ(plan.recheck, std::chrono::seconds(21));  // 30 s after the failure, + 1
  // The status does not change while it waits (no status write per reconcile).
  EvacuationInput later = in;
  later.now = at(125);
  EXPECT_EQ(decideEvacuation(later).status, plan.status);
  EXPECT_EQ(decideEvacuation(later).evacuating, plan.evacuating);

  in.now = at(130);
  plan = decideEvacuation(in);
  ASSERT_THAT(plan.create, SizeIs(3));
  EXPECT_EQ(plan.create[0].name, "evac-hv-a-web-1-2");
  EXPECT_THAT(plan.status->blocked, IsEmpty());
}

TEST(EvacuationDecideTest, IfPossibleFallsBackToColdAfterAFailedLiveAttempt) {
  MigrationFacts failed = evac("web-1", 1, MigrationPhase::kFailed);
  failed.failure_reason = "MigrationFailed";
  EvacuationInput in = input({vm("web-1", EvictionStrategy::kLiveMigrateIfPossible)}, {failed});
  in.now = at(200);
  const auto plan = decideEvacuation(in);
  ASSERT_THAT(plan.create, SizeIs(1));
  EXPECT_EQ(plan.create[0].mode, MigrationMode::kCold);
  EXPECT_THAT(plan.create[0].why, HasSubstr("live attempt failed"));
}

TEST(EvacuationDecideTest, ACancelledEvacuationLeavesTheVmWhereItRuns) {
  EvacuationInput in = input({vm("web-1", EvictionStrategy::kLiveMigrate)},
                             {evac("web-1", 1, MigrationPhase::kCancelled)});
  in.now = at(5000);
  const auto plan = decideEvacuation(in);
  EXPECT_THAT(plan.create, IsEmpty());
  ASSERT_THAT(plan.status->blocked, SizeIs(1));
  EXPECT_EQ(plan.status->blocked[0].reason, "Cancelled");
}

TEST(EvacuationDecideTest, AUsersMigrationOfTheVmIsWaitedFor) {
  MigrationFacts user;
  user.ns = "ns";
  user.name = "move-web-1";
  user.vm_name = "web-1";
  user.phase = MigrationPhase::kMigrating;
  const auto plan = decideEvacuation(input({vm("web-1", EvictionStrategy::kLiveMigrate)}, {user}));
  EXPECT_THAT(plan.create, IsEmpty());
  EXPECT_EQ(plan.status->pending, 1);
}

TEST(EvacuationDecideTest, ClearingMaintenanceCancelsWhatHasNotStartedAndRestoresStoppedVms) {
  VmFacts stopped = vm("batch", EvictionStrategy::kNone, VirtualMachinePhase::kStopped);
  stopped.run_strategy = api::RunStrategy::kHalted;
  stopped.stopped_by_evacuation = "RerunOnFailure";
  EvacuationInput in = input(
      {stopped, vm("web-1", EvictionStrategy::kLiveMigrate)},
      {evac("web-1", 1, MigrationPhase::kPending), evac("web-2", 1, MigrationPhase::kMigrating),
       evac("web-3", 1, MigrationPhase::kSucceeded)});
  in.maintenance = false;
  in.had_conditions = true;
  const auto plan = decideEvacuation(in);
  EXPECT_THAT(plan.create, IsEmpty());
  EXPECT_FALSE(plan.status);
  ASSERT_THAT(plan.remove, SizeIs(2));  // the Pending one and the Succeeded record
  EXPECT_EQ(plan.remove[0].name, "evac-hv-a-web-1-1");
  EXPECT_EQ(plan.remove[1].name, "evac-hv-a-web-3-1");
  ASSERT_THAT(plan.vm_changes, SizeIs(1));
  EXPECT_EQ(plan.vm_changes[0].kind, VmChange::Kind::kRestore);
  EXPECT_EQ(plan.vm_changes[0].restore_to, api::RunStrategy::kRerunOnFailure);
  ASSERT_TRUE(plan.evacuating);
  EXPECT_EQ(plan.evacuating->reason, "MaintenanceCleared");
  EXPECT_THAT(plan.evacuating->message, HasSubstr("1 evacuation migration"));
  EXPECT_GT(plan.recheck.count(), 0);  // the moving one finishes, then its record goes
}

TEST(EvacuationDecideTest, AHypervisorNeverInMaintenanceGetsNoConditions) {
  EvacuationInput in = input({vm("web-1", EvictionStrategy::kLiveMigrate)});
  in.maintenance = false;
  const auto plan = decideEvacuation(in);
  EXPECT_FALSE(plan.evacuating);
  EXPECT_FALSE(plan.evacuated);
  EXPECT_FALSE(plan.status);
  EXPECT_THAT(plan.create, IsEmpty());
}

// Regression (fault suite seeds 9013 and 9020): a VM the evacuation stopped whose host was then
// fenced was unbound by failover; no evacuation saw it any more and it stayed Halted for good.
TEST(EvacuationDecideTest, AnUnboundVmStoppedByAnEvacuationGetsItsRunStrategyBack) {
  const std::optional<std::string> stopped = "Always";
  EXPECT_EQ(runStrategyToRestoreWhenUnbound(stopped, false, false), api::RunStrategy::kAlways);
  EXPECT_EQ(runStrategyToRestoreWhenUnbound(std::string("Manual"), false, false),
            api::RunStrategy::kManual);
  EXPECT_EQ(runStrategyToRestoreWhenUnbound(std::string("bogus"), false, false),
            api::RunStrategy::kAlways);
  // Bound: its hypervisor's evacuation restores it when maintenance is cleared.
  EXPECT_EQ(runStrategyToRestoreWhenUnbound(stopped, true, false), std::nullopt);
  EXPECT_EQ(runStrategyToRestoreWhenUnbound(stopped, false, true), std::nullopt);
  EXPECT_EQ(runStrategyToRestoreWhenUnbound(std::nullopt, false, false), std::nullopt);
}

TEST(EvacuationDecideTest, NamesAreDnsSubdomainsAndCarryTheirAttempt) {
  EXPECT_EQ(attemptOf(evacuationName("hv-a", "web", 12)), 12);
  EXPECT_EQ(attemptOf("move-web"), 0);
  const std::string long_name = evacuationName(std::string(63, 'h'), std::string(240, 'v'), 3);
  EXPECT_LE(long_name.size(), 253u);
  EXPECT_EQ(attemptOf(long_name), 3);
  EXPECT_NE(long_name, evacuationName(std::string(63, 'h'), std::string(239, 'v'), 3));
  EXPECT_EQ(retryDelay(2), std::chrono::seconds(30));
  EXPECT_EQ(retryDelay(3), std::chrono::seconds(60));
  EXPECT_EQ(retryDelay(40), std::chrono::seconds(600));
}

}  // namespace
}  // namespace novacron::controller::evacuation
