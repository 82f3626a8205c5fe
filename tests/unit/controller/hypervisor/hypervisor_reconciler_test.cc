// HypervisorReconciler called directly, on a FakeClient seen through a read-through
// FakeClusterCache, with a FakeClock driving heartbeat freshness.
#include "controller/hypervisor/hypervisor_reconciler.h"

#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "controller/ledger/ledger.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/names.h"
#include "tests/unit/controller/reconciler_fixture.h"

namespace novacron::controller {
namespace {

using ctltest::kGi;
using ::testing::Contains;
using ::testing::ElementsAre;

class HypervisorReconcilerTest : public ctltest::ReconcilerFixture {
protected:
  HypervisorReconciler& reconciler() {
    if (!reconciler_) {
      reconciler_ = std::make_unique<HypervisorReconciler>(
          HypervisorReconcilerDeps{client_, cache_, heartbeats_, nullptr, events_, clock_, config_,
                                   [this](const std::string& key) { enqueued_.insert(key); }});
    }
    return *reconciler_;
  }
  runtime::ReconcileResult reconcileOk(const std::string& name) {
    auto result = reconciler().reconcile(name);
    EXPECT_TRUE(result.isOk()) << result.status().toString();
    return result.isOk() ? *result : runtime::ReconcileResult{};
  }
  // A VM whose status binds it to `hv` (as the VM reconciler leaves it), without a ledger entry.
  void createVmBoundTo(const std::string& name, const std::string& hv, int32_t cpus) {
    createVm(ctltest::makeVm("default", name, cpus, kGi));
    auto json = client_->get(kube::kVirtualMachine, "default", name);
    ASSERT_TRUE(json.isOk());
    (*json)["status"]["hypervisor"] = hv;
    ASSERT_TRUE(client_->updateStatus(kube::kVirtualMachine, "default", *json).isOk());
  }
  // A copy: the Hypervisor passed in is often a temporary.
  std::optional<api::Condition> condition(const api::Hypervisor& hv, std::string_view type) {
    const api::Condition* found = api::findCondition(hv.status.conditions, type);
    return found ? std::optional<api::Condition>(*found) : std::nullopt;
  }

  std::unique_ptr<HypervisorReconciler> reconciler_;
  std::set<std::string> enqueued_;
};

TEST_F(HypervisorReconcilerTest, LedgerIsRebuiltFromBoundVmsAndSummarisedInStatus) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createVmBoundTo("bound", "hv-a", 2);
  // A stale entry of a VM that no longer exists, and none yet for the bound VM.
  setHypervisorLedger("hv-a", {{"default/gone", ledger::LedgerEntry{"uid-gone", {1, kGi}, ""}}});
  client_->clearActions();

  reconcileOk("hv-a");

