// decide(): every admission, limit, FIFO and phase case of the migration controller's policy.
#include "controller/migration/decide.h"

#include <functional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace novacron::controller::migration {
namespace {

using api::MigrationPhase;
using ::testing::HasSubstr;

api::Timestamp at(int seconds) {
  return api::Timestamp{std::chrono::seconds(1'800'000'000 + seconds)};
}

MigrationFacts mig(std::string name, std::string vm, int created, MigrationPhase phase,
                   std::string source = "hv-a", std::string target = "") {
  MigrationFacts m;
  m.key = "ns/" + name;
  m.name = name;
  m.vm_key = "ns/" + vm;
  m.created = at(created);
  m.phase = phase;
  m.source = std::move(source);
  m.target = std::move(target);
  return m;
}

HypervisorFacts hv(std::optional<std::string> address = "10.0.0.1", int in = 2, int out = 2,
                   int64_t score = 0) {
  HypervisorFacts h;
  h.address = std::move(address);
  h.max_inbound = in;
  h.max_outbound = out;
  h.score = score;
  return h;
}

// web-1 runs on hv-a; hv-b and hv-c fit; self is a Pending migration to hv-b.
DecideInput base() {
  DecideInput in;
  in.self = mig("m1", "web-1", 10, MigrationPhase::kPending, "", "hv-b");
  in.requested_target = "hv-b";
  in.vm = VmFacts{false, "hv-a", api::VirtualMachinePhase::kRunning, ""};
  in.hypervisors = {{"hv-a", hv()}, {"hv-b", hv()}, {"hv-c", hv()}};
  in.all = {in.self};
  in.max_parallel = 5;
  return in;
}

TEST(DecideTest, AdmitsAndStartsTowardsTheRequestedTarget) {
  Decision d = decide(base());
  EXPECT_EQ(d.action, Action::kStart);
  EXPECT_EQ(d.target, "hv-b");
  EXPECT_EQ(d.address, "10.0.0.1");
}

TEST(DecideTest, CancelOrDeletionBeforeMigratingCancels) {
  for (auto phase : {MigrationPhase::kPending, MigrationPhase::kScheduling}) {
    DecideInput in = base();
    in.self.phase = phase;
    in.self.cancel = true;
    EXPECT_EQ(decide(in).action, Action::kCancel);
    in.self.cancel = false;
    in.self.deleting = true;
    EXPECT_EQ(decide(in).action, Action::kCancel);
  }
}

struct FailCase {
  std::string name;
  std::function<void(DecideInput&)> mutate;
  std::string reason;
  std::string message;
};

class DecideFailTest : public ::testing::TestWithParam<FailCase> {};

TEST_P(DecideFailTest, FailsWithAClearReason) {
  DecideInput in = base();
  GetParam().mutate(in);
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kFail);
  EXPECT_EQ(d.reason, GetParam().reason);
  EXPECT_THAT(d.message, HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Admission, DecideFailTest,
    ::testing::Values(
        FailCase{"VmMissing", [](DecideInput& in) { in.vm.reset(); }, "VMNotFound",
                 "ns/web-1 not found"},
        FailCase{"VmDeleting", [](DecideInput& in) { in.vm->deleting = true; }, "VMNotFound",
                 "being deleted"},
        FailCase{"VmLockedByAnother", [](DecideInput& in) { in.vm->active_migration = "m0"; },
                 "AlreadyMigrating", "VMMigration m0"},
        FailCase{"OlderPendingOfSameVm",
                 [](DecideInput& in) {
                   in.all.push_back(mig("m0", "web-1", 5, MigrationPhase::kPending));
                 },
                 "AlreadyMigrating", "m0"},
        FailCase{"YoungerButRunningOfSameVm",
                 [](DecideInput& in) {
                   in.all.push_back(mig("m2", "web-1", 20, MigrationPhase::kMigrating));
                 },
                 "AlreadyMigrating", "m2"},
        FailCase{"Unbound", [](DecideInput& in) { in.vm->bound_to.clear(); }, "VMNotBound",
                 "not running on any hypervisor"},
        FailCase{"LiveNeedsRunning",
                 [](DecideInput& in) { in.vm->phase = api::VirtualMachinePhase::kStopped; },
                 "VMNotRunning", "Stopped"},
        FailCase{"TargetIsSource", [](DecideInput& in) { in.requested_target = "hv-a"; },
                 "SameHypervisor", "hv-a"},
        FailCase{"TargetMissing", [](DecideInput& in) { in.requested_target = "hv-z"; },
                 "TargetNotFound", "hv-z"},
        FailCase{"TargetNotReady",
                 [](DecideInput& in) { in.hypervisors["hv-b"].unfit = "not Ready"; },
                 "TargetUnschedulable", "not Ready"},
        FailCase{"TargetFull",
                 [](DecideInput& in) { in.hypervisors["hv-b"].unfit = "insufficient memory"; },
                 "TargetUnschedulable", "insufficient memory"},
        FailCase{"TargetWithoutAddress",
                 [](DecideInput& in) { in.hypervisors["hv-b"].address.reset(); },
                 "TargetAddressUnknown", "spec.migration.address"},
        FailCase{"SchedulerFindsNothing",
                 [](DecideInput& in) {
                   in.requested_target.reset();
                   in.hypervisors["hv-b"].unfit = "not Ready";
                   in.hypervisors["hv-c"].unfit = "insufficient cpu";
                 },
                 "NoTarget", "hv-b: not Ready; hv-c: insufficient cpu"},
        FailCase{"SchedulerFindsOnlyAddressless",
                 [](DecideInput& in) {
                   in.requested_target.reset();
                   in.hypervisors["hv-b"].address.reset();
                   in.hypervisors["hv-c"].address.reset();
                 },
                 "TargetAddressUnknown", "hv-b, hv-c"},
        FailCase{"TargetCpuIncompatible",
                 [](DecideInput& in) {
                   in.hypervisors["hv-b"].cpu_incompatible = "lacks CPU features avx512f";
                 },
                 "TargetCPUIncompatible", "hv-b cannot run the guest as it runs on hv-a: it lacks"},
        FailCase{"SchedulerFindsOnlyCpuIncompatible",
                 [](DecideInput& in) {
                   in.requested_target.reset();
                   in.hypervisors["hv-b"].cpu_incompatible = "lacks CPU features pku";
                   in.hypervisors["hv-c"].unfit = "not Ready";
                 },
                 "NoTarget", "hv-b: CPU lacks CPU features pku; hv-c: not Ready"}),
    [](const auto& test_info) { return test_info.param.name; });

// Failures decided on the VM as the cache showed it are confirmed live by the reconciler before a
// final Failed (a stale copy must not fail a migration); the others rest on other facts.
TEST(DecideTest, OnlyFailuresOnTheVmsOwnStateAreConfirmedLive) {
  const std::vector<std::pair<std::function<void(DecideInput&)>, bool>> cases = {
      {[](DecideInput& in) { in.vm.reset(); }, true},
      {[](DecideInput& in) { in.vm->deleting = true; }, true},
      {[](DecideInput& in) { in.vm->bound_to.clear(); }, true},
      {[](DecideInput& in) { in.vm->phase = api::VirtualMachinePhase::kStopped; }, true},
      {[](DecideInput& in) { in.vm->active_migration = "m0"; }, false},
      {[](DecideInput& in) { in.requested_target = "hv-z"; }, false},
      {[](DecideInput& in) { in.hypervisors["hv-b"].unfit = "insufficient memory"; }, false},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    DecideInput in = base();
    cases[i].first(in);
    const Decision d = decide(in);
    ASSERT_EQ(d.action, Action::kFail) << "case " << i;
    EXPECT_EQ(failsOnTheVmsState(d), cases[i].second) << "case " << i << ": " << d.reason;
  }
  const Decision admitted = decide(base());
  ASSERT_NE(admitted.action, Action::kFail);
  EXPECT_FALSE(failsOnTheVmsState(admitted));
}

TEST(DecideTest, ColdMigrationOfAStoppedVmIsAdmitted) {
  DecideInput in = base();
  in.mode = api::MigrationMode::kCold;
  in.vm->phase = api::VirtualMachinePhase::kStopped;
  EXPECT_EQ(decide(in).action, Action::kStart);
}

TEST(DecideTest, TerminalOrCancelledMigrationsOfTheSameVmDoNotBlock) {
  DecideInput in = base();
  in.all.push_back(mig("m0", "web-1", 5, MigrationPhase::kFailed));
  MigrationFacts cancelled = mig("m00", "web-1", 4, MigrationPhase::kPending);
  cancelled.cancel = true;
  in.all.push_back(cancelled);
  EXPECT_EQ(decide(in).action, Action::kStart);
}

TEST(DecideTest, SchedulerPicksTheBestScoreNeverTheSource) {
  DecideInput in = base();
  in.requested_target.reset();
  in.hypervisors["hv-a"] = hv("10.0.0.1", 2, 2, 100);  // best score, but the source
  in.hypervisors["hv-b"] = hv("10.0.0.2", 2, 2, 10);
  in.hypervisors["hv-c"] = hv("10.0.0.3", 2, 2, 20);
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kStart);
  EXPECT_EQ(d.target, "hv-c");
  EXPECT_EQ(d.address, "10.0.0.3");
  // Equal scores: the smallest name.
  in.hypervisors["hv-c"].score = 10;
  EXPECT_EQ(decide(in).target, "hv-b");
}

TEST(DecideTest, SchedulerSkipsTargetsWithoutAnInboundSlot) {
  DecideInput in = base();
  in.requested_target.reset();
  in.hypervisors["hv-c"].score = 50;
  in.all.push_back(mig("x1", "other-1", 1, MigrationPhase::kMigrating, "hv-z", "hv-c"));
  in.all.push_back(mig("x2", "other-2", 2, MigrationPhase::kMigrating, "hv-y", "hv-c"));
  EXPECT_EQ(decide(in).target, "hv-b");
  in.all.push_back(mig("x3", "other-3", 3, MigrationPhase::kMigrating, "hv-x", "hv-b"));
  in.all.push_back(mig("x4", "other-4", 4, MigrationPhase::kMigrating, "hv-w", "hv-b"));
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_EQ(d.reason, "WaitingForLimit");
  EXPECT_THAT(d.message, HasSubstr("inbound"));
}

TEST(DecideTest, ClusterLimitWaits) {
  DecideInput in = base();
  in.max_parallel = 2;
  in.all.push_back(mig("x1", "other-1", 1, MigrationPhase::kMigrating, "hv-z", "hv-y"));
  in.all.push_back(mig("x2", "other-2", 2, MigrationPhase::kFinalizing, "hv-y", "hv-z"));
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_THAT(d.message, HasSubstr("cluster limit: 2 of 2"));
  EXPECT_THAT(d.message, HasSubstr("migrations.maxParallel"));
  // Terminal ones hold no slot.
  in.all[1].phase = MigrationPhase::kSucceeded;
  EXPECT_EQ(decide(in).action, Action::kStart);
}

TEST(DecideTest, OutboundLimitWaits) {
  DecideInput in = base();
  in.hypervisors["hv-a"].max_outbound = 1;
  in.all.push_back(mig("x1", "other-1", 1, MigrationPhase::kScheduling, "hv-a", "hv-c"));
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_THAT(d.message, HasSubstr("outbound limit of hypervisor hv-a: 1 of 1"));
}

TEST(DecideTest, InboundLimitWaits) {
  DecideInput in = base();
  in.hypervisors["hv-b"].max_inbound = 1;
  in.all.push_back(mig("x1", "other-1", 1, MigrationPhase::kPreparing, "hv-c", "hv-b"));
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_THAT(d.message, HasSubstr("inbound limit of hypervisor hv-b: 1 of 1"));
  EXPECT_THAT(d.message, HasSubstr("spec.migration.maxInbound"));
}

TEST(DecideTest, OlderPendingMigrationsGoFirst) {
  DecideInput in = base();
  in.hypervisors["hv-b"].max_inbound = 1;
  // An older Pending migration to the same target takes the only slot: FIFO.
  in.all.push_back(mig("m0", "other-1", 5, MigrationPhase::kPending, "hv-c", "hv-b"));
  EXPECT_EQ(decide(in).action, Action::kWait);
  // A younger one does not.
  in.all.back().created = at(15);
  EXPECT_EQ(decide(in).action, Action::kStart);
  // Same creation time: the key decides.
  in.all.back().created = at(10);
  in.all.back().key = "ns/a-first";
  EXPECT_EQ(decide(in).action, Action::kWait);
}

TEST(DecideTest, AnOlderMigrationBlockedElsewhereDoesNotBlockThisOne) {
  DecideInput in = base();
  in.hypervisors["hv-c"].max_inbound = 1;
  in.all.push_back(mig("x1", "other-1", 1, MigrationPhase::kMigrating, "hv-z", "hv-c"));
  // m0 is older but waits for hv-c's inbound slot; it takes none of hv-b's or the cluster's.
  in.all.push_back(mig("m0", "other-2", 5, MigrationPhase::kPending, "hv-a", "hv-c"));
  in.max_parallel = 2;
  EXPECT_EQ(decide(in).action, Action::kStart);
}

TEST(DecideTest, SchedulingResumesWithTheRecordedTarget) {
  DecideInput in = base();
  in.self = mig("m1", "web-1", 10, MigrationPhase::kScheduling, "hv-a", "hv-c");
  in.vm->active_migration = "m1";
  // Limits are not checked again: the migration already holds its slot.
  in.max_parallel = 1;
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kStart);
  EXPECT_EQ(d.target, "hv-c");
  in.vm.reset();
  EXPECT_EQ(decide(in).reason, "VMNotFound");
}

TEST(DecideTest, SchedulerSkipsCpuIncompatibleTargets) {
  DecideInput in = base();
  in.requested_target.reset();
  in.hypervisors["hv-b"].score = 50;
  in.hypervisors["hv-b"].cpu_incompatible = "lacks CPU features avx2";
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kStart);
  EXPECT_EQ(d.target, "hv-c");
}

