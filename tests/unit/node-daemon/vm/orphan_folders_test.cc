#include "node-daemon/vm/orphan_folders.h"

#include <gtest/gtest.h>

namespace novacron::node::vm {
namespace {

api::VirtualMachine vmBoundTo(const std::string& uid, std::optional<std::string> hypervisor) {
  api::VirtualMachine vm;
  vm.metadata.namespace_ = "default";
  vm.metadata.name = "web";
  vm.metadata.uid = uid;
  vm.status.hypervisor = std::move(hypervisor);
  return vm;
}

FolderFacts folderOf(std::optional<api::VirtualMachine> vm) {
  return FolderFacts{.node = "hv-1", .uid = "uid-1", .vm = std::move(vm)};
}

TEST(OrphanFoldersTest, TheFolderOfAVmBoundHereIsInUse) {
  EXPECT_EQ(decideFolder(folderOf(vmBoundTo("uid-1", "hv-1"))).verdict, FolderVerdict::kInUse);
}

TEST(OrphanFoldersTest, TheFolderOfADeletedVmIsAnOrphan) {
  FolderDecision d = decideFolder(folderOf(std::nullopt));
  EXPECT_EQ(d.verdict, FolderVerdict::kOrphan);
  EXPECT_NE(d.why.find("no longer exists"), std::string::npos) << d.why;
}

TEST(OrphanFoldersTest, TheFolderOfAnEarlierVmOfTheSameNameIsAnOrphan) {
  FolderDecision d = decideFolder(folderOf(vmBoundTo("uid-2", "hv-1")));
  EXPECT_EQ(d.verdict, FolderVerdict::kOrphan);
  EXPECT_NE(d.why.find("uid-1"), std::string::npos) << d.why;
}

TEST(OrphanFoldersTest, AVmThatFailedOverToAnotherNodeLeftAnOrphanHere) {
  FolderDecision d = decideFolder(folderOf(vmBoundTo("uid-1", "hv-2")));
  EXPECT_EQ(d.verdict, FolderVerdict::kOrphan);
  EXPECT_NE(d.why.find("hv-2"), std::string::npos) << d.why;
}

TEST(OrphanFoldersTest, AnUnboundVmOrAMovingOneIsLookedAtAgainLater) {
  EXPECT_EQ(decideFolder(folderOf(vmBoundTo("uid-1", std::nullopt))).verdict,
            FolderVerdict::kUndecided);
  api::VirtualMachine moving = vmBoundTo("uid-1", "hv-2");
  moving.status.activeMigration = "move-web";
  EXPECT_EQ(decideFolder(folderOf(moving)).verdict, FolderVerdict::kUndecided);
}

// A VM root is shared when the flag says so or another node that still exists marked it; a mark
// whose Hypervisor is gone is stale and ignored (it made the root shared forever, hiding every
// orphan); one that cannot be checked now counts as shared (nothing reported: the safe side).
TEST(RootSharingTest, OnlyMarksOfNodesThatStillExistShareTheRoot) {
  EXPECT_FALSE(decideRootSharing(false, {}).shared);
  EXPECT_TRUE(decideRootSharing(true, {}).shared);
  EXPECT_TRUE(decideRootSharing(false, {{"hv-2", MarkOwner::kExists}}).shared);
  EXPECT_TRUE(decideRootSharing(false, {{"hv-2", MarkOwner::kUnknown}}).shared);
  RootSharing stale = decideRootSharing(false, {{"old-hv", MarkOwner::kGone}});
  EXPECT_FALSE(stale.shared);
  EXPECT_EQ(stale.stale, std::vector<std::string>{"old-hv"});
  RootSharing mixed =
      decideRootSharing(false, {{"old-hv", MarkOwner::kGone}, {"hv-2", MarkOwner::kExists}});
  EXPECT_TRUE(mixed.shared);
  EXPECT_EQ(mixed.stale, std::vector<std::string>{"old-hv"});
}

}  // namespace
}  // namespace novacron::node::vm
