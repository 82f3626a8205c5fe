// The rebalancing loop's observe/act around the pure round (round_test.cc covers the decisions):
// it reads the cluster through the cache, writes VMMigrations through the client, and keeps no
// state of its own that a restart would lose.
#include "controller/rebalance/rebalancer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/ledger/ledger.h"
#include "tests/unit/controller/reconciler_fixture.h"

namespace novacron::controller::rebalance {
namespace {

using ctltest::kGi;

class RebalancerTest : public ctltest::ReconcilerFixture {
protected:
  RebalancerTest() {
    config_.rebalance.enabled = true;
    config_.rebalance.max_imbalance_percent = 20;
    config_.rebalance.budget_per_hour = 5;
    config_.rebalance.budget_per_node_per_hour = 5;
  }

  void SetUp() override {
    for (const char* name : {"a", "b"}) {
      auto hv = ctltest::makeHypervisor(name, 64, 100 * kGi);
      hv.spec.migration = api::HypervisorMigrationSpec{};
      hv.spec.migration->address = std::string("10.0.0.") + (name[0] == 'a' ? "1" : "2");
      ASSERT_TRUE(ctltest::registerHypervisor(*client_, hv).isOk());
    }
    heartbeats_->observe("a", "t0");
    heartbeats_->observe("b", "t0");
    // a holds 80 Gi: v1 (40), v2 (20), v3 (20); b is empty.
    ledger::Ledger on_a;
    for (auto [name, gi] : {std::pair{"v1", 40}, std::pair{"v2", 20}, std::pair{"v3", 20}}) {
      addRunningVm(name, "a", gi);
      on_a["default/" + std::string(name)] =
          ledger::LedgerEntry{"uid-" + std::string(name), {1, gi * kGi, 0}, ""};
    }
    setHypervisorLedger("a", on_a);
  }

  void addRunningVm(const std::string& name, const std::string& on, int64_t gi) {
    auto v = ctltest::makeVm("default", name, 1, gi * kGi);
    v.metadata.labels[std::string(api::kHypervisorLabel)] = on;
    auto created = client_->create(kube::kVirtualMachine, "default", api::toJson(v));
    ASSERT_TRUE(created.isOk());
    auto with_status = *created;
    api::VirtualMachineStatus status;
    status.phase = api::VirtualMachinePhase::kRunning;
    status.hypervisor = on;
    with_status["status"] = api::toJson(status);
    ASSERT_TRUE(client_->updateStatus(kube::kVirtualMachine, "default", with_status).isOk());
  }

  std::unique_ptr<Rebalancer> rebalancer() {
    return std::make_unique<Rebalancer>(RebalancerDeps{
        client_, cache_, heartbeats_, events_, clock_, config_,
        std::make_shared<RebalanceMetrics>(std::make_shared<prometheus::Registry>())});
  }

  std::vector<api::VMMigration> migrations() const {
    std::vector<api::VMMigration> out;
    for (const auto& json : client_->objects(kube::kVMMigration)) {
      out.push_back(*api::vmMigrationFromJson(json));
    }
    return out;
  }