  const api::Hypervisor hv = hypervisor("hv-a");
  auto entries = ledgerOf(hv);
  ASSERT_TRUE(entries.isOk());
  std::vector<std::string> keys;
  for (const auto& [key, entry] : *entries) {
    keys.push_back(key);
  }
  EXPECT_THAT(keys, ElementsAre("default/bound"));
  EXPECT_EQ(entries->at("default/bound").uid, vm("bound").metadata.uid);
  ASSERT_TRUE(hv.status.allocated.has_value());
  EXPECT_EQ(hv.status.allocated->vms, 1);
  EXPECT_EQ(hv.status.allocated->cpus, 2);
  EXPECT_EQ(hv.status.allocated->memory.value(), kGi);
  // The gone VM's entry was dropped only after a live read confirmed it is gone.
  EXPECT_GE(client_->countActions(Verb::kGet, "virtualmachines"), 1u);
  // The ledger goes with its totals through the status subresource (conditional on the
  // resourceVersion), then the conditions of this first sight; the object itself is not written.
  EXPECT_EQ(hv.status.allocations, ledger::encodeLedger(*entries));
  EXPECT_EQ(client_->countActions(Verb::kUpdate, "hypervisors"), 0u);
  EXPECT_EQ(client_->countActions(Verb::kUpdateStatus, "hypervisors"), 2u);
}

// The informer's copy of a Hypervisor can be older than its copies of the VMs: a VM's label may
// arrive before the reservation that already counts it. The ledger is then planned again on a
// live read instead of being written on the stale copy (which would fail with a conflict).
TEST_F(HypervisorReconcilerTest, AStaleCachedHypervisorIsReadAgainInsteadOfWrittenOn) {
  addHypervisor("hv-a", 8, 16 * kGi);
  reconcileOk("hv-a");
  const auto stale = std::make_shared<const api::Hypervisor>(hypervisor("hv-a"));  // no entry
  createVmBoundTo("bound", "hv-a", 2);
  reconcileOk("hv-a");  // the entry is written
  ASSERT_EQ(ledgerOf(hypervisor("hv-a")).value().size(), 1u);
  cache_->pinHypervisor(stale);
  client_->clearActions();

  reconcileOk("hv-a");  // would be a 409 on the stale copy

  EXPECT_EQ(client_->countActions(Verb::kGet, "hypervisors"), 1u);
  EXPECT_EQ(client_->countActions(Verb::kUpdate, "hypervisors"), 0u);
  EXPECT_EQ(ledgerOf(hypervisor("hv-a")).value().size(), 1u);
}

TEST_F(HypervisorReconcilerTest, ReconcileTwiceInARowWritesNothingTheSecondTime) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createVmBoundTo("bound", "hv-a", 2);
  reconcileOk("hv-a");
  client_->clearActions();
  reconcileOk("hv-a");
  EXPECT_EQ(objectWrites(), 0u);
}

TEST_F(HypervisorReconcilerTest, StaleHeartbeatSetsReadyUnknownAndEnqueuesItsVms) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createVmBoundTo("bound", "hv-a", 1);
  reconcileOk("hv-a");  // first sight: a full timeout of grace
  EXPECT_TRUE(api::isConditionTrue(hypervisor("hv-a").status.conditions, api::kConditionReady));
  enqueued_.clear();

  clock_->advance(ctltest::kHeartbeatTimeout + std::chrono::seconds(1));
  const auto result = reconcileOk("hv-a");

  const api::Hypervisor hv = hypervisor("hv-a");
  const auto ready = condition(hv, api::kConditionReady);
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->status, api::ConditionStatus::kUnknown);
  EXPECT_EQ(ready->reason, "HeartbeatTimeout");
  const auto schedulable = condition(hv, api::kConditionSchedulable);
  ASSERT_TRUE(schedulable.has_value());
  EXPECT_EQ(schedulable->status, api::ConditionStatus::kFalse);
  EXPECT_EQ(schedulable->reason, "NotReady");
  EXPECT_THAT(enqueued_, Contains("default/bound"));
  EXPECT_THAT(eventReasons("hv-a"), Contains("HeartbeatTimeout"));
  EXPECT_EQ(result, runtime::ReconcileResult::after(config_.health.heartbeat_timeout));
  client_->clearActions();
  reconcileOk("hv-a");
  EXPECT_EQ(objectWrites(), 0u);
}

TEST_F(HypervisorReconcilerTest, ARenewedHeartbeatSetsReadyBack) {
  addHypervisor("hv-a", 8, 16 * kGi);
  reconcileOk("hv-a");
  clock_->advance(ctltest::kHeartbeatTimeout + std::chrono::seconds(1));
  reconcileOk("hv-a");
  ASSERT_EQ(condition(hypervisor("hv-a"), api::kConditionReady).value().status,
            api::ConditionStatus::kUnknown);

  renewLease("hv-a", "t1");
  reconcileOk("hv-a");

  const auto ready = condition(hypervisor("hv-a"), api::kConditionReady);
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->status, api::ConditionStatus::kTrue);
  EXPECT_EQ(ready->reason, "HeartbeatResumed");
  EXPECT_EQ(condition(hypervisor("hv-a"), api::kConditionSchedulable).value().status,
            api::ConditionStatus::kTrue);
}

