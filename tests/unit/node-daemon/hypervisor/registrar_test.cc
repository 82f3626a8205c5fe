#include "node-daemon/hypervisor/registrar.h"

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include <gtest/gtest.h>
#include <stdlib.h>

#include "lib/api/codec.h"
#include "lib/kube/resource.h"
#include "node-daemon/virt/libvirt_connection.h"
#include "tests/mocks/fake_clock.h"
#include "tests/mocks/fake_libvirt.h"
#include "tests/mocks/mock_kube_client.h"
#include "tests/testing/eventually.h"

namespace novacron::node::hypervisor {
namespace {

using namespace std::chrono_literals;

class RegistrarTest : public ::testing::Test {
protected:
  void SetUp() override {
    virt::LibvirtOptions lo;
    lo.uri = "test:///default";
    lo.keepalive_interval_s = -1;
    conn_ = std::move(virt::openLibvirt(lo)).value();
    clock_ = std::make_shared<testing::FakeClock>();
    client_ = std::make_shared<testing::FakeClient>(clock_);
    RegistrarOptions o;
    o.node_name = "node-a";
    o.domain_type = "qemu";
    o.reserved_cpus = 1;
    o.reserved_memory_bytes = 1LL << 20;
    o.clock = clock_;
    registrar_ = std::make_unique<HypervisorRegistrar>(
        client_, *conn_, std::make_shared<NodeMetrics>(std::make_shared<prometheus::Registry>()),
        o);
  }

  // A registrar for node-b whose VM root's disk space comes from `space` (the next result).
  std::unique_ptr<HypervisorRegistrar> withStorage(
      std::shared_ptr<core::StatusOr<StorageSpace>> space, int64_t reserved) {
    RegistrarOptions o;
    o.node_name = "node-b";
    o.domain_type = "qemu";
    o.clock = clock_;
    o.storage = [space] { return *space; };
    o.reserved_storage_bytes = reserved;
    return std::make_unique<HypervisorRegistrar>(
        client_, *conn_, std::make_shared<NodeMetrics>(std::make_shared<prometheus::Registry>()),
        o);
  }

  api::Hypervisor hypervisor() {
    return *api::fromJson<api::Hypervisor>(*client_->get(kube::kHypervisor, "", "node-a"));
  }

