// VmReconciler against the FakeClient (API) and libvirt's test driver (hypervisor), with a fake
// DiskTool. Exercises the real loop: informer, work queue, libvirt events, resync.
#include "node-daemon/vm/reconciler.h"

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <stdlib.h>

#include "lib/api/codec.h"
#include "lib/kube/resource.h"
#include "node-daemon/domain/naming.h"
#include "node-daemon/virt/libvirt_connection.h"
#include "tests/mocks/fake_libvirt.h"
#include "tests/mocks/fake_virt_disk_tool.h"
#include "tests/mocks/mock_kube_client.h"

namespace novacron::node::vm {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

template <typename Pred>
bool pollUntil(Pred pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

class ReconcilerTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/novacron-reconciler-XXXXXX";
    root_ = mkdtemp(tmpl);
    virt::LibvirtOptions lo;
    lo.uri = "test:///default";
    lo.keepalive_interval_s = -1;
    auto conn = virt::openLibvirt(lo);
    ASSERT_TRUE(conn.isOk()) << conn.status();
    real_ = std::move(conn).value();
    fake_ = std::make_unique<testing::FakeLibvirt>(*real_);
    client_ = std::make_shared<testing::FakeClient>();
    storage::NodePaths paths(root_ + "/vms", root_ + "/images");
    fs::create_directories(root_ + "/images/named");
    std::ofstream(root_ + "/images/named/kernel") << "k";
    tool_ = std::make_shared<testing::FakeVirtDiskTool>();
    disks_ =
        std::make_unique<storage::DiskManager>(paths, storage::makeHttpImageStore(paths), tool_);
    registry_ = std::make_shared<prometheus::Registry>();
    metrics_ = std::make_shared<NodeMetrics>(registry_);
  }

  void TearDown() override {
    reconciler_.reset();
    fs::remove_all(root_);
  }

  std::unique_ptr<VmReconciler> makeReconciler() {
    ReconcilerOptions o;
    o.node_name = "node-a";
    o.domain_type = "test";
    o.resync = 500ms;
    o.registry = registry_;
    return std::make_unique<VmReconciler>(client_, *fake_, *disks_, metrics_, nullptr, o);
  }

  void startReconciler() {
    reconciler_ = makeReconciler();
    ASSERT_TRUE(reconciler_->start(5s).isOk());
  }

  api::VirtualMachine vm(const std::string& ns, const std::string& name) {
    api::VirtualMachine v;
    v.metadata.namespace_ = ns;
    v.metadata.name = name;
    v.metadata.labels[std::string(api::kHypervisorLabel)] = "node-a";
    v.spec.resources.cpus = 1;
    v.spec.resources.memory = api::Quantity::fromBytes(128LL << 20);
    v.spec.terminationGracePeriodSeconds = 1;
    api::Disk d;
    d.name = "root";
    d.emptyDisk = api::EmptyDiskSource{};
    d.emptyDisk->size = api::Quantity::fromBytes(1LL << 30);
    v.spec.disks = {d};
    api::Network n;
    n.name = "default";
    v.spec.networks = {n};
    return v;
  }

  api::VirtualMachine create(const api::VirtualMachine& v) {
    auto created = client_->create(kube::kVirtualMachine, v.metadata.namespace_, api::toJson(v));
    EXPECT_TRUE(created.isOk()) << created.status();
    return *api::fromJson<api::VirtualMachine>(*created);
  }

  std::optional<api::VirtualMachine> get(const std::string& ns, const std::string& name) {
    auto j = client_->get(kube::kVirtualMachine, ns, name);
    if (!j.isOk()) {
      return std::nullopt;
    }
    return *api::fromJson<api::VirtualMachine>(*j);
  }

  bool phaseIs(const std::string& ns, const std::string& name, api::VirtualMachinePhase phase) {
    auto v = get(ns, name);
    return v && v->status.phase == phase;
  }

  std::string root_;
  virt::ConnectionPtr real_;
  std::unique_ptr<testing::FakeLibvirt> fake_;
  std::shared_ptr<testing::FakeClient> client_;
  std::shared_ptr<testing::FakeVirtDiskTool> tool_;
  std::unique_ptr<storage::DiskManager> disks_;
  metrics::RegistryPtr registry_;
  NodeMetricsPtr metrics_;
  std::unique_ptr<VmReconciler> reconciler_;
};

