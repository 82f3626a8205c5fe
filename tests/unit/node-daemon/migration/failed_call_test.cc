// What a failed migrate call means, decided from the source domain (pure): a failure only once the
// guest is seen staying on the source; a success when the source shows the move completed.
#include "node-daemon/migration/failed_call.h"

#include <gtest/gtest.h>

#include "tests/mocks/test_driver.h"

namespace novacron::node::migration {
namespace {

virt::DomainInfo domain(virt::DomainState state) {
  return testing::domainInfo(state);
}

FailedCallObservation seen(std::optional<virt::DomainInfo> source, bool job_running = false) {
  return FailedCallObservation{
      .libvirt_answered = true, .source = std::move(source), .job_running = job_running};
}

// The source cannot tell (`o` has no target answer yet): the target's answer decides — running
// there: the move completed; a domain there that does not run: wait; nothing there: failed.
void expectTheTargetDecides(FailedCallObservation o) {
  EXPECT_EQ(decideFailedCall(o), FailedCallVerdict::kAskTarget);
  o.target = TargetGuest::kRunning;
  EXPECT_EQ(decideFailedCall(o), FailedCallVerdict::kMigrated) << "switched over, confirm lost";
  o.target = TargetGuest::kPresent;
  EXPECT_EQ(decideFailedCall(o), FailedCallVerdict::kWait)
      << "the incoming domain is still paused: libvirt's finish step may still resume it";
  o.target = TargetGuest::kAbsent;
  EXPECT_EQ(decideFailedCall(o), FailedCallVerdict::kFailed) << "runs nowhere: the VM stays here";
}

TEST(FailedCallTest, NoAnswerFromLibvirtTellsNothing) {
  EXPECT_EQ(decideFailedCall(FailedCallObservation{}), FailedCallVerdict::kWait);
}

TEST(FailedCallTest, ASourceShutOffAsMigratedMeansTheMoveCompleted) {
  auto d = domain(virt::DomainState::kShutOff);
  d.shutoff_reason = virt::ShutoffReason::kMigrated;
  EXPECT_EQ(decideFailedCall(seen(d)), FailedCallVerdict::kMigrated);
}

TEST(FailedCallTest, AGuestRunningOnTheSourceWithNoJobIsARealFailure) {
  EXPECT_EQ(decideFailedCall(seen(domain(virt::DomainState::kRunning))),
            FailedCallVerdict::kFailed);
}

TEST(FailedCallTest, AJobStillRunningMustEndFirst) {
  EXPECT_EQ(decideFailedCall(seen(domain(virt::DomainState::kRunning), /*job_running=*/true)),
            FailedCallVerdict::kWait);
}

TEST(FailedCallTest, ASourcePausedByTheMigrationIsForTheTargetToTell) {
  auto d = domain(virt::DomainState::kPaused);
  d.paused_reason = virt::PausedReason::kMigration;
  expectTheTargetDecides(seen(d));  // nothing there: resumed here
  d.paused_reason = virt::PausedReason::kUser;
  EXPECT_EQ(decideFailedCall(seen(d)), FailedCallVerdict::kFailed)
      << "paused by someone else: the guest is still here";
}

// A libvirtd restarted mid-migration reports a migrated source as shut off with reason unknown
// (the fault suite in depth): where the guest runs, only the target can tell.
TEST(FailedCallTest, ASourceShutOffForAnotherReasonIsForTheTargetToTell) {
  auto d = domain(virt::DomainState::kShutOff);
  d.shutoff_reason = virt::ShutoffReason::kUnknown;
  expectTheTargetDecides(seen(d));  // runs nowhere: started again here
}

TEST(FailedCallTest, NoDomainHereIsForTheTargetToTell) {
  expectTheTargetDecides(seen(std::nullopt));
}

// The switch to post-copy happened although the call asking for it failed: never a pre-copy
// verdict (a restart or a "success" would split the guest's memory), the post-copy recovery.
TEST(FailedCallTest, ASourceInPostCopyIsRecoveredAsPostCopy) {
  auto d = domain(virt::DomainState::kPaused);
  d.paused_reason = virt::PausedReason::kPostcopy;
  auto o = seen(d);
  o.target = TargetGuest::kRunning;  // even when the target already runs the guest
  EXPECT_EQ(decideFailedCall(o), FailedCallVerdict::kPostCopy);
  d.paused_reason = virt::PausedReason::kPostcopyFailed;
  EXPECT_EQ(decideFailedCall(seen(d)), FailedCallVerdict::kPostCopy);
}

}  // namespace
}  // namespace novacron::node::migration
