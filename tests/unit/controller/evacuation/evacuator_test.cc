// The evacuation through the HypervisorReconciler, on a FakeClient seen through a read-through
// FakeClusterCache: what it writes, that a second pass writes nothing new, and the clean stop when
// maintenance is cleared.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/hypervisor/hypervisor_reconciler.h"
#include "lib/api/names.h"
#include "tests/unit/controller/reconciler_fixture.h"

namespace novacron::controller {
namespace {

using ctltest::kGi;
using ::testing::Contains;
using ::testing::HasSubstr;

class EvacuatorTest : public ctltest::ReconcilerFixture {
protected:
  HypervisorReconciler& reconciler() {
    if (!reconciler_) {
      reconciler_ = std::make_unique<HypervisorReconciler>(HypervisorReconcilerDeps{
          client_, cache_, heartbeats_, nullptr, events_, clock_, config_, nullptr,
          std::make_shared<evacuation::EvacuationMetrics>(
              std::make_shared<prometheus::Registry>())});
    }
    return *reconciler_;
  }
  runtime::ReconcileResult reconcileOk(const std::string& name) {
    auto result = reconciler().reconcile(name);
    EXPECT_TRUE(result.isOk()) << result.status().toString();
    return result.isOk() ? *result : runtime::ReconcileResult{};
  }
  void createRunningVm(const std::string& name, const std::string& hv,
                       api::EvictionStrategy strategy) {
    api::VirtualMachine v = ctltest::makeVm("default", name, 1, kGi);
    v.spec.evictionStrategy = strategy;
    v.metadata.labels[std::string(api::kHypervisorLabel)] = hv;
    createVm(v);
    auto json = client_->get(kube::kVirtualMachine, "default", name);
    ASSERT_TRUE(json.isOk());
    (*json)["status"]["hypervisor"] = hv;
    (*json)["status"]["phase"] = "Running";
    ASSERT_TRUE(client_->updateStatus(kube::kVirtualMachine, "default", *json).isOk());
  }
  void setMaintenance(const std::string& name, bool on) {
    auto hv = client_->get(kube::kHypervisor, "", name);
    ASSERT_TRUE(hv.isOk());
    (*hv)["spec"]["maintenance"] = on;
    ASSERT_TRUE(client_->update(kube::kHypervisor, "", *hv).isOk());
  }
  std::vector<api::VMMigration> migrations() const {
    std::vector<api::VMMigration> out;
    for (const auto& json : client_->objects(kube::kVMMigration)) {
      out.push_back(*api::vmMigrationFromJson(json));
    }
    return out;
  }

  std::unique_ptr<HypervisorReconciler> reconciler_;
};

TEST_F(EvacuatorTest, MaintenanceCreatesEvacuationMigrationsAndStopsNoneVmsOnce) {
  addHypervisor("hv-a", 8, 16 * kGi);
  addHypervisor("hv-b", 8, 16 * kGi);
  createRunningVm("web", "hv-a", api::EvictionStrategy::kLiveMigrate);
  createRunningVm("batch", "hv-a", api::EvictionStrategy::kNone);
  setMaintenance("hv-a", true);

  const auto result = reconcileOk("hv-a");
  EXPECT_GT(result.requeue_after.count(), 0);

  auto created = migrations();
  ASSERT_EQ(created.size(), 1u);
  const api::VMMigration& m = created[0];
  EXPECT_EQ(m.metadata.name, "evac-hv-a-web-1");
  EXPECT_EQ(m.spec.vmName, "web");
  EXPECT_EQ(m.spec.mode, api::MigrationMode::kLive);
  EXPECT_FALSE(m.spec.targetHypervisor);  // the scheduler picks (zone, bandwidth, spread)
  EXPECT_EQ(m.metadata.labels.at(std::string(api::kInitiatorLabel)), "evacuation");
  EXPECT_EQ(m.metadata.labels.at(std::string(api::kEvacuatingHypervisorLabel)), "hv-a");
  ASSERT_EQ(m.metadata.ownerReferences.size(), 1u);
  EXPECT_EQ(m.metadata.ownerReferences[0].uid, vm("web").metadata.uid);

  const api::VirtualMachine batch = vm("batch");
  EXPECT_EQ(batch.spec.runStrategy, api::RunStrategy::kHalted);
  EXPECT_EQ(batch.metadata.annotations.at(std::string(api::kEvacuationStoppedAnnotation)),
            "Always");

  const api::Hypervisor hv = hypervisor("hv-a");
  ASSERT_TRUE(hv.status.evacuation);
  EXPECT_EQ(hv.status.evacuation->total, 2);
  EXPECT_EQ(hv.status.evacuation->pending, 2);
  EXPECT_TRUE(api::isConditionTrue(hv.status.conditions, api::kConditionEvacuating));
  EXPECT_THAT(eventReasons("hv-a"), Contains("EvacuationMigrating"));
  EXPECT_THAT(eventReasons("hv-a"), Contains("EvacuationStopping"));

  // Idempotent: a second pass creates and changes nothing.
  client_->clearActions();
  reconcileOk("hv-a");
  EXPECT_EQ(writes(kube::kVMMigration), 0u);
  EXPECT_EQ(writes(kube::kVirtualMachine), 0u);
  EXPECT_EQ(migrations().size(), 1u);
}

TEST_F(EvacuatorTest, ClearingMaintenanceCancelsPendingEvacuationsAndRestartsStoppedVms) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createRunningVm("web", "hv-a", api::EvictionStrategy::kLiveMigrate);
  createRunningVm("batch", "hv-a", api::EvictionStrategy::kNone);
  setMaintenance("hv-a", true);
  reconcileOk("hv-a");
  ASSERT_EQ(migrations().size(), 1u);