TEST_F(ReconcilerTest, RunsABoundVmAndReportsStatus) {
  startReconciler();
  auto v = create(vm("rt-run", "web"));
  ASSERT_TRUE(
      pollUntil([&] { return phaseIs("rt-run", "web", api::VirtualMachinePhase::kRunning); }));
  auto got = *get("rt-run", "web");
  EXPECT_NE(std::find(got.metadata.finalizers.begin(), got.metadata.finalizers.end(),
                      api::kNodeCleanupFinalizer),
            got.metadata.finalizers.end());
  EXPECT_EQ(got.status.domainUUID, *domain::domainUuid(v.metadata.uid));
  EXPECT_TRUE(api::isConditionTrue(got.status.conditions, api::kConditionReady));
  EXPECT_EQ(got.status.observedGeneration, got.metadata.generation);
  ASSERT_TRUE(got.status.startTime);
  ASSERT_EQ(got.status.interfaces.size(), 1u);
  EXPECT_EQ(got.status.interfaces[0].mac, domain::macAddress(v.metadata.uid, "default"));
  EXPECT_FALSE(got.status.hypervisor) << "status.hypervisor is the controller's field";
  auto info = real_->lookupByName("rt-run_web");
  ASSERT_TRUE(info.isOk());
  EXPECT_EQ(info->state, virt::DomainState::kRunning);
  EXPECT_TRUE(fs::exists(root_ + "/vms/rt-run/web/disk-root.qcow2"));

  // Idempotent: further reconciles (resync every 500 ms) write nothing.
  std::string rv = got.metadata.resourceVersion;
  auto result = reconciler_->reconcile("rt-run/web");
  ASSERT_TRUE(result.isOk()) << result.status();
  std::this_thread::sleep_for(1200ms);  // let at least two resyncs run; nothing may change
  EXPECT_EQ(get("rt-run", "web")->metadata.resourceVersion, rv);
  EXPECT_EQ(fake_->calls("start"), 1);

  // Delete: domain and disks go away, then the finalizer, then the object.
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, "rt-run", "web").isOk());
  ASSERT_TRUE(pollUntil([&] { return !get("rt-run", "web"); }));
  EXPECT_EQ(real_->lookupByName("rt-run_web").status().code(), core::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(root_ + "/vms/rt-run/web"));
}

TEST_F(ReconcilerTest, HaltedStopsAndAlwaysStartsAgain) {
  startReconciler();
  create(vm("rt-halt", "db"));
  ASSERT_TRUE(
      pollUntil([&] { return phaseIs("rt-halt", "db", api::VirtualMachinePhase::kRunning); }));
  auto got = *get("rt-halt", "db");
  got.spec.runStrategy = api::RunStrategy::kHalted;
  ASSERT_TRUE(client_->update(kube::kVirtualMachine, "rt-halt", api::toJson(got)).isOk());
  ASSERT_TRUE(
      pollUntil([&] { return phaseIs("rt-halt", "db", api::VirtualMachinePhase::kStopped); }));
  EXPECT_EQ(real_->lookupByName("rt-halt_db")->state, virt::DomainState::kShutOff);
  EXPECT_FALSE(api::isConditionTrue(get("rt-halt", "db")->status.conditions, api::kConditionReady));

  got = *get("rt-halt", "db");
  got.spec.runStrategy = api::RunStrategy::kAlways;
  ASSERT_TRUE(client_->update(kube::kVirtualMachine, "rt-halt", api::toJson(got)).isOk());
  ASSERT_TRUE(
      pollUntil([&] { return phaseIs("rt-halt", "db", api::VirtualMachinePhase::kRunning); }));
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, "rt-halt", "db").isOk());
  ASSERT_TRUE(pollUntil([&] { return !get("rt-halt", "db"); }));
}

TEST_F(ReconcilerTest, PauseAndResumeByAnnotation) {
  startReconciler();
  create(vm("rt-pause", "a"));
  ASSERT_TRUE(
      pollUntil([&] { return phaseIs("rt-pause", "a", api::VirtualMachinePhase::kRunning); }));
  auto got = *get("rt-pause", "a");
  got.metadata.annotations[std::string(kPausedAnnotation)] = "true";
  ASSERT_TRUE(client_->update(kube::kVirtualMachine, "rt-pause", api::toJson(got)).isOk());
  ASSERT_TRUE(
      pollUntil([&] { return phaseIs("rt-pause", "a", api::VirtualMachinePhase::kPaused); }));
  EXPECT_EQ(real_->lookupByName("rt-pause_a")->state, virt::DomainState::kPaused);
  got = *get("rt-pause", "a");
  got.metadata.annotations.erase(std::string(kPausedAnnotation));
  ASSERT_TRUE(client_->update(kube::kVirtualMachine, "rt-pause", api::toJson(got)).isOk());
  ASSERT_TRUE(
      pollUntil([&] { return phaseIs("rt-pause", "a", api::VirtualMachinePhase::kRunning); }));
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, "rt-pause", "a").isOk());
  ASSERT_TRUE(pollUntil([&] { return !get("rt-pause", "a"); }));
}