TEST(DecideTest, MigratingBelongsToTheNodeDaemonUnlessDeleted) {
  DecideInput in = base();
  in.self = mig("m1", "web-1", 10, MigrationPhase::kMigrating, "hv-a", "hv-b");
  EXPECT_EQ(decide(in).action, Action::kNothing);
  in.vm.reset();  // a deleted VM: the node-daemon reports the failure
  EXPECT_EQ(decide(in).action, Action::kNothing);
  in.self.deleting = true;
  EXPECT_EQ(decide(in).action, Action::kAbort);
  in.self.cancel = true;  // already asked
  EXPECT_EQ(decide(in).action, Action::kNothing);
}

using std::chrono::milliseconds;
using std::chrono::seconds;

DecideInput migrating(bool picked_up, bool heartbeat_fresh, seconds silent_for) {
  DecideInput in = base();
  in.self = mig("m1", "web-1", 10, MigrationPhase::kMigrating, "hv-a", "hv-b");
  in.vm->active_migration = "m1";
  in.source = SourceSilence{picked_up, heartbeat_fresh, silent_for};
  in.source_timeout = seconds(60);
  in.progress_timeout_seconds = 150;
  return in;
}

TEST(DecideTest, SilenceBoundDependsOnPickUpAndHeartbeat) {
  EXPECT_EQ(silenceBound(migrating(false, true, seconds(0))), seconds(60));
  EXPECT_EQ(silenceBound(migrating(true, false, seconds(0))), seconds(60));
  // Alive and migrating: its own NoProgress abort (progressTimeoutSeconds) comes first.
  EXPECT_EQ(silenceBound(migrating(true, true, seconds(0))), seconds(210));
}