  virt::ConnectionPtr conn_;
  std::shared_ptr<testing::FakeClock> clock_;
  std::shared_ptr<testing::FakeClient> client_;
  std::unique_ptr<HypervisorRegistrar> registrar_;
};

TEST_F(RegistrarTest, CreatesHypervisorWithHostFacts) {
  ASSERT_TRUE(registrar_->registerNode().isOk());
  auto hv = hypervisor();
  auto info = *conn_->nodeInfo();
  ASSERT_TRUE(hv.status.capacity);
  EXPECT_EQ(hv.status.capacity->cpus, static_cast<int32_t>(info.cpus));
  EXPECT_EQ(hv.status.capacity->memory.value(), static_cast<int64_t>(info.memory_kib) * 1024);
  ASSERT_TRUE(hv.status.allocatable);
  EXPECT_EQ(hv.status.allocatable->cpus, static_cast<int32_t>(info.cpus) - 1);
  EXPECT_EQ(hv.status.allocatable->memory.value(),
            static_cast<int64_t>(info.memory_kib) * 1024 - (1LL << 20));
  EXPECT_EQ(hv.status.virtualization, api::Virtualization::kEmulated);
  ASSERT_TRUE(hv.status.libvirtVersion);
  EXPECT_FALSE(hv.status.libvirtVersion->empty());
  EXPECT_TRUE(hv.status.lastHeartbeatTime);
  EXPECT_TRUE(api::isConditionTrue(hv.status.conditions, api::kConditionReady));
  const api::Condition* kvm = api::findCondition(hv.status.conditions, api::kConditionKvmAvailable);
  ASSERT_NE(kvm, nullptr);
  EXPECT_EQ(kvm->status, api::ConditionStatus::kFalse);
}

TEST_F(RegistrarTest, ReportsTheVmRootsDiskSpaceMinusTheReservation) {
  auto space =
      std::make_shared<core::StatusOr<StorageSpace>>(StorageSpace{100LL << 30, 40LL << 30});
  auto registrar = withStorage(space, 10LL << 30);
  ASSERT_TRUE(registrar->registerNode().isOk());
  auto hv = *api::fromJson<api::Hypervisor>(*client_->get(kube::kHypervisor, "", "node-b"));
  ASSERT_TRUE(hv.status.capacity && hv.status.capacity->storage);
  EXPECT_EQ(hv.status.capacity->storage->value(), 100LL << 30);
  ASSERT_TRUE(hv.status.allocatable && hv.status.allocatable->storage);
  EXPECT_EQ(hv.status.allocatable->storage->value(), 90LL << 30);
  // A failed read keeps the last reported values rather than dropping the check.
  *space = core::unavailableError("statvfs: gone");
  ASSERT_TRUE(registrar->registerNode().isOk());
  hv = *api::fromJson<api::Hypervisor>(*client_->get(kube::kHypervisor, "", "node-b"));
  ASSERT_TRUE(hv.status.allocatable->storage);
  EXPECT_EQ(hv.status.allocatable->storage->value(), 90LL << 30);
  // Without a probe (the default) nothing is reported.
  ASSERT_TRUE(registrar_->registerNode().isOk());
  EXPECT_FALSE(hypervisor().status.capacity->storage);
}

TEST(StorageSpaceTest, StatsARealFilesystemAndFailsOnAMissingPath) {
  auto space = statFilesystem("/");
  ASSERT_TRUE(space.isOk()) << space.status();
  EXPECT_GT(space->capacity_bytes, 0);
  EXPECT_LE(space->available_bytes, space->capacity_bytes);
  EXPECT_EQ(statFilesystem("/nonexistent/novacron").status().code(),
            core::StatusCode::kUnavailable);
}

TEST_F(RegistrarTest, UsableKvmIsKvmAvailable) {
  RegistrarOptions o;
  o.node_name = "node-a";
  o.domain_type = "kvm";
  o.kvm_usable = true;
  o.clock = clock_;
  registrar_ = std::make_unique<HypervisorRegistrar>(
      client_, *conn_, std::make_shared<NodeMetrics>(std::make_shared<prometheus::Registry>()), o);
  ASSERT_TRUE(registrar_->registerNode().isOk());
  auto hv = hypervisor();
  EXPECT_EQ(hv.status.virtualization, api::Virtualization::kKvm);
  const api::Condition* kvm = api::findCondition(hv.status.conditions, api::kConditionKvmAvailable);
  ASSERT_NE(kvm, nullptr);
  EXPECT_EQ(kvm->status, api::ConditionStatus::kTrue);
  EXPECT_EQ(kvm->reason, "KVMUsable");
}

// Capacity is what the options say when set (installed memory), not libvirt's moving MemTotal;
// allocatable is capacity minus the reservation.
TEST_F(RegistrarTest, CapacityFromInstalledMemoryWhenGiven) {
  RegistrarOptions o;
  o.node_name = "node-a";
  o.domain_type = "qemu";
  o.reserved_memory_bytes = 1LL << 30;
  o.memory_capacity_bytes = 24LL << 30;
  o.clock = clock_;
  registrar_ = std::make_unique<HypervisorRegistrar>(
      client_, *conn_, std::make_shared<NodeMetrics>(std::make_shared<prometheus::Registry>()), o);
  ASSERT_TRUE(registrar_->registerNode().isOk());
  auto hv = hypervisor();
  EXPECT_EQ(hv.status.capacity->memory.value(), 24LL << 30);
  EXPECT_EQ(hv.status.allocatable->memory.value(), 23LL << 30);
}

// allocatable never includes overcommit: the controller applies spec.overcommit (or its defaults)
// to it once; applying it here too would multiply the ratio twice.
TEST_F(RegistrarTest, KeepsControllerFieldsAndLeavesOvercommitToTheController) {
  ASSERT_TRUE(registrar_->registerNode().isOk());
  auto hv = hypervisor();
  hv.spec.overcommit = api::Overcommit{};
  hv.spec.overcommit->cpu = 2.0;
  hv.spec.overcommit->memory = 1.5;
  auto spec = client_->update(kube::kHypervisor, "", api::toJson(hv));
  ASSERT_TRUE(spec.isOk()) << spec.status();
  hv = *api::fromJson<api::Hypervisor>(*spec);
  hv.status.allocated = api::HypervisorAllocated{};
  hv.status.allocated->cpus = 3;
  hv.status.allocated->vms = 2;
  ASSERT_TRUE(client_->updateStatus(kube::kHypervisor, "", api::toJson(hv)).isOk());

  clock_->advance(5min);
  ASSERT_TRUE(registrar_->registerNode().isOk());
  auto after = hypervisor();
  ASSERT_TRUE(after.status.allocated);
  EXPECT_EQ(after.status.allocated->cpus, 3);
  EXPECT_EQ(after.status.allocated->vms, 2);
  auto info = *conn_->nodeInfo();
  EXPECT_EQ(after.status.allocatable->cpus, static_cast<int32_t>(info.cpus) - 1);
  EXPECT_EQ(after.status.allocatable->memory.value(),
            static_cast<int64_t>(info.memory_kib) * 1024 - (1LL << 20));
  ASSERT_TRUE(after.spec.overcommit);
  EXPECT_EQ(after.spec.overcommit->cpu, 2.0);
  EXPECT_GT(*after.status.lastHeartbeatTime, *hv.status.lastHeartbeatTime);
}

// Like the kubelet's node status: a refresh that would change only lastHeartbeatTime is not
// written (the Lease is the heartbeat, and each such write would make a reservation on this
// Hypervisor conflict) until the report interval (5 min) has passed; a changed host fact is
// written at the next refresh.
TEST_F(RegistrarTest, UnchangedStatusIsWrittenOnlyEveryReportInterval) {
  ASSERT_TRUE(registrar_->registerNode().isOk());
  auto first = *client_->get(kube::kHypervisor, "", "node-a");
  const std::string rv = first["metadata"]["resourceVersion"];

  clock_->advance(60s);
  ASSERT_TRUE(registrar_->registerNode().isOk());
  clock_->advance(3min);
  ASSERT_TRUE(registrar_->registerNode().isOk());
  EXPECT_EQ((*client_->get(kube::kHypervisor, "", "node-a"))["metadata"]["resourceVersion"], rv)
      << "a refresh that changes nothing was written";

  clock_->advance(61s);  // 5 min 1 s after the last write
  ASSERT_TRUE(registrar_->registerNode().isOk());
  auto reported = *client_->get(kube::kHypervisor, "", "node-a");
  EXPECT_NE(reported["metadata"]["resourceVersion"], rv);
  EXPECT_GT(*api::fromJson<api::Hypervisor>(reported)->status.lastHeartbeatTime,
            *api::fromJson<api::Hypervisor>(first)->status.lastHeartbeatTime);

  // A host fact changed (here: the node-daemon's KVM probe) is written at the next refresh.
  RegistrarOptions o;
  o.node_name = "node-a";
  o.domain_type = "kvm";
  o.kvm_usable = true;
  o.reserved_cpus = 1;
  o.reserved_memory_bytes = 1LL << 20;
  o.clock = clock_;
  HypervisorRegistrar kvm(
      client_, *conn_, std::make_shared<NodeMetrics>(std::make_shared<prometheus::Registry>()), o);
  clock_->advance(60s);
  ASSERT_TRUE(kvm.registerNode().isOk());
  auto changed = *api::fromJson<api::Hypervisor>(*client_->get(kube::kHypervisor, "", "node-a"));
  EXPECT_EQ(changed.status.virtualization, api::Virtualization::kKvm);
}

TEST(StatusReportDueTest, OnlyAChangeOrAnOldHeartbeatIsDue) {
  const kube::Json base = {{"cpuModel", "Skylake"}, {"lastHeartbeatTime", "2026-12-03T10:00:00Z"}};
  kube::Json later = base;
  later["lastHeartbeatTime"] = "2026-12-03T10:04:59Z";
  EXPECT_FALSE(statusReportDue(base, later, 5min));
  later["lastHeartbeatTime"] = "2026-12-03T10:05:00Z";
  EXPECT_TRUE(statusReportDue(base, later, 5min));
  kube::Json changed = base;
  changed["lastHeartbeatTime"] = "2026-12-03T10:00:10Z";
  changed["cpuModel"] = "Icelake";
  EXPECT_TRUE(statusReportDue(base, changed, 5min));
  EXPECT_TRUE(statusReportDue(kube::Json::object(), later, 5min));  // never reported
}

TEST_F(RegistrarTest, LeaseIsCreatedAndRenewed) {
  ASSERT_TRUE(registrar_->renewLease().isOk());
  auto lease = client_->get(kube::kLease, "novacron-node-lease", "node-a");
  ASSERT_TRUE(lease.isOk()) << lease.status();
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "node-a");
  EXPECT_EQ((*lease)["spec"]["leaseDurationSeconds"], 40);
  std::string first = (*lease)["spec"]["renewTime"];
  clock_->advance(10s);
  ASSERT_TRUE(registrar_->renewLease().isOk());
  auto renewed = client_->get(kube::kLease, "novacron-node-lease", "node-a");
  EXPECT_GT(std::string((*renewed)["spec"]["renewTime"]), first);
  EXPECT_NE((*renewed)["metadata"]["resourceVersion"], (*lease)["metadata"]["resourceVersion"]);
}

// The node-daemon may not create namespaces (RBAC): a missing heartbeat namespace is a NotFound
// that names the fix, and the next renewal (the loop retries) succeeds once it exists.
TEST_F(RegistrarTest, MissingLeaseNamespaceIsReportedNotCreated) {
  client_->failNext(testing::FakeClient::Verb::kCreate, "leases",
                    core::notFoundError("namespaces \"novacron-node-lease\" not found"));
  core::Status s = registrar_->renewLease();
  EXPECT_EQ(s.code(), core::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("namespace novacron-node-lease does not exist: apply config/default"),
            std::string::npos)
      << s;
  EXPECT_EQ(client_->countActions(testing::FakeClient::Verb::kCreate, "namespaces"), 0u);
  ASSERT_TRUE(registrar_->renewLease().isOk());
  EXPECT_TRUE(client_->get(kube::kLease, "novacron-node-lease", "node-a").isOk());
}

// A node named like the controller's leader Lease heartbeats in its own namespace and never
// touches novacron-system/novacron-controller (it would otherwise become the leader's holder).
TEST_F(RegistrarTest, NodeNamedLikeTheLeaderLeaseCannotTakeItOver) {
  kube::Json leader = {
      {"apiVersion", "coordination.k8s.io/v1"},
      {"kind", "Lease"},
      {"metadata", {{"name", "novacron-controller"}, {"namespace", "novacron-system"}}},
      {"spec",
       {{"holderIdentity", "controller-0"},
        {"leaseDurationSeconds", 15},
        {"renewTime", "2026-01-01T00:00:00.000000Z"}}}};
  auto stored = client_->create(kube::kLease, "novacron-system", leader);
  ASSERT_TRUE(stored.isOk()) << stored.status();
  RegistrarOptions o;
  o.node_name = "novacron-controller";
  o.clock = clock_;
  HypervisorRegistrar impostor(client_, *conn_, nullptr, o);
  ASSERT_TRUE(impostor.renewLease().isOk());
  clock_->advance(10s);
  ASSERT_TRUE(impostor.renewLease().isOk());

  auto after = client_->get(kube::kLease, "novacron-system", "novacron-controller");
  ASSERT_TRUE(after.isOk()) << after.status();
  EXPECT_EQ((*after)["spec"]["holderIdentity"], "controller-0");
  EXPECT_EQ((*after)["metadata"]["resourceVersion"], (*stored)["metadata"]["resourceVersion"]);
  auto heartbeat = client_->get(kube::kLease, "novacron-node-lease", "novacron-controller");
  ASSERT_TRUE(heartbeat.isOk()) << heartbeat.status();
  EXPECT_EQ((*heartbeat)["spec"]["holderIdentity"], "novacron-controller");
}

TEST_F(RegistrarTest, LibvirtDownMakesHypervisorNotReady) {
  ASSERT_TRUE(registrar_->registerNode().isOk());
  testing::FakeLibvirt faulty(*conn_);
  RegistrarOptions o;
  o.node_name = "node-a";
  o.clock = clock_;
  HypervisorRegistrar registrar(client_, faulty, nullptr, o);
  faulty.failNext("nodeInfo", core::unavailableError("libvirtd is not running"));
  clock_->advance(5s);
  EXPECT_EQ(registrar.registerNode().code(), core::StatusCode::kUnavailable);
  const api::Hypervisor down = hypervisor();
  const api::Condition* ready = api::findCondition(down.status.conditions, api::kConditionReady);
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status, api::ConditionStatus::kFalse);
  EXPECT_EQ(ready->reason, "LibvirtUnavailable");
  // libvirtd is back: Ready again.
  ASSERT_TRUE(registrar.registerNode().isOk());
  EXPECT_TRUE(api::isConditionTrue(hypervisor().status.conditions, api::kConditionReady));
}