TEST_F(HypervisorReconcilerTest, AFreshHypervisorIsLookedAtAgainWhenItsHeartbeatWouldBeLate) {
  addHypervisor("hv-a", 8, 16 * kGi);
  const auto result = reconcileOk("hv-a");
  EXPECT_EQ(result.requeue_after,
            std::chrono::nanoseconds(ctltest::kHeartbeatTimeout + std::chrono::milliseconds(50)));
}

TEST_F(HypervisorReconcilerTest, FencedHypervisorIsNotSchedulableAndItsVmsAreEnqueued) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createVmBoundTo("bound", "hv-a", 1);
  annotateHypervisor("hv-a", std::string(api::kFencedAnnotation), "true");
  reconcileOk("hv-a");
  const auto schedulable = condition(hypervisor("hv-a"), api::kConditionSchedulable);
  ASSERT_TRUE(schedulable.has_value());
  EXPECT_EQ(schedulable->reason, "Fenced");
  EXPECT_THAT(enqueued_, Contains("default/bound"));
}

TEST_F(HypervisorReconcilerTest, ADeletedHypervisorEnqueuesTheVmsBoundToIt) {
  createVmBoundTo("orphan", "hv-gone", 1);
  client_->clearActions();
  reconcileOk("hv-gone");
  EXPECT_THAT(enqueued_, Contains("default/orphan"));
  EXPECT_EQ(objectWrites(), 0u);
}

}  // namespace
}  // namespace novacron::controller

namespace novacron::controller {
namespace {

// status.allocated is written in the same status write as the ledger it sums up: never behind it,
// and no write of its own (issue 15, B2).
TEST_F(HypervisorReconcilerTest, TheLedgerAndItsTotalsAreWrittenTogether) {
  addHypervisor("hv-a", 8, 16 * kGi);
  reconcileOk("hv-a");  // first sight: conditions and an empty ledger, at once
  EXPECT_EQ(hypervisor("hv-a").status.allocations, "[]");
  ASSERT_EQ(hypervisor("hv-a").status.allocated->vms, 0);
  createVmBoundTo("one", "hv-a", 1);
  createVmBoundTo("two", "hv-a", 2);
  client_->clearActions();

  const runtime::ReconcileResult result = reconcileOk("hv-a");

  const api::Hypervisor hv = hypervisor("hv-a");
  EXPECT_EQ(ledgerOf(hv).value().size(), 2u);
  ASSERT_TRUE(hv.status.allocated.has_value());
  EXPECT_EQ(hv.status.allocated->vms, 2);
  EXPECT_EQ(hv.status.allocated->cpus, 3);
  EXPECT_EQ(client_->countActions(Verb::kUpdateStatus, "hypervisors"), 1u);
  EXPECT_EQ(objectWrites(), 1u);
  // Nothing deferred: the next look is the heartbeat's.
  EXPECT_EQ(result.requeue_after,
            std::chrono::nanoseconds(ctltest::kHeartbeatTimeout + std::chrono::milliseconds(50)));
  client_->clearActions();
  reconcileOk("hv-a");
  EXPECT_EQ(objectWrites(), 0u);
}

// A Hypervisor written by an older version keeps its ledger in the annotation
// novacron.io/allocations: it is copied into status (reservations in flight included), and only
// then, from the object whose status holds it, is the annotation removed.
TEST_F(HypervisorReconcilerTest, ALegacyLedgerAnnotationMovesIntoStatusThenGoes) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createVmBoundTo("bound", "hv-a", 2);
  createVm(ctltest::makeVm("default", "reserved", 1, kGi));  // unbound: a reservation in flight
  const ledger::Ledger legacy = {
      {"default/bound", ledger::LedgerEntry{vm("bound").metadata.uid, {2, kGi}, ""}},
      {"default/reserved", ledger::LedgerEntry{vm("reserved").metadata.uid, {1, kGi}, ""}}};
  // The old encoding: an object keyed by namespace/name.
  annotateHypervisor("hv-a", std::string(ledger::kLegacyLedgerAnnotation),
                     R"({"default/bound":{"cpus":2,"memory":1073741824,"uid":")" +
                         legacy.at("default/bound").uid +
                         R"("},"default/reserved":{"cpus":1,"memory":1073741824,"uid":")" +
                         legacy.at("default/reserved").uid + R"("}})");
  ASSERT_EQ(ledgerOf(hypervisor("hv-a")).value(), legacy);

  reconcileOk("hv-a");
  api::Hypervisor hv = hypervisor("hv-a");
  ASSERT_TRUE(hv.status.allocations.has_value());
  EXPECT_EQ(ledger::decodeLedger(*hv.status.allocations).value(), legacy);
  EXPECT_EQ(hv.status.allocated->vms, 2);

  reconcileOk("hv-a");
  hv = hypervisor("hv-a");
  EXPECT_FALSE(hv.metadata.annotations.contains(std::string(ledger::kLegacyLedgerAnnotation)));
  EXPECT_EQ(ledgerOf(hv).value(), legacy);
  client_->clearActions();
  reconcileOk("hv-a");
  EXPECT_EQ(objectWrites(), 0u);
}