TEST(DecideTest, ASourceThatNeverPicksUpIsAskedToAbortThenFails) {
  // Within the bound: nothing to do, but look again when it runs out.
  Decision d = decide(migrating(false, true, seconds(20)));
  EXPECT_EQ(d.action, Action::kNothing);
  EXPECT_EQ(d.recheck, seconds(40));
  // At the bound: ask the source to abort (spec.cancel), so a late pick-up never starts.
  d = decide(migrating(false, true, seconds(60)));
  EXPECT_EQ(d.action, Action::kAbort);
  EXPECT_EQ(d.reason, "SourceNotResponding");
  EXPECT_THAT(d.message, HasSubstr("hv-a"));
  EXPECT_THAT(d.message, HasSubstr("never started"));
  EXPECT_EQ(d.recheck, seconds(60));
  // Asked, still silent: wait one more sourceTimeout for the answer...
  DecideInput asked = migrating(false, true, seconds(90));
  asked.self.cancel = true;
  d = decide(asked);
  EXPECT_EQ(d.action, Action::kNothing);
  EXPECT_EQ(d.recheck, seconds(30));
  // ...then fail; the VM stays bound to the source.
  asked.source.silent_for = seconds(120);
  d = decide(asked);
  EXPECT_EQ(d.action, Action::kFail);
  EXPECT_EQ(d.reason, "SourceNotResponding");
  EXPECT_THAT(d.message, HasSubstr("stays bound to hv-a"));
}