  void setPhase(const std::string& name, api::MigrationPhase phase) {
    auto json = client_->get(kube::kVMMigration, "default", name);
    ASSERT_TRUE(json.isOk());
    auto m = *api::vmMigrationFromJson(*json);
    m.status.phase = phase;
    m.status.failureReason = "target unreachable";
    ASSERT_TRUE(client_->updateStatus(kube::kVMMigration, "default", api::toJson(m)).isOk());
  }
};

TEST_F(RebalancerTest, ProposeModeExplainsAndCreatesNothing) {
  auto d = rebalancer()->runOnce();
  ASSERT_EQ(d.state, RoundState::kPlanned) << d.message;
  ASSERT_EQ(d.create.size(), 1u);
  EXPECT_EQ(d.create[0].vm_name, "v1");
  EXPECT_EQ(writes(kube::kVMMigration), 0u);
  EXPECT_THAT(eventMessage("v1", "RebalanceProposed"),
              ::testing::HasSubstr("would migrate to b: MemoryMaxMin spread 80.0 -> 0.0"));
}

TEST_F(RebalancerTest, ExecuteModeCreatesALabelledMigrationOnceAcrossRestarts) {
  config_.rebalance.mode = Mode::kExecute;
  auto d = rebalancer()->runOnce();
  ASSERT_EQ(d.create.size(), 1u) << d.message;
  auto created = migrations();
  ASSERT_EQ(created.size(), 1u);
  const auto& m = created[0];
  EXPECT_EQ(m.metadata.name, d.create[0].name);
  EXPECT_EQ(m.metadata.labels.at(std::string(kInitiatorLabel)), "rebalance");
  EXPECT_EQ(m.spec.vmName, "v1");
  EXPECT_EQ(m.spec.targetHypervisor, "b");
  EXPECT_EQ(m.metadata.annotations.at(std::string(kSourceAnnotation)), "a");
  EXPECT_THAT(eventMessage("v1", "RebalanceMigrationCreated"),
              ::testing::HasSubstr("VMMigration " + m.metadata.name + " moves it from a to b"));

  // The migration is in flight: this controller, or a restarted one, waits.
  EXPECT_EQ(rebalancer()->runOnce().state, RoundState::kWaiting);
  EXPECT_EQ(migrations().size(), 1u);
}

TEST_F(RebalancerTest, NoMoveToATargetAdmissionWouldRefuse) {
  // b lacks a CPU feature of a's: the migration controller would fail it (TargetCPUIncompatible).
  auto a = hypervisor("a");
  a.status.cpuModel = "Skylake";
  a.status.cpuFeatures = {"avx512f"};
  ASSERT_TRUE(client_->updateStatus(kube::kHypervisor, "", api::toJson(a)).isOk());
  auto b = hypervisor("b");
  b.status.cpuModel = "Haswell";
  ASSERT_TRUE(client_->updateStatus(kube::kHypervisor, "", api::toJson(b)).isOk());
  auto d = rebalancer()->runOnce();
  EXPECT_TRUE(d.create.empty());
  EXPECT_EQ(d.plan.outcome, PlanOutcome::kNoFeasibleMove) << d.message;
}

TEST_F(RebalancerTest, TheBudgetIsReadBackFromTheApiAfterARestart) {
  config_.rebalance.mode = Mode::kExecute;
  config_.rebalance.budget_per_hour = 1;
  auto first = rebalancer()->runOnce();
  ASSERT_EQ(first.create.size(), 1u);
  setPhase(first.create[0].name, api::MigrationPhase::kSucceeded);
  // Nothing moved in this fake cluster, so the fleet is as skewed as before; a new controller
  // must still see the hour's budget as spent.
  auto after = rebalancer()->runOnce();
  EXPECT_EQ(after.budget_remaining, 0);
  EXPECT_EQ(after.plan.outcome, PlanOutcome::kBudgetExhausted);
  EXPECT_TRUE(after.create.empty());
  EXPECT_EQ(migrations().size(), 1u);
  // An hour later the budget is back.
  clock_->advance(std::chrono::minutes(61));
  EXPECT_EQ(rebalancer()->runOnce().budget_remaining, 1);
}

TEST_F(RebalancerTest, AFailedRebalanceMigrationPausesWithAWarning) {
  config_.rebalance.mode = Mode::kExecute;
  auto first = rebalancer()->runOnce();
  ASSERT_EQ(first.create.size(), 1u);
  setPhase(first.create[0].name, api::MigrationPhase::kFailed);
  clock_->advance(std::chrono::hours(2));  // budget and cooldown are not what stops it
  auto d = rebalancer()->runOnce();
  EXPECT_EQ(d.state, RoundState::kPaused);
  EXPECT_TRUE(d.create.empty());
  EXPECT_EQ(migrations().size(), 1u);
  EXPECT_THAT(eventMessage(first.create[0].name, "RebalancePaused"),
              ::testing::HasSubstr("target unreachable"));
}

}  // namespace
}  // namespace novacron::controller::rebalance