// Regression (issue 18): a libvirtd that hangs (restarting, stopped) must not stop the heartbeat:
// the Hypervisor must not go Unknown while its guests are fine.
TEST_F(RegistrarTest, HeartbeatContinuesWhileLibvirtHangs) {
  ASSERT_TRUE(registrar_->registerNode().isOk());
  testing::FakeLibvirt hung(*conn_);
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;  // guarded by mu
  int hanging = 0;        // guarded by mu
  hung.node_info_hook = [&]() -> core::StatusOr<virt::NodeInfo> {
    std::unique_lock lock(mu);
    ++hanging;
    cv.notify_all();
    cv.wait(lock, [&] { return released; });
    return core::unavailableError("libvirtd restarted");
  };
  auto release = [&] {
    {
      std::lock_guard lock(mu);
      released = true;
    }
    cv.notify_all();
  };
  RegistrarOptions o;
  o.node_name = "node-a";
  o.clock = clock_;
  o.heartbeat_interval = 10s;
  auto registrar = std::make_unique<HypervisorRegistrar>(client_, hung, nullptr, o);
  struct Release {
    std::function<void()> fn;
    ~Release() { fn(); }
  } release_at_exit{release};  // destroyed before `registrar` joins its threads
  registrar->start();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return hanging == 1; }));  // the status loop hangs
  }
  auto renew_time = [&] {
    auto lease = client_->get(kube::kLease, "novacron-node-lease", "node-a");
    return lease.isOk() ? (*lease)["spec"].value("renewTime", "") : std::string();
  };
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(novacron::testing::eventually([&] {
      return clock_->waiters() == 1 && !renew_time().empty();  // the heartbeat waits again
    })) << "heartbeat "
        << i << " did not happen while libvirt hangs";
    const std::string before = renew_time();
    clock_->advance(10s);
    ASSERT_TRUE(novacron::testing::eventually([&] { return renew_time() != before; }))
        << "the Lease was not renewed while libvirt hangs";
  }
  release();
  registrar->stop();
}

