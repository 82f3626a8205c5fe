// DiskManager with the real disk tool and genisoimage; qemu-img (installed by
// hack/install-deps.sh) reads the disks it made.
#include "node-daemon/storage/disk_manager.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <tuple>

#include <gtest/gtest.h>
#include <stdlib.h>

#include "node-daemon/storage/process.h"

namespace novacron::node::storage {
namespace {
namespace fs = std::filesystem;

class DiskManagerTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/novacron-disks-XXXXXX";
    root_ = mkdtemp(tmpl);
    NodePaths paths(root_ + "/vms", root_ + "/images");
    fs::create_directories(root_ + "/images/named");
    // A 1 MiB raw base image.
    std::ofstream(root_ + "/images/named/base.raw", std::ios::binary) << std::string(1 << 20, '\0');
    manager_ = std::make_unique<DiskManager>(paths, makeHttpImageStore(paths), makeDiskTool());
  }
  void TearDown() override { fs::remove_all(root_); }

  api::VirtualMachine vm() {
    api::VirtualMachine v;
    v.metadata.namespace_ = "default";
    v.metadata.name = "web";
    v.metadata.uid = "uid-1";
    api::Disk root;
    root.name = "root";
    root.image = api::ImageSource{};
    root.image->url = "image:base.raw";
    api::Disk data;
    data.name = "data";
    data.emptyDisk = api::EmptyDiskSource{};
    data.emptyDisk->size = api::Quantity::fromBytes(64LL << 20);
    api::Disk ci;
    ci.name = "ci";
    ci.cloudInit = api::CloudInitSource{};
    ci.cloudInit->userData = "#cloud-config\nhostname: web\n";
    v.spec.disks = {root, data, ci};
    return v;
  }

  std::string root_;
  std::unique_ptr<DiskManager> manager_;
};

TEST_F(DiskManagerTest, PreparesOverlayEmptyDiskAndSeedIdempotently) {
  auto prepared = manager_->prepare(vm());
  ASSERT_TRUE(prepared.isOk()) << prepared.status();
  ASSERT_EQ(prepared->disks.size(), 3u);
  const std::string dir = root_ + "/vms/default/web/uid-1";
  EXPECT_EQ(prepared->disks[0].path, dir + "/disk-root.qcow2");
  ASSERT_TRUE(prepared->disks[0].backing);
  EXPECT_EQ(prepared->disks[0].backing->path, root_ + "/images/named/base.raw");
  EXPECT_EQ(prepared->disks[0].backing->format, domain::DiskFormat::kRaw);
  EXPECT_FALSE(prepared->disks[1].backing) << "an empty disk is standalone";
  EXPECT_FALSE(prepared->disks[2].backing);
  EXPECT_EQ(prepared->serial_log_path, dir + "/serial.log");
  EXPECT_TRUE(prepared->disks[2].cdrom);

  auto info = runProcess({"qemu-img", "info", dir + "/disk-root.qcow2"}, std::chrono::seconds(30));
  ASSERT_TRUE(info.isOk());
  EXPECT_NE(info->output.find("backing file: " + root_ + "/images/named/base.raw"),
            std::string::npos)
      << info->output;
  auto empty = runProcess({"qemu-img", "info", dir + "/disk-data.qcow2"}, std::chrono::seconds(30));
  ASSERT_TRUE(empty.isOk());
  EXPECT_NE(empty->output.find("64 MiB"), std::string::npos) << empty->output;
  EXPECT_GT(fs::file_size(dir + "/seed-ci.iso"), 0u);

  // Idempotent: a second prepare keeps the existing files (a running VM's disk is never recreated).
  auto before = fs::last_write_time(dir + "/disk-root.qcow2");
  auto again = manager_->prepare(vm());
  ASSERT_TRUE(again.isOk()) << again.status();
  EXPECT_EQ(fs::last_write_time(dir + "/disk-root.qcow2"), before);
  ASSERT_TRUE(again->disks[0].backing) << "the chain of an existing overlay is read back";
  EXPECT_EQ(again->disks[0].backing->path, root_ + "/images/named/base.raw");
  EXPECT_EQ(again->disks[0].backing->format, domain::DiskFormat::kRaw);

  ASSERT_TRUE(manager_->exists("default", "web", "uid-1"));
  ASSERT_TRUE(manager_->remove(vm()).isOk());
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(fs::exists(root_ + "/vms/default")) << "empty parents are dropped";
  EXPECT_FALSE(manager_->exists("default", "web", "uid-1"));
  EXPECT_TRUE(manager_->remove("default", "web", "uid-1").isOk()) << "remove is idempotent";
  EXPECT_TRUE(fs::exists(root_ + "/images/named/base.raw")) << "images are shared, not removed";
}

