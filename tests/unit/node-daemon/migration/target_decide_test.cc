// The target's decisions for migrations that move disks, and the disk part of the source's libvirt
// request (node-daemon/migration/target_decide.h).
#include "node-daemon/migration/target_decide.h"

#include <gtest/gtest.h>

namespace novacron::node::migration {
namespace {

using api::CopyStorage;
using api::MigrationPhase;

TEST(TargetDecideTest, WhoWaitsForTheTarget) {
  api::VMMigrationSpec spec;
  EXPECT_TRUE(needsTargetPreparation(spec)) << "Live, copyStorage Auto";
  spec.options.copyStorage = CopyStorage::kNever;
  EXPECT_FALSE(needsTargetPreparation(spec)) << "Live over shared storage: no handshake";
  spec.mode = api::MigrationMode::kCold;
  EXPECT_TRUE(needsTargetPreparation(spec)) << "Cold always defines the VM on the target";

  api::VMMigration mig;
  EXPECT_FALSE(targetReady(mig));
  api::setCondition(mig.status.conditions,
                    api::Condition{.type = std::string(api::kConditionTargetPrepared),
                                   .status = api::ConditionStatus::kFalse,
                                   .reason = "CleanedUp"},
                    {});
  EXPECT_FALSE(targetReady(mig));
  mig.status.conditions.front().status = api::ConditionStatus::kTrue;
  EXPECT_TRUE(targetReady(mig));
  api::VMMigration never;
  never.spec.options.copyStorage = CopyStorage::kNever;
  EXPECT_TRUE(targetReady(never));
}

TEST(TargetDecideTest, CopyOnlyWhenTheFilesAreNotShared) {
  EXPECT_TRUE(storageCopyWanted(CopyStorage::kAuto, false, false));
  EXPECT_FALSE(storageCopyWanted(CopyStorage::kAuto, true, false)) << "--shared-vm-root";
  EXPECT_TRUE(storageCopyWanted(CopyStorage::kAlways, true, false));
  EXPECT_FALSE(storageCopyWanted(CopyStorage::kNever, false, false));
  for (auto c : {CopyStorage::kAuto, CopyStorage::kAlways, CopyStorage::kNever}) {
    EXPECT_FALSE(storageCopyWanted(c, false, true))
        << "the VM's folder is already here and not ours: the hosts share it, never copy over "
           "the disk the guest runs on";
  }
}

TEST(TargetDecideTest, EveryCase) {
  TargetObservation o;
  EXPECT_EQ(decideTarget(o), TargetAction::kNone) << "not ours";
  o.ours = true;
  o.phase = MigrationPhase::kScheduling;
  o.needs_preparation = true;
  EXPECT_EQ(decideTarget(o), TargetAction::kNone) << "before Migrating";
  o.phase = MigrationPhase::kMigrating;
  EXPECT_EQ(decideTarget(o), TargetAction::kReportShared);
  o.copy = true;
  EXPECT_EQ(decideTarget(o), TargetAction::kPrepare);
  o.cancel = true;
  EXPECT_EQ(decideTarget(o), TargetAction::kNone) << "cancelled: the source reports it";
  o.cancel = false;
  o.prepared = true;
  EXPECT_EQ(decideTarget(o), TargetAction::kNone) << "prepared once";
  o.needs_preparation = false;
  o.prepared = false;
  EXPECT_EQ(decideTarget(o), TargetAction::kNone) << "Live, Never: no handshake";

  o.needs_preparation = true;
  o.prepared = true;
  o.prepared_copy = true;
  for (auto p : {MigrationPhase::kFailed, MigrationPhase::kCancelled}) {
    o.phase = p;
    EXPECT_EQ(decideTarget(o), TargetAction::kCleanUp);
  }
  o.phase = MigrationPhase::kSucceeded;
  EXPECT_EQ(decideTarget(o), TargetAction::kNone) << "the guest runs on these files";
  o.phase = MigrationPhase::kFailed;
  o.prepared_copy = false;
  EXPECT_EQ(decideTarget(o), TargetAction::kCleanUp)
      << "shared storage: nothing of ours, but the target still reports CleanedUp once";
  o.prepared_copy = true;
  o.prepared = false;
  o.cleaned_up = true;
  EXPECT_EQ(decideTarget(o), TargetAction::kNone) << "cleaned up already (TargetPrepared=False)";
}

// Regression (issue 18, fault suite seed 9031): a cold evacuation failed after the target
// prepared, and the evacuation deleted the VMMigration one second later. The controller's
// finalizer now waits for the target's TargetPrepared=False/CleanedUp, so the target must report
// for every failed or cancelled migration it may have prepared for — with a marked folder, and
// also with nothing to remove (or the deletion would wait forever).
TEST(TargetDecideTest, AFailedMigrationIsAlwaysReportedCleanedUpOnceEvenWithNothingToRemove) {
  TargetObservation o;
  o.ours = true;
  o.needs_preparation = true;
  o.cancel = true;  // being deleted
  for (auto p : {MigrationPhase::kFailed, MigrationPhase::kCancelled}) {
    o.phase = p;
    o.marker_present = false;
    o.cleaned_up = false;
    EXPECT_EQ(decideTarget(o), TargetAction::kCleanUp) << "nothing here: report it";
    o.cleaned_up = true;
    EXPECT_EQ(decideTarget(o), TargetAction::kNone) << "reported once";
    o.marker_present = true;
    EXPECT_EQ(decideTarget(o), TargetAction::kCleanUp) << "a marked folder goes, report or not";
  }
  o.marker_present = false;
  o.cleaned_up = false;
  o.needs_preparation = false;
  o.phase = MigrationPhase::kFailed;
  EXPECT_EQ(decideTarget(o), TargetAction::kNone)
      << "live over shared storage: no handshake, the controller does not wait either";
  o.needs_preparation = true;
  o.phase = MigrationPhase::kSucceeded;
  EXPECT_EQ(decideTarget(o), TargetAction::kNone) << "the guest runs on these files";
}

// Regression (issue 18, fault suite seed 4038): the target made the VM's disks, but its
// TargetPrepared write failed because the controller failed the migration meanwhile (the source
// domain was gone). The status never said "prepared"; the folder stayed forever on a node the VM
// is not bound to. The marker on disk is the evidence that counts.
TEST(TargetDecideTest, AFolderMarkedForAFailedMigrationIsCleanedUpEvenIfTheStatusMissedIt) {
  TargetObservation o;
  o.ours = true;
  o.needs_preparation = true;
  o.prepared = false;  // the TargetPrepared write never landed
  o.marker_present = true;
  for (auto p : {MigrationPhase::kFailed, MigrationPhase::kCancelled}) {
    o.phase = p;
    EXPECT_EQ(decideTarget(o), TargetAction::kCleanUp);
  }
  o.phase = MigrationPhase::kSucceeded;
  EXPECT_EQ(decideTarget(o), TargetAction::kNone) << "the guest runs on these files";
  o.phase = MigrationPhase::kFailed;
  o.ours = false;
  EXPECT_EQ(decideTarget(o), TargetAction::kNone) << "another node's migration";
}

TEST(TargetDecideTest, RequestMovesDisksOnlyToAPreparedTarget) {
  virt::MigrateRequest r;
  r.copy_storage = true;
  applyTargetStorage(r, std::nullopt, "/a/vms", "/a/images");
  EXPECT_FALSE(r.copy_storage);
  EXPECT_TRUE(r.rewrite_paths.empty());

  api::MigrationTargetStorage shared{.copy = false, .vmRoot = "/b/vms", .imageRoot = "/b/img"};
  applyTargetStorage(r, shared, "/a/vms", "/a/images");
  EXPECT_FALSE(r.copy_storage);
  EXPECT_TRUE(r.rewrite_paths.empty()) << "shared storage: the same paths on both hosts";

  api::MigrationTargetStorage local{.copy = true, .vmRoot = "/b/vms", .imageRoot = "/a/images"};
  applyTargetStorage(r, local, "/a/vms", "/a/images");
  EXPECT_TRUE(r.copy_storage);
  ASSERT_EQ(r.rewrite_paths.size(), 1u);
  EXPECT_EQ(r.rewrite_paths[0], (virt::PathPrefix{"/a/vms", "/b/vms"}));

  local.vmRoot = "/a/vms";
  applyTargetStorage(r, local, "/a/vms", "/a/images");
  EXPECT_TRUE(r.copy_storage);
  EXPECT_TRUE(r.rewrite_paths.empty()) << "same roots: no destination XML";
}

}  // namespace
}  // namespace novacron::node::migration
