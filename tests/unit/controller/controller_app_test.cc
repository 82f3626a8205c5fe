// The whole controller (informers, workers, reconcilers) against the in-memory FakeClient.
#include "controller/controller_app.h"

#include <map>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/ledger/ledger.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/runtime/finalizers.h"
#include "tests/mocks/fake_clock.h"
#include "tests/mocks/mock_kube_client.h"
#include "tests/testing/eventually.h"
#include "tests/unit/controller/cluster_objects.h"

namespace novacron::controller {
namespace {

using ctltest::kGi;
using ::testing::HasSubstr;

// Polls `pred` until it holds or `timeout` of real time passes (a safety net, not a timing
// assumption).
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  return novacron::testing::eventually(pred, timeout);
}

// Heartbeats never go stale by accident: only a test's explicit advance() makes one stale, and
// the small ticks below add up to far less than this.
constexpr std::chrono::minutes kHeartbeatTimeout{60};
// What the fake clock moves per poll while waiting for the controllers: it releases the work
// queues' back-offs and delayed requeues (conflicts, unschedulable retries) in fake time.
constexpr std::chrono::milliseconds kTick{100};

config::ControllerConfig testConfig(scheduler::Policy policy) {
  config::ControllerConfig config;
  config.scheduler.policy = policy;
  config.scheduler.default_overcommit = {scheduler::Ratio{1000}, scheduler::Ratio{1000}};
  config.workers.vm = 4;
  config.workers.hypervisor = 2;
  config.health.heartbeat_timeout = kHeartbeatTimeout;
  return config;
}

class ControllerAppTest : public ::testing::Test {
protected:
  void TearDown() override { apps_.clear(); }

  ControllerApp& startApp(config::ControllerConfig config, std::string identity = "ctl-0") {
    ControllerAppOptions options;
    options.config = std::move(config);
    options.identity = std::move(identity);
    options.clock = clock_;
    options.registry = std::make_shared<prometheus::Registry>();
    apps_.push_back(std::make_unique<ControllerApp>(client_, options));
    apps_.back()->startLeading();
    return *apps_.back();
  }

  // Polls until `pred` holds, moving the fake clock by kTick per poll.
  template <typename Pred>
  bool settles(Pred pred) {
    return eventually([&] {
      clock_->advance(kTick);
      return pred();
    });
  }

  void addHypervisors(int count, int32_t cpus, int64_t memory) {
    for (int i = 0; i < count; ++i) {
      std::string name = std::string("hv-") + static_cast<char>('a' + i);
      ASSERT_TRUE(ctltest::registerHypervisor(*client_, ctltest::makeHypervisor(name, cpus, memory))
                      .isOk());
      ASSERT_TRUE(
          client_->create(kube::kLease, "novacron-node-lease", ctltest::makeLease(name, "t0"))
              .isOk());
    }
  }

  // Renews a heartbeat Lease as its node-daemon would, and waits until `app` has seen it (from
  // then on, any look at the Lease counts its age from a time no earlier than now).
  void renewLease(const ControllerApp& app, const std::string& name, const std::string& renew) {
    auto lease = client_->get(kube::kLease, "novacron-node-lease", name);
    ASSERT_TRUE(lease.isOk());
    (*lease)["spec"]["renewTime"] = renew;
    ASSERT_TRUE(client_->update(kube::kLease, "novacron-node-lease", *lease).isOk());
    ASSERT_TRUE(eventually([&] {
      auto seen = app.cache().heartbeat(name);
      return seen && seen->renew_time == renew;
    }));
  }

  void createVm(const std::string& name, int32_t cpus, int64_t memory) {
    ASSERT_TRUE(client_
                    ->create(kube::kVirtualMachine, "default",
                             api::toJson(ctltest::makeVm("default", name, cpus, memory)))
                    .isOk());
  }

  std::vector<api::VirtualMachine> vms() {
    std::vector<api::VirtualMachine> out;
    for (const auto& json : client_->objects(kube::kVirtualMachine)) {
      out.push_back(*api::virtualMachineFromJson(json));
    }
    return out;
  }
  api::Hypervisor hypervisor(const std::string& name) {
    return *api::hypervisorFromJson(*client_->get(kube::kHypervisor, "", name));
  }
  std::map<std::string, int> boundCounts() {
    std::map<std::string, int> counts;
    for (const auto& vm : vms()) {
      if (auto bound = boundHypervisor(vm); !bound.empty()) {
        ++counts[bound];
      }
    }
    return counts;
  }
  int boundTotal() {
    int total = 0;
    for (const auto& [hv, n] : boundCounts()) {
      total += n;
    }
    return total;
  }

