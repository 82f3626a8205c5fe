// The node-daemon (NodeDaemon, as the binary wires it) against the dev API server on real etcd and
// libvirt's test driver: 50 bound VMs go Running, then Stopped, then are deleted, and nothing is
// left behind (no domain, no disk). Also checks Hypervisor registration and the heartbeat Lease.
#include <filesystem>

#include <gtest/gtest.h>
#include <stdlib.h>

#include "lib/api/validation.h"
#include "node-daemon/node_daemon.h"
#include "node-daemon/virt/libvirt_connection.h"
#include "tests/integration/node-daemon/cluster_helpers.h"

namespace novacron::node {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::pollUntil;

constexpr int kVms = 50;
constexpr const char* kNs = "it-node-daemon";
constexpr const char* kNode = "it-node";

api::VirtualMachine boundVm(int i) {
  api::VirtualMachine vm;
  vm.metadata.namespace_ = kNs;
  vm.metadata.name = "vm-" + std::to_string(i);
  vm.metadata.labels[std::string(api::kHypervisorLabel)] = kNode;
  vm.spec.resources.cpus = 1;
  vm.spec.resources.memory = api::Quantity::fromBytes(128LL << 20);
  vm.spec.terminationGracePeriodSeconds = 2;
  api::Disk d;
  d.name = "root";
  d.emptyDisk = api::EmptyDiskSource{};
  d.emptyDisk->size = api::Quantity::fromBytes(64LL << 20);
  vm.spec.disks = {d};
  api::Network n;
  n.name = "default";
  vm.spec.networks = {n};
  return vm;
}

class NodeDaemonIntegrationTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto cluster = novacron::testing::DevCluster::start();
    ASSERT_TRUE(cluster.isOk()) << cluster.status();
    cluster_ = std::move(cluster).value();
    auto client = testing::clientFor(*cluster_);
    ASSERT_TRUE(client.isOk()) << client.status();
    client_ = *client;
    ASSERT_TRUE(testing::installCrds(*client_, kNs).isOk());
    char tmpl[] = "/tmp/novacron-node-it-XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    if (daemon_) {
      daemon_->stop();
    }
    fs::remove_all(root_);
  }

  int countPhase(api::VirtualMachinePhase phase) {
    auto list = client_->list(kube::kVirtualMachine, kNs, {});
    if (!list.isOk()) {
      return -1;
    }
    int n = 0;
    for (const auto& item : (*list)["items"]) {
      auto vm = api::fromJson<api::VirtualMachine>(item);
      if (vm.isOk() && vm->status.phase == phase &&
          vm->status.observedGeneration == vm->metadata.generation) {
        ++n;
      }
    }
    return n;
  }

  std::unique_ptr<novacron::testing::DevCluster> cluster_;
  kube::ClientPtr client_;
  std::string root_;
  std::unique_ptr<NodeDaemon> daemon_;
};