TEST(DecideTest, ASourceWithAStaleHeartbeatTimesOutWithoutWaitingForItsProgressTimeout) {
  Decision d = decide(migrating(true, false, seconds(60)));
  EXPECT_EQ(d.action, Action::kAbort);
  EXPECT_THAT(d.message, HasSubstr("stopped heartbeating"));
  // The same silence from a source that still heartbeats is its own NoProgress business.
  d = decide(migrating(true, true, seconds(60)));
  EXPECT_EQ(d.action, Action::kNothing);
  EXPECT_EQ(d.recheck, seconds(150));
  d = decide(migrating(true, true, seconds(210)));
  EXPECT_EQ(d.action, Action::kAbort);
  EXPECT_THAT(d.message, HasSubstr("stopped reporting progress"));
}

// A live source (heartbeating) that started the job is asked to abort, but never failed for its
// silence: only it can tell where the guest is, and failing would unlock the VM on the source
// while the guest may run on the target (the fault suite in depth saw it run twice so).
// `past` has passed a bound long ago, with a live source that started the job: asked to abort,
// then waited for (recheck every sourceTimeout) but never failed, until its heartbeat stops. The
// wait is visible (WaitForSource, not a silent Nothing), with a message naming the source that
// stays the same while the wait lasts (the reconciler writes it into a condition).
void expectAskedThenWaitedForUntilItsHeartbeatStops(DecideInput past, const std::string& reason) {
  Decision d = decide(past);
  EXPECT_EQ(d.action, Action::kAbort);
  EXPECT_EQ(d.reason, reason);
  past.self.cancel = true;
  d = decide(past);
  EXPECT_EQ(d.action, Action::kWaitForSource);
  EXPECT_EQ(d.reason, reason);
  EXPECT_THAT(d.message, HasSubstr("hypervisor hv-a"));
  EXPECT_THAT(d.message, HasSubstr("has not answered"));
  EXPECT_EQ(d.recheck, seconds(60));
  DecideInput later = past;  // an hour on, the same wait: the same words
  later.source.silent_for += std::chrono::hours(1);
  if (later.running_for) {
    *later.running_for += std::chrono::hours(1);
  }
  EXPECT_EQ(decide(later), d);
  past.source.heartbeat_fresh = false;  // its node stops heartbeating: failed as before
  d = decide(past);
  EXPECT_EQ(d.action, Action::kFail);
  EXPECT_EQ(d.reason, reason);
}

