// Rebalancing inside the whole controller (ControllerApp: informers, reconcilers, the rebalancing
// loop on its own thread) against the in-memory FakeClient: the VM controller packs three VMs onto
// one hypervisor (BinPack), their node-daemon reports them Running, and the loop, enabled in
// Execute mode, creates a rebalance VMMigration to the empty hypervisor and then waits for it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/controller_app.h"
#include "controller/rebalance/round.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "tests/mocks/fake_clock.h"
#include "tests/mocks/mock_kube_client.h"
#include "tests/testing/eventually.h"
#include "tests/unit/controller/cluster_objects.h"

namespace novacron::controller::rebalance {
namespace {

using ctltest::kGi;

class RebalanceAppTest : public ::testing::Test {
protected:
  void SetUp() override {
    for (const char* name : {"hv-a", "hv-b"}) {
      auto hv = ctltest::makeHypervisor(name, 16, 100 * kGi);
      hv.spec.migration = api::HypervisorMigrationSpec{};
      hv.spec.migration->address = std::string(name) + ".example";
      ASSERT_TRUE(ctltest::registerHypervisor(*client_, hv).isOk());
      ASSERT_TRUE(
          client_->create(kube::kLease, "novacron-node-lease", ctltest::makeLease(name, "t0"))
              .isOk());
    }
  }

  // Polls `pred`, moving the fake clock by `tick` per poll (work-queue delays, the loop's waits).
  template <typename Pred>
  bool settles(Pred pred, std::chrono::milliseconds tick = std::chrono::milliseconds(100)) {
    return novacron::testing::eventually(
        [&] {
          clock_->advance(tick);
          return pred();
        },
        std::chrono::seconds(30));
  }

  std::vector<api::VirtualMachine> vms() const {
    std::vector<api::VirtualMachine> out;
    for (const auto& json : client_->objects(kube::kVirtualMachine)) {
      out.push_back(*api::virtualMachineFromJson(json));
    }
    return out;
  }

  std::vector<api::VMMigration> rebalanceMigrations() const {
    std::vector<api::VMMigration> out;
    for (const auto& json : client_->objects(kube::kVMMigration)) {
      auto m = *api::vmMigrationFromJson(json);
      if (recordOf(m).rebalance) {
        out.push_back(std::move(m));
      }
    }
    return out;
  }

  // What the node-daemon would write once the domain runs.
  bool markRunning(const api::VirtualMachine& vm) {
    auto json = client_->get(kube::kVirtualMachine, "default", vm.metadata.name);
    if (!json.isOk()) {
      return false;
    }
    auto current = *api::virtualMachineFromJson(*json);
    current.status.phase = api::VirtualMachinePhase::kRunning;
    return client_->updateStatus(kube::kVirtualMachine, "default", api::toJson(current)).isOk();
  }

  double waitingRounds() const {
    for (const auto& family : registry_->Collect()) {
      if (family.name != "novacron_rebalance_rounds_total") {
        continue;
      }
      for (const auto& metric : family.metric) {
        if (!metric.label.empty() && metric.label[0].value == "Waiting") {
          return metric.counter.value;
        }
      }
    }
    return 0;
  }

  std::shared_ptr<novacron::testing::FakeClock> clock_ =
      std::make_shared<novacron::testing::FakeClock>();
  std::shared_ptr<novacron::testing::FakeClient> client_ =
      std::make_shared<novacron::testing::FakeClient>(clock_);
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
};

TEST_F(RebalanceAppTest, TheLoopMovesOneVmOffAPackedHypervisorAndWaitsForIt) {
  config::ControllerConfig config;
  config.scheduler.policy = scheduler::Policy::kBinPack;
  config.scheduler.default_overcommit = {scheduler::Ratio{1000}, scheduler::Ratio{1000}};
  config.health.heartbeat_timeout = std::chrono::hours(24);
  config.rebalance.enabled = true;
  config.rebalance.mode = Mode::kExecute;
  config.rebalance.max_imbalance_percent = 30;
  config.rebalance.interval = std::chrono::seconds(10);
  ControllerAppOptions options;
  options.config = config;
  options.clock = clock_;
  options.registry = registry_;
  ControllerApp app(client_, options);
  app.startLeading();

  for (const char* name : {"v1", "v2", "v3"}) {
    ASSERT_TRUE(client_
                    ->create(kube::kVirtualMachine, "default",
                             api::toJson(ctltest::makeVm("default", name, 1, 20 * kGi)))
                    .isOk());
  }
  ASSERT_TRUE(settles([&] {
    auto all = vms();
    return all.size() == 3 && std::all_of(all.begin(), all.end(), [](const auto& vm) {
             return boundHypervisor(vm) == "hv-a";
           });
  })) << "BinPack did not put every VM on hv-a";
  ASSERT_TRUE(settles([&] {
    bool all = true;
    for (const auto& vm : vms()) {
      all = (vm.status.phase == api::VirtualMachinePhase::kRunning || markRunning(vm)) && all;
    }
    return all;
  }));

  // hv-a 60 %, hv-b 0 %: one 20 Gi VM moving makes it 40 / 20, within 30 points.
  ASSERT_TRUE(settles([&] { return !rebalanceMigrations().empty(); }, std::chrono::seconds(1)))
      << "no rebalance VMMigration";
  const auto created = rebalanceMigrations();
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].spec.targetHypervisor, "hv-b");
  EXPECT_EQ(created[0].metadata.annotations.at(std::string(kSourceAnnotation)), "hv-a");

  // Its migration cannot finish here (no node-daemon): later rounds wait for it, create nothing.
  const double before = waitingRounds();
  ASSERT_TRUE(settles([&] { return waitingRounds() >= before + 2; }, std::chrono::seconds(1)));
  EXPECT_EQ(rebalanceMigrations().size(), 1u);
  app.stopLeading();
}

}  // namespace
}  // namespace novacron::controller::rebalance