  std::shared_ptr<novacron::testing::FakeClock> clock_ =
      std::make_shared<novacron::testing::FakeClock>();
  std::shared_ptr<novacron::testing::FakeClient> client_ =
      std::make_shared<novacron::testing::FakeClient>();
  std::vector<std::unique_ptr<ControllerApp>> apps_;
};

TEST_F(ControllerAppTest, SpreadPlacesEvenlyAndKeepsTheLedger) {
  addHypervisors(3, 8, 16 * kGi);
  for (int i = 0; i < 12; ++i) {
    createVm("vm-" + std::to_string(i), 1, kGi);
  }
  startApp(testConfig(scheduler::Policy::kSpread));
  ASSERT_TRUE(settles([&] { return boundTotal() == 12; })) << boundTotal();
  EXPECT_EQ(boundCounts(), (std::map<std::string, int>{{"hv-a", 4}, {"hv-b", 4}, {"hv-c", 4}}));
  ASSERT_TRUE(settles([&] {
    for (const auto& vm : vms()) {
      if (hypervisorLabel(vm) != boundHypervisor(vm) ||
          !api::isConditionTrue(vm.status.conditions, api::kConditionScheduled) ||
          vm.status.phase != api::VirtualMachinePhase::kScheduled) {
        return false;
      }
    }
    return true;
  }));
  for (const auto& vm : vms()) {
    const api::Condition* scheduled =
        api::findCondition(vm.status.conditions, api::kConditionScheduled);
    ASSERT_NE(scheduled, nullptr);
    EXPECT_EQ(scheduled->observedGeneration, vm.metadata.generation);
  }
  ASSERT_TRUE(settles([&] {
    for (const char* name : {"hv-a", "hv-b", "hv-c"}) {
      auto hv = hypervisor(name);
      if (!hv.status.allocated || hv.status.allocated->vms != 4 || hv.status.allocated->cpus != 4 ||
          hv.status.allocated->memory.value() != 4 * kGi) {
        return false;
      }
    }
    return true;
  }));
  auto ledger = ledgerOf(hypervisor("hv-a"));
  ASSERT_TRUE(ledger.isOk());
  EXPECT_EQ(ledger->size(), 4u);
}

TEST_F(ControllerAppTest, BinPackFillsOneHypervisorFirst) {
  addHypervisors(3, 8, 16 * kGi);
  startApp(testConfig(scheduler::Policy::kBinPack));
  for (int i = 0; i < 10; ++i) {
    createVm("vm-" + std::to_string(i), 1, kGi);
  }
  ASSERT_TRUE(settles([&] { return boundTotal() == 10; }));
  EXPECT_EQ(boundCounts(), (std::map<std::string, int>{{"hv-a", 8}, {"hv-b", 2}}));
}

TEST_F(ControllerAppTest, TooBigStaysSchedulingWithTheExplanation) {
  addHypervisors(3, 8, 16 * kGi);
  startApp(testConfig(scheduler::Policy::kSpread));
  createVm("huge", 2, 64 * kGi);
  ASSERT_TRUE(settles([&] {
    auto vm = vms().at(0);
    return api::findCondition(vm.status.conditions, api::kConditionScheduled) != nullptr;
  }));
  auto vm = vms().at(0);
  EXPECT_TRUE(boundHypervisor(vm).empty());
  EXPECT_EQ(vm.status.phase, api::VirtualMachinePhase::kScheduling);
  const api::Condition* scheduled =
      api::findCondition(vm.status.conditions, api::kConditionScheduled);
  EXPECT_EQ(scheduled->status, api::ConditionStatus::kFalse);
  EXPECT_EQ(scheduled->reason, "Unschedulable");
  EXPECT_EQ(scheduled->message, "0/3 hypervisors available: 3 insufficient memory");
  ASSERT_TRUE(settles([&] {
    for (const auto& event : client_->objects(kube::kCoreEvent)) {
      if (event.value("reason", "") == "FailedScheduling") {
        return true;
      }
    }
    return false;
  }));
}

TEST_F(ControllerAppTest, TwoControllersRacingNeverOvercommitNorBindTwice) {
  addHypervisors(3, 4, 64 * kGi);
  // Record every binding as the API sees it, to catch even a transient overcommit.
  std::mutex seen_mu;
  std::map<std::string, std::string> bound_to;  // vm -> hypervisor (first binding)
  std::vector<std::string> violations;
  auto watch = client_->watch(
      kube::kVirtualMachine, "", kube::WatchOptions{}, [&](kube::WatchEvent&& event) {
        auto vm = api::virtualMachineFromJson(event.object);
        if (!vm.isOk()) {
          return true;
        }
        std::lock_guard lock(seen_mu);
        auto hv = boundHypervisor(*vm);
        auto& first = bound_to[vm->metadata.name];
        if (!hv.empty()) {
          if (!first.empty() && first != hv) {
            violations.push_back(vm->metadata.name + " rebound " + first + " -> " + hv);
          }
          first = hv;
          std::map<std::string, int> per_hv;
          for (const auto& [name, h] : bound_to) {
            if (!h.empty()) {
              ++per_hv[h];
            }
          }
          if (per_hv[hv] > 4) {
            violations.push_back(hv + " holds " + std::to_string(per_hv[hv]) + " VMs");
          }
        }
        return true;
      });
  ASSERT_TRUE(watch.isOk());
  for (int i = 0; i < 20; ++i) {
    createVm("vm-" + std::to_string(i), 1, kGi);
  }
  startApp(testConfig(scheduler::Policy::kSpread), "ctl-0");
  startApp(testConfig(scheduler::Policy::kBinPack), "ctl-1");  // disagreeing policies, too
  ASSERT_TRUE(settles([&] { return boundTotal() == 12; })) << boundTotal();
  // Give the losers time to try (and fail) to bind more.
  ASSERT_TRUE(settles([&] {
    int pending = 0;
    for (const auto& vm : vms()) {
      const api::Condition* c = api::findCondition(vm.status.conditions, api::kConditionScheduled);
      pending += c && c->status == api::ConditionStatus::kFalse ? 1 : 0;
    }
    return pending == 8;
  }));
  EXPECT_EQ(boundTotal(), 12);
  EXPECT_EQ(boundCounts(), (std::map<std::string, int>{{"hv-a", 4}, {"hv-b", 4}, {"hv-c", 4}}));
  ASSERT_TRUE(settles([&] {
    for (const char* name : {"hv-a", "hv-b", "hv-c"}) {
      auto l = ledgerOf(hypervisor(name));
      if (!l.isOk() || l->size() != 4) {
        return false;
      }
    }
    return true;
  }));
  std::lock_guard lock(seen_mu);
  EXPECT_THAT(violations, ::testing::IsEmpty());
}

TEST_F(ControllerAppTest, DeletingAVmReleasesItsCapacity) {
  addHypervisors(1, 2, 64 * kGi);
  startApp(testConfig(scheduler::Policy::kSpread));
  createVm("a", 1, kGi);
  createVm("b", 1, kGi);
  ASSERT_TRUE(settles([&] { return boundTotal() == 2; }));
  createVm("c", 1, kGi);
  ASSERT_TRUE(settles([&] {
    auto list = vms();
    for (const auto& vm : list) {
      if (vm.metadata.name == "c") {
        return api::findCondition(vm.status.conditions, api::kConditionScheduled) != nullptr;
      }
    }
    return false;
  }));
  EXPECT_EQ(boundTotal(), 2);
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, "default", "a").isOk());
  // The bound node-daemon's part (none runs here): it cleans up and releases its finalizer, which
  // the controller added with the binding's label.
  auto a = client_->get(kube::kVirtualMachine, "default", "a");
  ASSERT_TRUE(a.isOk());
  ASSERT_TRUE(
      runtime::removeFinalizer(*client_, kube::kVirtualMachine, *a, api::kNodeCleanupFinalizer)
          .isOk());
  ASSERT_TRUE(settles([&] { return boundTotal() == 2 && vms().size() == 2; }));
  ASSERT_TRUE(settles([&] {
    auto hv = hypervisor("hv-a");
    auto l = ledgerOf(hv);
    return l.isOk() && l->size() == 2 && !l->contains("default/a") && l->contains("default/c") &&
           hv.status.allocated && hv.status.allocated->vms == 2;
  }));
}

