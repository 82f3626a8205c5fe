// decideTargetCleanup(): when a deleted VMMigration's finalizer waits for its target node-daemon
// (controller/migration/target_cleanup.h; issue 18, fault suite seed 9031).
#include "controller/migration/target_cleanup.h"

#include <gtest/gtest.h>

namespace novacron::controller::migration {
namespace {

using api::MigrationPhase;

// A cold evacuation to hv-b that failed after hv-b prepared; hv-b is live and has not reported.
TargetCleanupFacts failedColdMove() {
  TargetCleanupFacts f;
  f.needs_preparation = true;
  f.target = "hv-b";
  f.recorded = MigrationPhase::kFailed;
  f.outcome = MigrationPhase::kFailed;
  f.target_exists = true;
  return f;
}

TEST(TargetCleanupTest, AFailedOrCancelledMigrationWaitsForALiveTargetsReport) {
  TargetCleanupFacts f = failedColdMove();
  EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kWait);
  f.cleaned_up = true;
  EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kDone);

  f = failedColdMove();
  f.recorded = f.outcome = MigrationPhase::kCancelled;
  EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kWait);
}

TEST(TargetCleanupTest, AnEndTheControllerDecidesWhileDeletingIsWaitedForToo) {
  // Deleted while Migrating, then failed by the controller (SourceNotResponding): the target acts
  // on the stored phase, so the controller writes it and waits.
  TargetCleanupFacts f = failedColdMove();
  f.recorded = MigrationPhase::kMigrating;
  EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kWait);
  f.recorded = MigrationPhase::kPreparing;
  EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kWait);
}

TEST(TargetCleanupTest, AFencedOrDeletedTargetIsNotWaitedForAndLeavesAReportedOrphan) {
  TargetCleanupFacts f = failedColdMove();
  f.target_fenced = true;
  EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kOrphaned);
  f = failedColdMove();
  f.target_exists = false;
  EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kOrphaned);
  f.cleaned_up = true;
  EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kDone) << "it reported before it went";
}

TEST(TargetCleanupTest, NothingCanBeOnATargetNothingIsWaitedFor) {
  TargetCleanupFacts f = failedColdMove();
  f.outcome = f.recorded = MigrationPhase::kSucceeded;
  EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kNotNeeded) << "the files are the VM's now";

  f = failedColdMove();
  f.outcome = std::nullopt;
  f.recorded = MigrationPhase::kMigrating;
  EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kNotNeeded) << "the source's move first";

  for (auto recorded : {MigrationPhase::kPending, MigrationPhase::kScheduling}) {
    f = failedColdMove();
    f.recorded = recorded;
    f.outcome = MigrationPhase::kCancelled;
    EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kNotNeeded)
        << "the target prepares only once it sees Migrating";
  }
  f = failedColdMove();
  f.recorded.reset();
  EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kNotNeeded);

  f = failedColdMove();
  f.target.clear();
  EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kNotNeeded) << "never labelled for a target";

  f = failedColdMove();
  f.needs_preparation = false;
  EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kNotNeeded)
      << "live over shared storage: the target prepares nothing and does not report";

  f = failedColdMove();
  f.dry_run = true;
  EXPECT_EQ(decideTargetCleanup(f), TargetCleanup::kNotNeeded);
}

}  // namespace
}  // namespace novacron::controller::migration