TEST(DecideTest, ALiveSourceThatStartedTheJobIsNeverFailedForItsSilence) {
  expectAskedThenWaitedForUntilItsHeartbeatStops(
      migrating(/*picked_up=*/true, /*heartbeat_fresh=*/true, seconds(600)), "SourceNotResponding");
}

TEST(DecideTest, ADeletedMigrationWithASilentSourceEndsFailed) {
  DecideInput in = migrating(true, false, seconds(5));
  in.self.deleting = true;
  EXPECT_EQ(decide(in).action, Action::kAbort);  // first the abort request
  in.self.cancel = true;
  EXPECT_EQ(decide(in).action, Action::kNothing);
  in.source.silent_for = seconds(120);
  EXPECT_EQ(decide(in).action, Action::kFail);  // then the finalizer can go
}

// A Cold migration: bounded as a whole by coldTimeout, progress or not (decide.h).
DecideInput coldMigrating(seconds running_for) {
  DecideInput in = migrating(/*picked_up=*/true, /*heartbeat_fresh=*/true, seconds(5));
  in.mode = api::MigrationMode::kCold;
  in.cold_timeout = seconds(600);
  in.running_for = running_for;
  return in;
}

TEST(DecideTest, AColdMigrationPastItsTimeoutIsAbortedThenFails) {
  // A source that keeps reporting progress: within the bound, look again when it runs out (or
  // when the silence bound does, whichever comes first).
  Decision d = decide(coldMigrating(seconds(100)));
  EXPECT_EQ(d.action, Action::kNothing);
  EXPECT_EQ(d.recheck, seconds(205)) << "the silence bound (210 s - 5 s) comes first";
  d = decide(coldMigrating(seconds(500)));
  EXPECT_EQ(d.action, Action::kNothing);
  EXPECT_EQ(d.recheck, seconds(100)) << "the cold bound comes first";
  // At the bound: ask the source to abort, with the reason (it reports the abort as Failed).
  d = decide(coldMigrating(seconds(600)));
  EXPECT_EQ(d.action, Action::kAbort);
  EXPECT_EQ(d.reason, "ColdMigrationTimeout");
  EXPECT_THAT(d.message, HasSubstr("has run for 600 s, past migrations.coldTimeout (600 s)"));
  EXPECT_THAT(d.message, HasSubstr("the VM stays on hv-a"));
  EXPECT_EQ(d.recheck, seconds(60));
  // Asked: wait one sourceTimeout for the answer, then fail with the reason (a source whose
  // heartbeat stopped: a live one that started the job is waited for, see below).
  DecideInput asked = coldMigrating(seconds(630));
  asked.self.cancel = true;
  d = decide(asked);
  EXPECT_EQ(d.action, Action::kNothing);
  EXPECT_EQ(d.recheck, seconds(30));
  asked.running_for = seconds(660);
  asked.source.heartbeat_fresh = false;
  asked.source.silent_for = seconds(5);
  d = decide(asked);
  EXPECT_EQ(d.action, Action::kFail);
  EXPECT_EQ(d.reason, "ColdMigrationTimeout");
  EXPECT_THAT(d.message, HasSubstr("did not answer the abort request"));
  EXPECT_THAT(d.message, HasSubstr("stays bound to hv-a"));
}