TEST_F(ControllerAppTest, StaleHeartbeatMarksVmsUnknownAndNeverMovesThem) {
  addHypervisors(2, 8, 16 * kGi);
  ControllerApp& app = startApp(testConfig(scheduler::Policy::kSpread));
  for (int i = 0; i < 4; ++i) {
    createVm("vm-" + std::to_string(i), 1, kGi);
  }
  ASSERT_TRUE(settles([&] { return boundTotal() == 4; }));
  const auto before = boundCounts();
  // hv-a renews its heartbeat, hv-b does not: hv-b (only) becomes older than the timeout.
  clock_->advance(kHeartbeatTimeout - std::chrono::minutes(10));
  renewLease(app, "hv-a", "t1");
  clock_->advance(std::chrono::minutes(11));
  ASSERT_TRUE(settles([&] {
    const api::Condition* ready =
        api::findCondition(hypervisor("hv-b").status.conditions, api::kConditionReady);
    return ready && ready->status == api::ConditionStatus::kUnknown;
  }));
  ASSERT_TRUE(settles([&] {
    for (const auto& vm : vms()) {
      if (boundHypervisor(vm) == "hv-b" &&
          (vm.status.phase != api::VirtualMachinePhase::kUnknown ||
           !api::isConditionTrue(vm.status.conditions, api::kConditionHypervisorUnreachable))) {
        return false;
      }
    }
    return true;
  }));
  // Still bound where they were: nothing was restarted elsewhere (failover policy None).
  EXPECT_EQ(boundCounts(), before);
  // Its VMs on the healthy hypervisor are untouched.
  for (const auto& vm : vms()) {
    if (boundHypervisor(vm) == "hv-a") {
      EXPECT_FALSE(
          api::isConditionTrue(vm.status.conditions, api::kConditionHypervisorUnreachable));
    }
  }
  // A new VM goes to the healthy hypervisor only.
  createVm("late", 1, kGi);
  ASSERT_TRUE(settles([&] { return boundTotal() == 5; }));
  EXPECT_EQ(boundCounts().at("hv-a"), before.at("hv-a") + 1);

  renewLease(app, "hv-b", "t1");
  ASSERT_TRUE(settles([&] {
    return api::isConditionTrue(hypervisor("hv-b").status.conditions, api::kConditionReady);
  }));
  ASSERT_TRUE(settles([&] {
    for (const auto& vm : vms()) {
      if (boundHypervisor(vm) == "hv-b" &&
          api::isConditionTrue(vm.status.conditions, api::kConditionHypervisorUnreachable)) {
        return false;
      }
    }
    return true;
  }));
}

