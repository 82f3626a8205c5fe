// What a failed migrate call means, decided from the source domain (pure): a failure only once the
// guest is seen staying on the source; a success when the source shows the move completed.
#include "node-daemon/migration/failed_call.h"

#include <gtest/gtest.h>

namespace novacron::node::migration {
namespace {

virt::DomainInfo domain(virt::DomainState state) {
  virt::DomainInfo d;
  d.name = "ns_vm";
  d.state = state;
  d.active = state != virt::DomainState::kShutOff;
  return d;
}

FailedCallObservation seen(std::optional<virt::DomainInfo> source, bool job_running = false) {
  return FailedCallObservation{
      .libvirt_answered = true, .source = std::move(source), .job_running = job_running};
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

TEST(FailedCallTest, ASourcePausedByTheMigrationIsNotDecidedYet) {
  auto d = domain(virt::DomainState::kPaused);
  d.paused_reason = virt::PausedReason::kMigration;
  EXPECT_EQ(decideFailedCall(seen(d)), FailedCallVerdict::kWait);
  d.paused_reason = virt::PausedReason::kUser;
  EXPECT_EQ(decideFailedCall(seen(d)), FailedCallVerdict::kFailed)
      << "paused by someone else: the guest is still here";
}

TEST(FailedCallTest, NoDomainHereIsAFailureAsBefore) {
  EXPECT_EQ(decideFailedCall(seen(std::nullopt)), FailedCallVerdict::kFailed);
}

TEST(FailedCallTest, ASourceShutOffForAnotherReasonIsAFailure) {
  auto d = domain(virt::DomainState::kShutOff);
  d.shutoff_reason = virt::ShutoffReason::kDestroyed;
  EXPECT_EQ(decideFailedCall(seen(d)), FailedCallVerdict::kFailed);
}

}  // namespace
}  // namespace novacron::node::migration
