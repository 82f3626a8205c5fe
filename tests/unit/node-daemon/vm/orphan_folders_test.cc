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

}  // namespace
}  // namespace novacron::node::vm