TEST_F(ControllerAppTest, FencedHypervisorFailsOverOnlyWhenPolicyAllows) {
  addHypervisors(2, 8, 16 * kGi);
  auto config = testConfig(scheduler::Policy::kBinPack);
  config.health.failover = config::FailoverPolicy::kFenced;
  startApp(config);
  createVm("x", 1, kGi);
  ASSERT_TRUE(settles([&] { return boundTotal() == 1; }));
  ASSERT_EQ(boundCounts(), (std::map<std::string, int>{{"hv-a", 1}}));
  auto hv = client_->get(kube::kHypervisor, "", "hv-a");
  ASSERT_TRUE(hv.isOk());
  (*hv)["metadata"]["annotations"]["novacron.io/fenced"] = "true";
  ASSERT_TRUE(client_->update(kube::kHypervisor, "", *hv).isOk());
  ASSERT_TRUE(settles([&] { return boundCounts() == std::map<std::string, int>{{"hv-b", 1}}; }));
  ASSERT_TRUE(settles([&] {
    auto l = ledgerOf(hypervisor("hv-a"));
    return l.isOk() && l->empty();
  }));
}

TEST_F(ControllerAppTest, DeletedHypervisorWithoutFailoverPolicyKeepsVmsBound) {
  addHypervisors(2, 8, 16 * kGi);
  startApp(testConfig(scheduler::Policy::kBinPack));
  createVm("x", 1, kGi);
  ASSERT_TRUE(settles([&] { return boundTotal() == 1; }));
  ASSERT_TRUE(client_->remove(kube::kHypervisor, "", "hv-a").isOk());
  ASSERT_TRUE(settles([&] {
    auto vm = vms().at(0);
    return vm.status.phase == api::VirtualMachinePhase::kUnknown &&
           api::isConditionTrue(vm.status.conditions, api::kConditionHypervisorUnreachable);
  }));
  EXPECT_EQ(boundCounts(), (std::map<std::string, int>{{"hv-a", 1}}));
}

