// DiskManager with the real qemu-img and genisoimage (both installed by hack/install-deps.sh).
#include "node-daemon/storage/disk_manager.h"

#include <filesystem>
#include <fstream>

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
    manager_ = std::make_unique<DiskManager>(paths, makeHttpImageStore(paths), makeQemuDiskTool());
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
  const std::string dir = root_ + "/vms/default/web";
  EXPECT_EQ(prepared->disks[0].path, dir + "/disk-root.qcow2");
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
  ASSERT_TRUE(manager_->prepare(vm()).isOk());
  EXPECT_EQ(fs::last_write_time(dir + "/disk-root.qcow2"), before);

  ASSERT_TRUE(manager_->exists("default", "web"));
  ASSERT_TRUE(manager_->remove("default", "web").isOk());
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(manager_->exists("default", "web"));
  EXPECT_TRUE(manager_->remove("default", "web").isOk()) << "remove is idempotent";
  EXPECT_TRUE(fs::exists(root_ + "/images/named/base.raw")) << "images are shared, not removed";
}

TEST_F(DiskManagerTest, MissingImageFailsWithoutCreatingTheDisk) {
  auto v = vm();
  v.spec.disks[0].image->url = "image:nope";
  auto prepared = manager_->prepare(v);
  ASSERT_FALSE(prepared.isOk());
  EXPECT_EQ(prepared.status().code(), core::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(root_ + "/vms/default/web/disk-root.qcow2"));
}

TEST_F(DiskManagerTest, RefusesHostileNames) {
  auto v = vm();
  v.metadata.name = "../../etc";
  EXPECT_EQ(manager_->prepare(v).status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(manager_->remove("default", "..").code(), core::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::exists(root_ + "/images/named/base.raw"));
}

}  // namespace
}  // namespace novacron::node::storage
