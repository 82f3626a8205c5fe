#include "node-daemon/hypervisor/registrar.h"

#include <gtest/gtest.h>

#include "lib/api/codec.h"
#include "lib/kube/resource.h"
#include "node-daemon/virt/libvirt_connection.h"
#include "tests/mocks/fake_clock.h"
#include "tests/mocks/fake_libvirt.h"
#include "tests/mocks/mock_kube_client.h"

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

  clock_->advance(60s);
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

TEST_F(RegistrarTest, LeaseIsCreatedAndRenewed) {
  ASSERT_TRUE(registrar_->renewLease().isOk());
  auto lease = client_->get(kube::kLease, "novacron-system", "node-a");
  ASSERT_TRUE(lease.isOk()) << lease.status();
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "node-a");
  EXPECT_EQ((*lease)["spec"]["leaseDurationSeconds"], 40);
  std::string first = (*lease)["spec"]["renewTime"];
  clock_->advance(10s);
  ASSERT_TRUE(registrar_->renewLease().isOk());
  auto renewed = client_->get(kube::kLease, "novacron-system", "node-a");
  EXPECT_GT(std::string((*renewed)["spec"]["renewTime"]), first);
  EXPECT_NE((*renewed)["metadata"]["resourceVersion"], (*lease)["metadata"]["resourceVersion"]);
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

TEST(MicroTime, Format) {
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1800000000)) + 123456us;
  EXPECT_EQ(formatMicroTime(t), "2027-01-15T08:00:00.123456Z");
}

}  // namespace
}  // namespace novacron::node::hypervisor