// Writes the status of a custom resource the way a node-daemon would: re-read and retry on a
// conflict with the controller's own writes.
template <typename Mutate>
bool writeStatusAsNode(novacron::testing::FakeClient& client, const kube::ResourceType& resource,
                       const std::string& ns, const std::string& name, Mutate mutate) {
  return eventually([&] {
    auto json = client.get(resource, ns, name);
    if (!json.isOk()) {
      return false;
    }
    mutate((*json)["status"]);
    return client.updateStatus(resource, ns, *json).isOk();
  });
}

TEST_F(ControllerAppTest, MigrationMovesTheBindingAndTheLedgerEntry) {
  addHypervisors(2, 8, 16 * kGi);
  for (const char* name : {"hv-a", "hv-b"}) {
    api::Hypervisor hv = hypervisor(name);
    api::HypervisorMigrationSpec migration;
    migration.address = std::string("10.0.0.") + (name[3] == 'a' ? "1" : "2");
    hv.spec.migration = migration;
    ASSERT_TRUE(client_->update(kube::kHypervisor, "", api::toJson(hv)).isOk());
  }
  startApp(testConfig(scheduler::Policy::kBinPack));
  createVm("web-1", 1, kGi);
  ASSERT_TRUE(settles([&] { return boundTotal() == 1; }));
  const std::string source = boundHypervisor(vms().front());
  const std::string target = source == "hv-a" ? "hv-b" : "hv-a";
  ASSERT_TRUE(writeStatusAsNode(*client_, kube::kVirtualMachine, "default", "web-1",
                                [](nlohmann::json& status) { status["phase"] = "Running"; }));

  api::VMMigration m;
  m.metadata.namespace_ = "default";
  m.metadata.name = "m1";
  m.spec.vmName = "web-1";
  ASSERT_TRUE(client_->create(kube::kVMMigration, "default", api::toJson(m)).isOk());
  auto migration = [&] {
    return *api::vmMigrationFromJson(*client_->get(kube::kVMMigration, "default", "m1"));
  };
  ASSERT_TRUE(settles([&] { return migration().status.phase == api::MigrationPhase::kMigrating; }));
  EXPECT_EQ(migration().status.targetHypervisor, target);
  EXPECT_EQ(migration().status.targetAddress, target == "hv-a" ? "10.0.0.1" : "10.0.0.2");
  EXPECT_EQ(vms().front().status.activeMigration, "m1");
  // The ledger reconciler counts the reservation on the target (it does not drop it).
  ASSERT_TRUE(settles([&] {
    auto hv = hypervisor(target);
    return hv.status.allocated && hv.status.allocated->vms == 1;
  }));

  ASSERT_TRUE(writeStatusAsNode(*client_, kube::kVMMigration, "default", "m1",
                                [](nlohmann::json& status) { status["phase"] = "Finalizing"; }));
  ASSERT_TRUE(settles([&] { return migration().status.phase == api::MigrationPhase::kSucceeded; }));
  api::VirtualMachine moved = vms().front();
  EXPECT_EQ(boundHypervisor(moved), target);
  EXPECT_FALSE(moved.status.activeMigration.has_value());
  ASSERT_TRUE(settles([&] { return hypervisorLabel(vms().front()) == target; }));
  ASSERT_TRUE(settles([&] {
    auto from = hypervisor(source);
    auto to = hypervisor(target);
    return from.status.allocated && from.status.allocated->vms == 0 && to.status.allocated &&
           to.status.allocated->vms == 1;
  }));
  EXPECT_TRUE(ledgerOf(hypervisor(target))->contains("default/web-1"));
  EXPECT_FALSE(ledgerOf(hypervisor(source))->contains("default/web-1"));
}

}  // namespace
}  // namespace novacron::controller