TEST_F(NodeDaemonIntegrationTest, FiftyVmsRunStopAndLeaveNothingBehind) {
  NodeDaemonConfig config;
  config.node_name = kNode;
  config.kubeconfig = cluster_->kubeconfigPath();
  config.libvirt_uri = "test:///default";
  config.vm_root = root_ + "/vms";
  config.image_root = root_ + "/images";
  config.metrics_address = "127.0.0.1";
  config.metrics_port = 0;
  config.workers = 4;
  config.resync = 5s;
  config.heartbeat = 1s;
  daemon_ = std::make_unique<NodeDaemon>(config);
  ASSERT_TRUE(daemon_->start().isOk());

  // Registration and heartbeat.
  auto hv = client_->get(kube::kHypervisor, "", kNode);
  ASSERT_TRUE(hv.isOk()) << hv.status();
  EXPECT_GT((*hv)["status"]["capacity"]["cpus"].get<int>(), 0);
  EXPECT_EQ((*hv)["status"]["virtualization"], "emulated");
  ASSERT_TRUE(pollUntil(
      [&] { return client_->get(kube::kLease, "novacron-node-lease", kNode).isOk(); }, 10s));

  // libvirt's test driver comes with a domain "test" that NovaCron does not manage: reported as
  // an Event on the Hypervisor and left alone.
  EXPECT_TRUE(pollUntil(
      [&] {
        auto events = client_->list(kube::kCoreEvent, "", {});
        if (!events.isOk()) {
          return false;
        }
        for (const auto& e : (*events)["items"]) {
          if (e.value("reason", "") == "UnclaimedDomain" &&
              e["involvedObject"].value("name", "") == kNode) {
            return true;
          }
        }
        return false;
      },
      10s))
      << "no UnclaimedDomain event";

  // The test plays the controller: the binding is status.hypervisor, the label mirrors it.
  auto createBound = [&](api::VirtualMachine vm, const std::string& node) {
    vm.metadata.labels[std::string(api::kHypervisorLabel)] = node;
    auto created = client_->create(kube::kVirtualMachine, kNs, api::toJson(vm));
    ASSERT_TRUE(created.isOk()) << created.status();
    auto stored = *api::fromJson<api::VirtualMachine>(*created);
    stored.status.hypervisor = node;
    auto bound = client_->updateStatus(kube::kVirtualMachine, kNs, api::toJson(stored));
    ASSERT_TRUE(bound.isOk()) << bound.status();
  };
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kVms; ++i) {
    createBound(boundVm(i), kNode);
  }
  // A VM bound to another node is not ours.
  createBound(boundVm(999), "other-node");

  ASSERT_TRUE(
      pollUntil([&] { return countPhase(api::VirtualMachinePhase::kRunning) == kVms; }, 60s))
      << "running: " << countPhase(api::VirtualMachinePhase::kRunning);
  auto running_after = std::chrono::steady_clock::now() - start;
  std::printf("[ bench ] %d VMs Running after %.2f s\n", kVms,
              std::chrono::duration<double>(running_after).count());

  virt::LibvirtOptions lo;
  lo.uri = "test:///default";
  lo.keepalive_interval_s = -1;
  auto conn = std::move(virt::openLibvirt(lo)).value();
  for (int i = 0; i < kVms; ++i) {
    auto d = conn->lookupByName(std::string(kNs) + "_vm-" + std::to_string(i));
    ASSERT_TRUE(d.isOk()) << i;
    EXPECT_EQ(d->state, virt::DomainState::kRunning);
    auto vm = testing::getVm(*client_, kNs, "vm-" + std::to_string(i));
    ASSERT_TRUE(vm) << i;
    EXPECT_TRUE(fs::exists(root_ + "/vms/" + kNs + "/vm-" + std::to_string(i) + "/" +
                           vm->metadata.uid + "/disk-root.qcow2"));
  }
  EXPECT_EQ(conn->lookupByName(std::string(kNs) + "_vm-999").status().code(),
            core::StatusCode::kNotFound);
  auto vm0 = testing::getVm(*client_, kNs, "vm-0");
  ASSERT_TRUE(vm0);
  EXPECT_TRUE(api::isConditionTrue(vm0->status.conditions, api::kConditionReady));
  EXPECT_TRUE(vm0->status.domainUUID);

  // Stop them all (runStrategy Halted).
  for (int i = 0; i < kVms; ++i) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto vm = testing::getVm(*client_, kNs, "vm-" + std::to_string(i));
      ASSERT_TRUE(vm);
      vm->spec.runStrategy = api::RunStrategy::kHalted;
      auto updated = client_->update(kube::kVirtualMachine, kNs, api::toJson(*vm));
      if (updated.isOk()) {
        break;
      }
      ASSERT_EQ(updated.status().code(), core::StatusCode::kConflict) << updated.status();
    }
  }
  ASSERT_TRUE(
      pollUntil([&] { return countPhase(api::VirtualMachinePhase::kStopped) == kVms; }, 60s))
      << "stopped: " << countPhase(api::VirtualMachinePhase::kStopped);
  for (int i = 0; i < kVms; ++i) {
    EXPECT_EQ(conn->lookupByName(std::string(kNs) + "_vm-" + std::to_string(i))->state,
              virt::DomainState::kShutOff);
  }

  // Delete them all: finalizers are released only after domain and disks are gone.
  for (int i = 0; i < kVms; ++i) {
    ASSERT_TRUE(client_->remove(kube::kVirtualMachine, kNs, "vm-" + std::to_string(i)).isOk());
  }
  ASSERT_TRUE(pollUntil(
      [&] {
        auto list = client_->list(kube::kVirtualMachine, kNs, {});
        return list.isOk() && (*list)["items"].size() == 1;  // only vm-999 (other node) is left
      },
      60s));
  auto domains = conn->listDomains();
  ASSERT_TRUE(domains.isOk());
  for (const auto& d : *domains) {
    EXPECT_NE(d.name.rfind(std::string(kNs) + "_", 0), 0u) << "left behind: " << d.name;
  }
  EXPECT_TRUE(!fs::exists(root_ + "/vms/" + kNs) || fs::is_empty(root_ + "/vms/" + kNs))
      << "disks left behind";
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, kNs, "vm-999").isOk());
  EXPECT_TRUE(conn->lookupByName("test").isOk()) << "the unmanaged domain was touched";
}

}  // namespace
}  // namespace novacron::node