// Capacity appearing (here: first sight of a fresh heartbeat) enqueues the VMs the VM reconciler
// says wait for it, not every unbound VM: at a controller's start that was O(hypervisors x VMs).
TEST_F(HypervisorReconcilerTest, CapacityAppearingEnqueuesOnlyTheVmsWaitingForIt) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createVm(ctltest::makeVm("default", "queued", 1, kGi));
  createVm(ctltest::makeVm("default", "waiting", 1, kGi));
  HypervisorReconcilerDeps deps{
      client_, cache_, heartbeats_, nullptr,
      events_, clock_, config_,     [this](const std::string& key) { enqueued_.insert(key); }};
  deps.waiting_vms = [] { return std::vector<std::string>{"default/waiting"}; };
  reconciler_ = std::make_unique<HypervisorReconciler>(std::move(deps));
  reconcileOk("hv-a");
  EXPECT_THAT(enqueued_, ElementsAre("default/waiting"));

  reconciler_.reset();  // without the dependency: every unbound VM, as before
  enqueued_.clear();
  reconcileOk("hv-a");  // this reconciler's first sight
  EXPECT_THAT(enqueued_, Contains("default/queued"));
  EXPECT_THAT(enqueued_, Contains("default/waiting"));
}

TEST_F(HypervisorReconcilerTest, TheUnreachableGaugeCountsStaleHypervisorsAsTheyComeAndGo) {
  auto registry = std::make_shared<prometheus::Registry>();
  HypervisorReconcilerDeps deps{
      client_, cache_, heartbeats_, std::make_shared<SchedulerMetrics>(registry),
      events_, clock_, config_};
  reconciler_ = std::make_unique<HypervisorReconciler>(std::move(deps));
  auto gauge = [&] {
    for (const auto& family : registry->Collect()) {
      if (family.name == "novacron_scheduler_unreachable_hypervisors") {
        return family.metric.at(0).gauge.value;
      }
    }
    ADD_FAILURE() << "no gauge";
    return -1.0;
  };
  addHypervisor("hv-a", 8, 16 * kGi);
  addHypervisor("hv-b", 8, 16 * kGi);
  reconcileOk("hv-a");
  reconcileOk("hv-b");
  EXPECT_EQ(gauge(), 0);
  clock_->advance(ctltest::kHeartbeatTimeout + std::chrono::seconds(1));
  reconcileOk("hv-a");
  EXPECT_EQ(gauge(), 1);
  reconcileOk("hv-a");  // still stale: counted once
  reconcileOk("hv-b");
  EXPECT_EQ(gauge(), 2);
  renewLease("hv-a", "t1");
  reconcileOk("hv-a");
  EXPECT_EQ(gauge(), 1);
}

}  // namespace
}  // namespace novacron::controller