TEST_F(DiskManagerTest, MissingImageFailsWithoutCreatingTheDisk) {
  auto v = vm();
  v.spec.disks[0].image->url = "image:nope";
  auto prepared = manager_->prepare(v);
  ASSERT_FALSE(prepared.isOk());
  EXPECT_EQ(prepared.status().code(), core::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(root_ + "/vms/default/web/uid-1/disk-root.qcow2"));
}

TEST_F(DiskManagerTest, DisksBelongToTheUidNotTheName) {
  auto old_vm = vm();
  auto prepared_old = manager_->prepare(old_vm);
  ASSERT_TRUE(prepared_old.isOk()) << prepared_old.status();
  // A new VM with the same namespace and name (the old one was deleted, its leftovers not yet
  // cleaned): it must get fresh disks and a fresh seed, never the old ones.
  auto new_vm = vm();
  new_vm.metadata.uid = "uid-2";
  new_vm.spec.disks[2].cloudInit->userData = "#cloud-config\nhostname: new\n";
  auto prepared_new = manager_->prepare(new_vm);
  ASSERT_TRUE(prepared_new.isOk()) << prepared_new.status();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NE(prepared_old->disks[i].path, prepared_new->disks[i].path);
    EXPECT_TRUE(fs::exists(prepared_new->disks[i].path));
  }
  EXPECT_NE(prepared_old->serial_log_path, prepared_new->serial_log_path);
  EXPECT_EQ(manager_->uids("default", "web"), (std::vector<std::string>{"uid-1", "uid-2"}));

  // Removing the old incarnation's leftovers leaves the new one's files alone.
  ASSERT_TRUE(manager_->remove("default", "web", "uid-1").isOk());
  EXPECT_FALSE(manager_->exists("default", "web", "uid-1"));
  ASSERT_TRUE(manager_->exists("default", "web", "uid-2"));
  for (const auto& d : prepared_new->disks) {
    EXPECT_TRUE(fs::exists(d.path)) << d.path;
  }
  EXPECT_EQ(manager_->uids("default", "web"), std::vector<std::string>{"uid-2"});
  auto bad = vm();
  bad.metadata.uid = "../uid-2";
  EXPECT_EQ(manager_->prepare(bad).status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(manager_->remove("default", "web", "..").code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(manager_->remove("default", "web", "").code(), core::StatusCode::kInvalidArgument);
  EXPECT_TRUE(manager_->exists("default", "web", "uid-2"));
}

TEST_F(DiskManagerTest, GarbageCollectionKeepsImagesThatOverlaysUse) {
  // The overlay of uid-1 points at a downloaded image; a VM list that no longer mentions it
  // (the spec changed, or the VM is not in the cache) must not get its base collected.
  fs::create_directories(root_ + "/images/url");
  const std::string used = root_ + "/images/url/" + std::string(64, 'c') + ".qcow2";
  const std::string unused = root_ + "/images/url/" + std::string(64, 'd') + ".qcow2";
  ASSERT_TRUE(
      runChecked({"qemu-img", "create", "-q", "-f", "qcow2", used, "1M"}, std::chrono::seconds(30))
          .isOk());
  std::ofstream(unused) << "x";
  fs::create_directories(root_ + "/vms/default/web/uid-1");
  ASSERT_TRUE(runChecked({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", used,
                          root_ + "/vms/default/web/uid-1/disk-root.qcow2"},
                         std::chrono::seconds(30))
                  .isOk());
  HttpImageStoreOptions o;
  o.gc_grace = std::chrono::milliseconds(0);
  auto store = makeHttpImageStore(NodePaths(root_ + "/vms", root_ + "/images"), o);
  DiskManager manager(NodePaths(root_ + "/vms", root_ + "/images"), store, makeDiskTool());
  manager.collectGarbage({});  // first sight: both start their grace period
  EXPECT_EQ(manager.collectGarbage({}), 1);
  EXPECT_TRUE(fs::exists(used));
  EXPECT_FALSE(fs::exists(unused));
}

TEST_F(DiskManagerTest, GarbageCollectionKeepsImagesASpecNamesWithoutAnyOverlay) {
  // No VM folder exists (the overlays are not asked: the spec answers); the image the spec names
  // stays, the other one goes.
  HttpImageStoreOptions o;
  o.gc_grace = std::chrono::milliseconds(0);
  const NodePaths paths(root_ + "/vms", root_ + "/images");
  auto store = makeHttpImageStore(paths, o);
  DiskManager manager(paths, store, makeDiskTool());
  api::VirtualMachine v = vm();
  v.spec.disks[0].image->url = "http://images.test/named-by-spec.qcow2";
  auto named = store->cachedPath(*v.spec.disks[0].image, /*disk=*/true);
  ASSERT_TRUE(named.isOk()) << named.status();
  const std::string unused = root_ + "/images/url/" + std::string(64, 'd') + ".qcow2";
  fs::create_directories(fs::path(*named).parent_path());
  fs::create_directories(root_ + "/images/url");
  std::ofstream(*named) << "x";
  std::ofstream(unused) << "x";
  manager.collectGarbage({v});  // first sight: the unused one starts its grace period
  EXPECT_EQ(manager.collectGarbage({v}), 1);
  EXPECT_TRUE(fs::exists(*named));
  EXPECT_FALSE(fs::exists(unused));
}

TEST_F(DiskManagerTest, RefusesHostileNames) {
  auto v = vm();
  v.metadata.name = "../../etc";
  EXPECT_EQ(manager_->prepare(v).status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(manager_->remove("default", "..", "uid-1").code(), core::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::exists(root_ + "/images/named/base.raw"));
}

}  // namespace
}  // namespace novacron::node::storage

