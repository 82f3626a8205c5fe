// ColdMigrationRunner on libvirt's test driver (both "hosts" are the same test driver, wrapped in
// FakeLibvirt to count and fail calls) with a recording uploader: the order shutdown -> copy ->
// define + start on the target -> undefine here; the overlay crosses with its backing file
// rebased onto the target's base image; a failed copy leaves the VM running on the source.
#include "node-daemon/migration/cold_runner.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "node-daemon/storage/image_header.h"
#include "node-daemon/storage/process.h"
#include "tests/mocks/fake_libvirt.h"
#include "tests/mocks/test_driver.h"

namespace novacron::node::migration {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class RecordingUploader : public virt::VolumeUploader {
public:
  core::Status upload(const std::string& uri, const std::string& local, const std::string& remote,
                      const std::function<void(uint64_t)>& progress,
                      const std::atomic<bool>*) override {
    std::lock_guard lock(mu);
    uris.push_back(uri);
    remotes.push_back(remote);
    auto h = storage::readImageHeader(local);
    backing.push_back(h.isOk() ? h->backing_file.value_or("") : "?");
    if (progress) {
      progress(fs::file_size(local));
    }
    return fail;
  }
  std::mutex mu;
  std::vector<std::string> uris, remotes, backing;
  core::Status fail = core::okStatus();
};

class ColdRunnerTest : public ::testing::Test {
protected:
  void SetUp() override {
    real_ = testing::openTestDriver();
    source_ = std::make_unique<testing::FakeLibvirt>(*real_);
    target_real_ = testing::openTestDriver();
    dir_ = fs::temp_directory_path() / ("cold-runner-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "src/images/named");
    fs::create_directories(dir_ / "src/vms/ns/vm/uid");
  }
  void TearDown() override {
    runner_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    (void)real_->defineDomain(test_xml_);  // leave the shared test driver as it was
    (void)real_->startDomain("test");
  }
  std::unique_ptr<ColdMigrationRunner> makeRunner() {
    ColdRunnerOptions o;
    o.poll_interval = 10ms;
    o.uploader = uploader_;
    o.connect = [this](const std::string&) -> core::StatusOr<virt::ConnectionPtr> {
      auto t = std::make_unique<testing::FakeLibvirt>(*target_real_);
      target_ = t.get();
      return virt::ConnectionPtr(std::move(t));
    };
    o.on_done = [this](const std::string&) { done_ = true; };
    return std::make_unique<ColdMigrationRunner>(*source_, std::move(o));
  }
  ColdJob job() {
    ColdJob j;
    j.key = "ns/mig";
    j.domain = "test";
    j.dest_uri = "qemu+tcp://target/system";
    j.grace = 1s;
    j.copy = true;
    j.prefixes = {{(dir_ / "src/vms").string(), "/dst/vms"},
                  {(dir_ / "src/images").string(), "/dst/images"}};
    j.vm_dir = (dir_ / "src/vms/ns/vm/uid").string();
    return j;
  }
  bool waitDone() {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done_) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  virt::ConnectionPtr real_, target_real_;
  std::unique_ptr<testing::FakeLibvirt> source_;
  testing::FakeLibvirt* target_ = nullptr;
  std::shared_ptr<RecordingUploader> uploader_ = std::make_shared<RecordingUploader>();
  std::unique_ptr<ColdMigrationRunner> runner_;
  std::atomic<bool> done_{false};
  fs::path dir_;
  std::string test_xml_;
};

TEST(ColdPlanTest, PercentNeverExceedsItsStage) {
  EXPECT_EQ(coldPercent(false, 0, 0, false), 0);
  EXPECT_EQ(coldPercent(true, 0, 0, false), 10);
  EXPECT_EQ(coldPercent(true, 0, 100, false), 10);
  EXPECT_EQ(coldPercent(true, 50, 100, false), 47);
  EXPECT_EQ(coldPercent(true, 500, 100, false), 85);
  EXPECT_EQ(coldPercent(true, 100, 100, true), 85);
}

TEST(ColdPlanTest, OnlyDiskFilesCross) {
  const fs::path d = fs::temp_directory_path() / ("cold-plan-" + std::to_string(::getpid()));
  fs::create_directories(d);
  for (const char* f : {"disk-b.qcow2", "disk-a.qcow2", "seed-c.iso", "serial.log",
                        "disk-x.qcow2.migrating", ".novacron-migration-m"}) {
    std::ofstream(d / f) << "x";
  }
  fs::create_symlink("/etc/passwd", d / "disk-link.qcow2");
  EXPECT_EQ(coldDiskFiles(d.string()), (std::vector<std::string>{(d / "disk-a.qcow2").string(),
                                                                 (d / "disk-b.qcow2").string()}));
  fs::remove_all(d);
}

TEST_F(ColdRunnerTest, MovesTheOverlayThenStartsOnTheTarget) {
  auto xml = real_->domainXml("test");
  ASSERT_TRUE(xml.isOk());
  test_xml_ = *xml;
  const std::string base = (dir_ / "src/images/named/base").string();
  const std::string overlay = (dir_ / "src/vms/ns/vm/uid/disk-data.qcow2").string();
  auto made = storage::runProcess({"qemu-img", "create", "-q", "-f", "qcow2", base, "1M"}, 30s);
  if (!made.isOk() || made->exit_code != 0) {
    GTEST_SKIP() << "qemu-img is not available";
  }
  ASSERT_TRUE(
      storage::runChecked(
          {"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, overlay}, 30s)
          .isOk());
  runner_ = makeRunner();
  ASSERT_TRUE(runner_->start(job()));
  ASSERT_TRUE(waitDone());
  auto out = runner_->outcome("ns/mig");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->phase, api::MigrationPhase::kFinalizing) << out->message;
  EXPECT_EQ(out->progress.percent, 100);
  EXPECT_EQ(source_->calls("shutdown"), 1);
  ASSERT_EQ(uploader_->remotes.size(), 1u);
  EXPECT_EQ(uploader_->uris[0], "qemu+tcp://target/system");
  EXPECT_EQ(uploader_->remotes[0], "/dst/vms/ns/vm/uid/disk-data.qcow2");
  EXPECT_EQ(uploader_->backing[0], "/dst/images/named/base")
      << "only the overlay crosses, pointing at the target's own base image";
  auto h = storage::readImageHeader(overlay);
  ASSERT_TRUE(h.isOk());
  EXPECT_EQ(h->backing_file.value_or(""), base) << "the source's overlay is left as it was";
  EXPECT_FALSE(fs::exists(overlay + ".migrating"));
  ASSERT_NE(target_, nullptr);
  EXPECT_EQ(target_->calls("define"), 1);
  EXPECT_EQ(target_->calls("start"), 1);
  EXPECT_EQ(source_->calls("undefine"), 1);
  EXPECT_EQ(source_->calls("start"), 0);
}

TEST_F(ColdRunnerTest, AFailedCopyLeavesTheVmRunningOnTheSource) {
  auto xml = real_->domainXml("test");
  ASSERT_TRUE(xml.isOk());
  test_xml_ = *xml;
  std::ofstream(dir_ / "src/vms/ns/vm/uid/disk-data.qcow2") << "not an image, no backing file";
  uploader_->fail = core::unavailableError("target libvirtd gone");
  runner_ = makeRunner();
  ASSERT_TRUE(runner_->start(job()));
  ASSERT_TRUE(waitDone());
  auto out = runner_->outcome("ns/mig");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->phase, api::MigrationPhase::kFailed);
  EXPECT_NE(out->message.find("target libvirtd gone"), std::string::npos) << out->message;
  EXPECT_EQ(target_, nullptr) << "nothing was defined on the target";
  EXPECT_EQ(source_->calls("start"), 1) << "the guest was running: restarted here";
  EXPECT_EQ(source_->calls("undefine"), 0);
  auto info = real_->lookupByName("test");
  ASSERT_TRUE(info.isOk());
  EXPECT_TRUE(info->active);
}

}  // namespace
}  // namespace novacron::node::migration