// --- fencing (issue: fencing is enforced, not only declared) --------------------------------

class FenceTest : public RegistrarTest {
protected:
  void SetUp() override {
    RegistrarTest::SetUp();
    char tmpl[] = "/tmp/novacron-fence-XXXXXX";
    dir_ = mkdtemp(tmpl);
    registrar_ = makeRegistrar();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // A registrar as a (re)started node-daemon builds it, with the same on-node record.
  std::unique_ptr<HypervisorRegistrar> makeRegistrar() {
    RegistrarOptions o;
    o.node_name = "node-a";
    o.domain_type = "qemu";
    o.clock = clock_;
    o.registration_record = dir_ + "/.novacron-hypervisor-uid";
    o.on_fence = [this](std::optional<std::string> reason) { changes_.push_back(reason); };
    return std::make_unique<HypervisorRegistrar>(
        client_, *conn_, std::make_shared<NodeMetrics>(std::make_shared<prometheus::Registry>()),
        o);
  }
  void annotate(const std::string& value) {
    auto hv = hypervisor();
    if (value.empty()) {
      hv.metadata.annotations.erase(std::string(api::kFencedAnnotation));
    } else {
      hv.metadata.annotations[std::string(api::kFencedAnnotation)] = value;
    }
    ASSERT_TRUE(client_->update(kube::kHypervisor, "", api::toJson(hv)).isOk());
  }

  std::string dir_;
  std::vector<std::optional<std::string>> changes_;
};

TEST_F(FenceTest, AnnotatedHypervisorFencesTheNodeUntilCleared) {
  ASSERT_TRUE(registrar_->registerNode().isOk());
  EXPECT_FALSE(registrar_->fenced());
  annotate("true");
  core::Status s = registrar_->registerNode();
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(registrar_->fenced());
  ASSERT_EQ(changes_.size(), 1u);
  ASSERT_TRUE(changes_[0].has_value());
  EXPECT_NE(changes_[0]->find("fenced"), std::string::npos);
  // A fenced node does not heartbeat... and a restarted node-daemon is still fenced.
  auto restarted = makeRegistrar();
  EXPECT_EQ(restarted->registerNode().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(restarted->fenced());
  // The administrator clears it.
  annotate("");
  EXPECT_TRUE(registrar_->registerNode().isOk());
  EXPECT_FALSE(registrar_->fenced());
  ASSERT_EQ(changes_.size(), 3u);
  EXPECT_FALSE(changes_.back().has_value());
}

TEST_F(FenceTest, DeletedHypervisorIsNotRecreatedEvenAfterARestart) {
  ASSERT_TRUE(registrar_->registerNode().isOk());
  const std::string first_uid = hypervisor().metadata.uid;
  ASSERT_TRUE(client_->remove(kube::kHypervisor, "", "node-a").isOk());
  EXPECT_EQ(registrar_->registerNode().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(registrar_->fenced());
  EXPECT_EQ(client_->get(kube::kHypervisor, "", "node-a").status().code(),
            core::StatusCode::kNotFound)
      << "a deleted Hypervisor must not come back on its own";
  // The node-daemon restarts: the on-node record still says it had registered.
  auto restarted = makeRegistrar();
  EXPECT_EQ(restarted->registerNode().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(restarted->fenced());
  EXPECT_FALSE(client_->get(kube::kHypervisor, "", "node-a").isOk());
  // An administrator re-creates the Hypervisor: the node registers again (and records the new uid).
  api::Hypervisor fresh;
  fresh.metadata.name = "node-a";
  ASSERT_TRUE(client_->create(kube::kHypervisor, "", api::toJson(fresh)).isOk());
  EXPECT_TRUE(restarted->registerNode().isOk());
  EXPECT_FALSE(restarted->fenced());
  EXPECT_NE(hypervisor().metadata.uid, first_uid);
  EXPECT_TRUE(hypervisor().status.capacity.has_value());
}

TEST(MicroTime, Format) {
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1800000000)) + 123456us;
  EXPECT_EQ(formatMicroTime(t), "2027-01-15T08:00:00.123456Z");
}

}  // namespace
}  // namespace novacron::node::hypervisor