namespace novacron::node::storage {
namespace {

TEST_F(DiskManagerTest, ListsEveryVmFolderWithItsMigrationMarker) {
  fs::create_directories(root_ + "/vms/default/web/uid-1");
  fs::create_directories(root_ + "/vms/default/web/uid-0");
  fs::create_directories(root_ + "/vms/prod/db/uid-9");
  std::ofstream(root_ + "/vms/prod/db/uid-9/.novacron-migration-move-db") << "";
  std::ofstream(root_ + "/vms/.novacron-node-hv-1") << "";  // a file, not a namespace
  fs::create_directories(root_ + "/vms/Not_A_Namespace/x/uid-2");

  std::vector<VmFolder> folders = manager_->folders();
  std::sort(folders.begin(), folders.end(), [](const VmFolder& a, const VmFolder& b) {
    return std::tie(a.ns, a.name, a.uid) < std::tie(b.ns, b.name, b.uid);
  });
  ASSERT_EQ(folders.size(), 3u);
  EXPECT_EQ(folders[0].uid, "uid-0");
  EXPECT_EQ(folders[0].path, root_ + "/vms/default/web/uid-0");
  EXPECT_FALSE(manager_->hasMigrationMarker(folders[0]));
  EXPECT_EQ(folders[1].uid, "uid-1");
  EXPECT_EQ(folders[2].ns, "prod");
  EXPECT_EQ(folders[2].name, "db");
  EXPECT_TRUE(manager_->hasMigrationMarker(folders[2]));
}

TEST_F(DiskManagerTest, TheMarksOfOtherNodesAreListed) {
  ASSERT_TRUE(manager_->markRootUsedBy("hv-1").isOk());
  ASSERT_TRUE(manager_->markRootUsedBy("hv-1").isOk());  // again: idempotent
  EXPECT_TRUE(manager_->otherRootMarks("hv-1").empty());
  ASSERT_TRUE(manager_->markRootUsedBy("hv-2").isOk());
  ASSERT_TRUE(manager_->markRootUsedBy("hv-3").isOk());
  EXPECT_EQ(manager_->otherRootMarks("hv-1"), (std::vector<std::string>{"hv-2", "hv-3"}));
  EXPECT_EQ(manager_->otherRootMarks("hv-2"), (std::vector<std::string>{"hv-1", "hv-3"}));
}

// The node-daemon is privileged: a symlink planted at its mark's path is refused, never written
// through (it created the file the link pointed at).
TEST_F(DiskManagerTest, ASymlinkAtTheMarkIsRefusedNotFollowed) {
  const fs::path root = manager_->paths().vmRoot();
  fs::create_directories(root);
  const fs::path outside = root.parent_path() / "planted-target";
  fs::remove(outside);
  fs::create_symlink(outside, root / ".novacron-node-hv-1");
  const core::Status marked = manager_->markRootUsedBy("hv-1");
  EXPECT_FALSE(marked.isOk());
  EXPECT_EQ(marked.code(), core::StatusCode::kFailedPrecondition) << marked;
  EXPECT_FALSE(fs::exists(fs::symlink_status(outside))) << "written through the symlink";
}

}  // namespace
}  // namespace novacron::node::storage
