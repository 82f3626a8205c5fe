// TargetMigrationReconciler (the target node-daemon's part of a VMMigration) on its real loop:
// the FakeClient (API), libvirt's test driver and a DiskManager over a temporary VM root. Covers
// the cleanup after a failed or cancelled migration that the controller's finalizer waits for
// (issue 18, fault suite seeds 9031 and 10000; controller/migration/target_cleanup.h).
#include "node-daemon/migration/target_reconciler.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <stdlib.h>

#include "lib/api/codec.h"
#include "lib/api/migration_target.h"
#include "lib/kube/resource.h"
#include "node-daemon/domain/naming.h"
#include "node-daemon/virt/libvirt_connection.h"
#include "tests/mocks/fake_clock.h"
#include "tests/mocks/fake_virt_disk_tool.h"
#include "tests/mocks/mock_kube_client.h"
#include "tests/mocks/test_driver.h"
#include "tests/testing/eventually.h"

namespace novacron::node::migration {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using api::MigrationPhase;

constexpr const char* kNs = "ns";

class TargetReconcilerTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/novacron-target-XXXXXX";
    root_ = mkdtemp(tmpl);
    conn_ = testing::openTestDriver();
    storage::NodePaths paths(root_ + "/vms", root_ + "/images");
    disks_ = std::make_unique<storage::DiskManager>(paths, storage::makeHttpImageStore(paths),
                                                    std::make_shared<testing::FakeVirtDiskTool>());
  }

  void TearDown() override {
    if (reconciler_) {
      reconciler_->stop();
    }
    reconciler_.reset();
    fs::remove_all(root_);
  }

  void start() {
    reconciler_ = std::make_unique<TargetMigrationReconciler>(
        client_, *conn_, *disks_, nullptr,
        TargetReconcilerOptions{.node_name = "node-b",
                                .clock = clock_,
                                .registry = std::make_shared<prometheus::Registry>()});
    ASSERT_TRUE(reconciler_->start(5s).isOk());
  }

  // The VM "web", bound to `node`.
  api::VirtualMachine createVm(const std::string& node) {
    api::VirtualMachine v;
    v.metadata.namespace_ = kNs;
    v.metadata.name = "web";
    auto created = client_->create(kube::kVirtualMachine, kNs, api::toJson(v));
    EXPECT_TRUE(created.isOk()) << created.status();
    v = *api::fromJson<api::VirtualMachine>(*created);
    v.status.hypervisor = node;
    auto written = client_->updateStatus(kube::kVirtualMachine, kNs, api::toJson(v));
    EXPECT_TRUE(written.isOk()) << written.status();
    return *api::fromJson<api::VirtualMachine>(*written);
  }

  // The folder node-b prepared for `migration`: a disk and the migration's marker.
  std::string markedFolder(const api::VirtualMachine& vm, const std::string& migration) {
    std::string dir = disks_->paths().vmDir(kNs, "web", vm.metadata.uid).value();
    fs::create_directories(dir);
    std::ofstream(dir + "/disk-root.qcow2") << "overlay";
    std::ofstream(dir + "/.novacron-migration-" + migration) << "uid\n";
    return dir;
  }

  // A cold migration of "web" to node-b that ended `phase` (the controller's finalizer on it);
  // deleted at once when `deleting`, as the evacuation does when maintenance is cleared.
  void createMigration(const std::string& name, MigrationPhase phase, bool deleting) {
    api::VMMigration m;
    m.metadata.namespace_ = kNs;
    m.metadata.name = name;
    m.metadata.labels[std::string(api::kTargetHypervisorLabel)] = "node-b";
    m.metadata.finalizers = {std::string(api::kControllerFinalizer)};
    m.spec.vmName = "web";
    m.spec.mode = api::MigrationMode::kCold;
    auto created = client_->create(kube::kVMMigration, kNs, api::toJson(m));
    ASSERT_TRUE(created.isOk()) << created.status();
    m = *api::fromJson<api::VMMigration>(*created);
    m.status.phase = phase;
    m.status.sourceHypervisor = "node-a";
    m.status.targetHypervisor = "node-b";
    ASSERT_TRUE(client_->updateStatus(kube::kVMMigration, kNs, api::toJson(m)).isOk());
    if (deleting) {
      ASSERT_TRUE(client_->remove(kube::kVMMigration, kNs, name).isOk());
      ASSERT_TRUE(client_->get(kube::kVMMigration, kNs, name).isOk()) << "held by the finalizer";
    }
  }

  // The message of TargetPrepared=False/CleanedUp once node-b reported it.
  std::optional<std::string> cleanedUp(const std::string& name) {
    auto json = client_->get(kube::kVMMigration, kNs, name);
    if (!json.isOk()) {
      return std::nullopt;
    }
    auto m = api::fromJson<api::VMMigration>(*json);
    if (!m.isOk() || !api::targetCleanedUp(m->status)) {
      return std::nullopt;
    }
    return api::findCondition(m->status.conditions, api::kConditionTargetPrepared)->message;
  }

  std::shared_ptr<testing::FakeClock> clock_ = std::make_shared<testing::FakeClock>();
  std::shared_ptr<testing::FakeClient> client_ = std::make_shared<testing::FakeClient>();
  std::string root_;
  virt::ConnectionPtr conn_;
  std::unique_ptr<storage::DiskManager> disks_;
  std::unique_ptr<TargetMigrationReconciler> reconciler_;
};