  setMaintenance("hv-a", false);
  reconcileOk("hv-a");
  EXPECT_TRUE(migrations().empty());  // Pending: deleted (nothing held a finalizer here)
  const api::VirtualMachine batch = vm("batch");
  EXPECT_EQ(batch.spec.runStrategy, api::RunStrategy::kAlways);
  EXPECT_FALSE(batch.metadata.annotations.contains(std::string(api::kEvacuationStoppedAnnotation)));
  const api::Hypervisor hv = hypervisor("hv-a");
  EXPECT_FALSE(hv.status.evacuation);
  const api::Condition* evacuating =
      api::findCondition(hv.status.conditions, api::kConditionEvacuating);
  ASSERT_NE(evacuating, nullptr);
  EXPECT_EQ(evacuating->status, api::ConditionStatus::kFalse);
  EXPECT_EQ(evacuating->reason, "MaintenanceCleared");
  EXPECT_TRUE(api::isConditionTrue(hv.status.conditions, api::kConditionSchedulable));
  EXPECT_THAT(eventReasons("hv-a"), Contains("EvacuationCancelled"));
  EXPECT_THAT(eventReasons("hv-a"), Contains("EvacuationRestoring"));
}

TEST_F(EvacuatorTest, AHypervisorOutOfMaintenanceGetsNoEvacuationStatus) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createRunningVm("web", "hv-a", api::EvictionStrategy::kLiveMigrate);
  reconcileOk("hv-a");
  EXPECT_TRUE(migrations().empty());
  const api::Hypervisor hv = hypervisor("hv-a");
  EXPECT_FALSE(hv.status.evacuation);
  EXPECT_EQ(api::findCondition(hv.status.conditions, api::kConditionEvacuating), nullptr);
}

TEST_F(EvacuatorTest, BlockedWhileAVmCannotMoveAndEvacuatedOnceNothingIsLeftToMove) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createRunningVm("db", "hv-a", api::EvictionStrategy::kLiveMigrate);
  auto json = client_->get(kube::kVirtualMachine, "default", "db");
  ASSERT_TRUE(json.isOk());
  (*json)["status"]["conditions"] = nlohmann::json::array(
      {{{"type", "Migratable"},
        {"status", "False"},
        {"reason", "HostPassthroughCPU"},
        {"message", "cpu.model host-passthrough ties the guest to this host's exact CPU"},
        {"lastTransitionTime", "2026-01-01T00:00:00Z"}}});
  ASSERT_TRUE(client_->updateStatus(kube::kVirtualMachine, "default", *json).isOk());
  setMaintenance("hv-a", true);

  reconcileOk("hv-a");
  EXPECT_TRUE(migrations().empty());
  api::Hypervisor hv = hypervisor("hv-a");
  const api::Condition* evacuating =
      api::findCondition(hv.status.conditions, api::kConditionEvacuating);
  ASSERT_NE(evacuating, nullptr);
  EXPECT_EQ(evacuating->reason, "Blocked");
  EXPECT_EQ(evacuating->message, "1 VM cannot move: not live-migratable");
  ASSERT_TRUE(hv.status.evacuation);
  ASSERT_EQ(hv.status.evacuation->blocked.size(), 1u);
  EXPECT_EQ(hv.status.evacuation->blocked[0].vm, "default/db");
  EXPECT_THAT(eventReasons("hv-a"), Contains("EvacuationBlocked"));

  // The VM is deleted (or moved by hand): nothing is left to move.
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, "default", "db").isOk());
  reconcileOk("hv-a");
  hv = hypervisor("hv-a");
  EXPECT_TRUE(api::isConditionTrue(hv.status.conditions, api::kConditionEvacuated));
  EXPECT_THAT(api::findCondition(hv.status.conditions, api::kConditionEvacuated)->message,
              HasSubstr("0 migrated, 0 stopped"));
  EXPECT_THAT(eventReasons("hv-a"), Contains("Evacuated"));
}

}  // namespace
}  // namespace novacron::controller