TEST_F(ReconcilerTest, InvalidSpecIsReportedAndNothingIsCreated) {
  startReconciler();
  auto bad = vm("rt-invalid", "x");
  bad.spec.resources.cpus = 1000;
  create(bad);
  ASSERT_TRUE(
      pollUntil([&] { return phaseIs("rt-invalid", "x", api::VirtualMachinePhase::kFailed); }));
  auto got = *get("rt-invalid", "x");
  const api::Condition* ready = api::findCondition(got.status.conditions, api::kConditionReady);
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status, api::ConditionStatus::kFalse);
  EXPECT_EQ(ready->reason, "InvalidSpec");
  EXPECT_NE(ready->message.find("spec.resources.cpus"), std::string::npos) << ready->message;
  EXPECT_EQ(api::findCondition(got.status.conditions, api::kConditionValid), nullptr)
      << "Valid is the controller's condition";
  EXPECT_EQ(real_->lookupByName("rt-invalid_x").status().code(), core::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(root_ + "/vms/rt-invalid/x"));
}

TEST_F(ReconcilerTest, LibvirtFailureIsRetriedWithFinalizerHeld) {
  fake_->failNext("define", core::unavailableError("libvirtd restarting"), 2);
  startReconciler();
  create(vm("rt-retry", "r"));
  ASSERT_TRUE(
      pollUntil([&] { return phaseIs("rt-retry", "r", api::VirtualMachinePhase::kRunning); }));
  EXPECT_GE(fake_->calls("define"), 3);
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, "rt-retry", "r").isOk());
  ASSERT_TRUE(pollUntil([&] { return !get("rt-retry", "r"); }));
}

TEST_F(ReconcilerTest, RestartAdoptsRunningDomainsWithoutRestarting) {
  startReconciler();
  create(vm("rt-adopt", "keep"));
  ASSERT_TRUE(
      pollUntil([&] { return phaseIs("rt-adopt", "keep", api::VirtualMachinePhase::kRunning); }));
  reconciler_->stop();
  reconciler_.reset();
  int starts = fake_->calls("start");
  auto uuid_before = real_->lookupByName("rt-adopt_keep")->uuid;

  startReconciler();  // a new node-daemon process
  ASSERT_TRUE(pollUntil([&] { return fake_->calls("list") > 0; }));
  std::this_thread::sleep_for(700ms);  // a resync passes
  EXPECT_EQ(fake_->calls("start"), starts) << "an adopted running domain must not be started";
  EXPECT_EQ(fake_->calls("define"), 1);
  EXPECT_EQ(real_->lookupByName("rt-adopt_keep")->uuid, uuid_before);
  EXPECT_EQ(real_->lookupByName("rt-adopt_keep")->state, virt::DomainState::kRunning);
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, "rt-adopt", "keep").isOk());
  ASSERT_TRUE(pollUntil([&] { return !get("rt-adopt", "keep"); }));
}

TEST_F(ReconcilerTest, UnclaimedDomainsAreLeftAloneUnlessOursAndVmGone) {
  // A foreign domain (no NovaCron metadata) with a name we could have produced.
  ASSERT_TRUE(real_
                  ->defineDomain("<domain type='test'><name>rt-foreign_x</name><memory>65536"
                                 "</memory><os><type>hvm</type></os></domain>")
                  .isOk());
  // One of ours whose VM no longer exists (deleted while the node-daemon was down).
  ASSERT_TRUE(
      real_
          ->defineDomain("<domain type='test'><name>rt-orphan_y</name><memory>65536</memory><os>"
                         "<type>hvm</type></os><metadata><novacron:vm "
                         "xmlns:novacron='https://novacron.io/xmlns/domain/1'><novacron:namespace>"
                         "rt-orphan</novacron:namespace><novacron:name>y</novacron:name>"
                         "<novacron:uid>gone-uid</novacron:uid></novacron:vm></metadata></domain>")
          .isOk());
  startReconciler();
  ASSERT_TRUE(pollUntil([&] {
    return real_->lookupByName("rt-orphan_y").status().code() == core::StatusCode::kNotFound;
  }));
  EXPECT_TRUE(real_->lookupByName("rt-foreign_x").isOk()) << "foreign domains are never touched";
  EXPECT_TRUE(real_->lookupByName("test").isOk());
  ASSERT_TRUE(real_->undefineDomain("rt-foreign_x").isOk());
}

}  // namespace
}  // namespace novacron::node::vm