// Regression (seed 9031): the cold evacuation failed after node-b prepared the VM's folder, and
// the VMMigration was deleted a second later. The controller's finalizer holds it until node-b
// removed the folder and reported so.
TEST_F(TargetReconcilerTest, ADeletedFailedMigrationsFolderIsRemovedAndReported) {
  api::VirtualMachine vm = createVm("node-a");
  const std::string dir = markedFolder(vm, "evac-1");
  createMigration("evac-1", MigrationPhase::kFailed, true);
  start();
  ASSERT_TRUE(testing::eventually([&] { return cleanedUp("evac-1").has_value(); }));
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_NE(cleanedUp("evac-1")->find("removed"), std::string::npos) << *cleanedUp("evac-1");
}

// The finalizer waits for a report even when the target made nothing (the source failed before
// it prepared, or a restarted target already removed it): "nothing to clean" must be said too.
TEST_F(TargetReconcilerTest, NothingPreparedIsReportedToo) {
  createVm("node-a");
  createMigration("m1", MigrationPhase::kCancelled, true);
  start();
  ASSERT_TRUE(testing::eventually([&] { return cleanedUp("m1").has_value(); }));
  EXPECT_NE(cleanedUp("m1")->find("nothing of this migration"), std::string::npos)
      << *cleanedUp("m1");
}

// A shut-off definition of the VM's domain that an earlier migration left on node-b holds no files:
// the report must not wait for it to go (it waited forever, and every later failed migration to
// node-b stayed Terminating: found by the fault suite in depth on real QEMU hosts).
TEST_F(TargetReconcilerTest, AShutOffDefinitionLeftHereDoesNotHoldTheReportBack) {
  createVm("node-a");
  auto dname = domain::domainName(kNs, "web");
  ASSERT_TRUE(dname.isOk());
  auto defined = conn_->defineDomain("<domain type='test'><name>" + *dname +
                                     "</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu>"
                                     "<os><type>hvm</type></os></domain>");
  ASSERT_TRUE(defined.isOk()) << defined.status();
  createMigration("m2", MigrationPhase::kFailed, true);
  start();
  const bool reported = testing::eventually([&] {
    clock_->advance(2s);  // a wait for an incoming domain would be retried every 2 s
    return cleanedUp("m2").has_value();
  });
  (void)conn_->undefineDomain(*dname);  // leave the shared test driver as it was
  ASSERT_TRUE(reported);
}

// Safety: the VM was placed on node-b after its migration failed, on the folder node-b had
// prepared (prepare() keeps existing files), before this cleanup ran. Its disks are never removed.
TEST_F(TargetReconcilerTest, AMarkedFolderOfTheVmBoundHereIsKept) {
  api::VirtualMachine vm = createVm("node-b");
  const std::string dir = markedFolder(vm, "m1");
  createMigration("m1", MigrationPhase::kFailed, false);
  start();
  ASSERT_TRUE(testing::eventually([&] { return cleanedUp("m1").has_value(); }));
  EXPECT_TRUE(fs::exists(dir + "/disk-root.qcow2"));
  EXPECT_NE(cleanedUp("m1")->find("files kept"), std::string::npos) << *cleanedUp("m1");
}

// Another incarnation's folder (a different uid) without this migration's marker is not touched.
TEST_F(TargetReconcilerTest, OnlyFoldersMarkedForThisMigrationAreRemoved) {
  api::VirtualMachine vm = createVm("node-a");
  const std::string marked = markedFolder(vm, "m1");
  api::VirtualMachine other = vm;
  other.metadata.uid = "an-older-incarnation";
  const std::string unmarked = markedFolder(other, "m0");
  createMigration("m1", MigrationPhase::kFailed, true);
  start();
  ASSERT_TRUE(testing::eventually([&] { return cleanedUp("m1").has_value(); }));
  EXPECT_FALSE(fs::exists(marked));
  EXPECT_TRUE(fs::exists(unmarked + "/disk-root.qcow2"));
}

}  // namespace
}  // namespace novacron::node::migration