// coldTimeout obeys the same rule as silence: a live source (heartbeating) that started the job
// is asked to abort but never failed, or the VM would be unlocked on the source while the guest
// may already run on the target (it could then run twice). It reports the abort itself.
TEST(DecideTest, AColdTimeoutNeverFailsALiveSourceThatStartedTheJob) {
  expectAskedThenWaitedForUntilItsHeartbeatStops(coldMigrating(seconds(100'000)),
                                                 "ColdMigrationTimeout");
  DecideInput unstarted = coldMigrating(seconds(100'000));
  unstarted.self.cancel = true;
  unstarted.source.picked_up = false;  // never started: nothing can be on the target
  EXPECT_EQ(decide(unstarted).action, Action::kFail);
}

TEST(DecideTest, OnlyColdMigrationsHaveTheWholeMoveBound) {
  DecideInput live = coldMigrating(seconds(100'000));
  live.mode = api::MigrationMode::kLive;  // bounded on the node (NoProgress, CompletionTimeout)
  EXPECT_EQ(decide(live).action, Action::kNothing);
  DecideInput unstarted = coldMigrating(seconds(0));
  unstarted.running_for.reset();  // no status.startTime yet
  EXPECT_EQ(decide(unstarted).action, Action::kNothing);
  DecideInput deleted = coldMigrating(seconds(100'000));
  deleted.self.deleting = true;  // a deletion's abort is a cancel
  Decision d = decide(deleted);
  EXPECT_EQ(d.action, Action::kAbort);
  EXPECT_EQ(d.reason, "Cancelled");
}

TEST(DecideTest, FinalizingHandsOver) {
  DecideInput in = base();
  in.self = mig("m1", "web-1", 10, MigrationPhase::kFinalizing, "hv-a", "hv-b");
  EXPECT_EQ(decide(in).action, Action::kFinalize);
  in.self.deleting = true;  // too late to cancel: the guest runs on the target
  EXPECT_EQ(decide(in).action, Action::kFinalize);
  in.vm.reset();
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kFail);
  EXPECT_EQ(d.reason, "VMNotFound");
}

TEST(DecideTest, TerminalPhasesOnlyComplete) {
  for (auto phase :
       {MigrationPhase::kSucceeded, MigrationPhase::kFailed, MigrationPhase::kCancelled}) {
    DecideInput in = base();
    in.self.phase = phase;
    in.self.deleting = true;
    EXPECT_EQ(decide(in).action, Action::kComplete) << api::toString(phase);
  }
}

// --- issue 17: evacuation priority and network-aware targets ---

TEST(DecideTest, AUsersPendingMigrationGoesBeforeAnOlderEvacuationOne) {
  DecideInput in = base();  // self: a user's migration to hv-b, created at 10
  in.hypervisors["hv-b"].max_inbound = 1;
  MigrationFacts evacuation =
      mig("evac-hv-c-other-1-1", "other-1", 5, MigrationPhase::kPending, "hv-c", "hv-b");
  evacuation.low_priority = true;
  in.all.push_back(evacuation);
  EXPECT_EQ(decide(in).action, Action::kStart);  // the user's one takes the slot

  // Seen from the evacuation: the younger user's migration is first in line.
  DecideInput ev = in;
  ev.self = evacuation;
  ev.requested_target = "hv-b";
  ev.vm = VmFacts{false, "hv-c", api::VirtualMachinePhase::kRunning, ""};
  Decision d = decide(ev);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_THAT(d.message, HasSubstr("inbound limit of hypervisor hv-b"));

  // Among evacuation migrations, FIFO as before.
  EXPECT_TRUE(queueBefore(in.self, evacuation));
  MigrationFacts older = evacuation;
  older.created = at(1);
  older.key = "ns/older";
  EXPECT_TRUE(queueBefore(older, evacuation));
}

TEST(DecideTest, WithoutATargetTheSourcesZoneThenTheMeasuredBandwidthWin) {
  DecideInput in = base();
  in.requested_target.reset();
  in.self.target.clear();
  in.hypervisors["hv-b"].score = 100;  // the spread alone would pick hv-b
  in.hypervisors["hv-c"].zone = "z1";
  in.source_zone = "z1";
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::kStart);
  EXPECT_EQ(d.target, "hv-c");
  EXPECT_THAT(d.message, HasSubstr("same zone as the source (z1)"));

  in.source_zone.clear();
  in.hypervisors["hv-c"].bandwidth_from_source = 400'000'000;
  d = decide(in);
  EXPECT_EQ(d.target, "hv-c");
  EXPECT_THAT(d.message, HasSubstr("measured 400.0 MB/s"));

  in.hypervisors["hv-c"].bandwidth_from_source.reset();
  EXPECT_EQ(decide(in).target, "hv-b");
}

}  // namespace
}  // namespace novacron::controller::migration
