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
  void setLedger(const std::string& hv, const ledger::Ledger& entries) {
    annotateHypervisor(hv, std::string(ledger::kLedgerAnnotation), ledger::encodeLedger(entries));
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
  setLedger("hv-a", {{"default/gone", ledger::LedgerEntry{"uid-gone", {1, kGi}, ""}}});
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
  // One ledger write (conditional on the resourceVersion), one status write.
  EXPECT_EQ(client_->countActions(Verb::kUpdate, "hypervisors"), 1u);
  EXPECT_EQ(client_->countActions(Verb::kUpdateStatus, "hypervisors"), 1u);
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

// status.allocated is a summary nobody decides on: while only it changes it is written once the
// ledger has been quiet for a second (or ten seconds after the first change not written yet),
// and a deferred summary is never dropped.
TEST_F(HypervisorReconcilerTest, SummaryWritesWaitForTheLedgerToSettleButAreNeverLost) {
  addHypervisor("hv-a", 8, 16 * kGi);
  reconcileOk("hv-a");  // first sight: conditions and the (empty) summary, at once
  ASSERT_EQ(hypervisor("hv-a").status.allocated->vms, 0);
  createVmBoundTo("one", "hv-a", 1);
  reconcileOk("hv-a");  // the ledger entry is written; the summary waits
  const runtime::ReconcileResult deferred = reconcileOk("hv-a");
  EXPECT_EQ(hypervisor("hv-a").status.allocated->vms, 0);
  EXPECT_GT(deferred.requeue_after.count(), 0) << "a deferred summary must come back";
  EXPECT_LE(deferred.requeue_after, std::chrono::milliseconds(1002));

  clock_->advance(std::chrono::milliseconds(600));
  createVmBoundTo("two", "hv-a", 1);
  reconcileOk("hv-a");
  const runtime::ReconcileResult again = reconcileOk("hv-a");  // the ledger changed: wait on
  EXPECT_EQ(hypervisor("hv-a").status.allocated->vms, 0);
  EXPECT_GT(again.requeue_after, std::chrono::milliseconds(900));

  // The queue's timer may fire a little early: then the summary is written, or the key comes back
  // (a sub-millisecond remainder once truncated to a zero requeue, which means "done").
  clock_->advance(again.requeue_after - std::chrono::microseconds(500));
  const runtime::ReconcileResult last = reconcileOk("hv-a");
  EXPECT_TRUE(hypervisor("hv-a").status.allocated->vms == 2 || last.requeue_after.count() > 0);
  clock_->advance(last.requeue_after);
  reconcileOk("hv-a");
  EXPECT_EQ(hypervisor("hv-a").status.allocated->vms, 2);
}

TEST_F(HypervisorReconcilerTest, ASummaryThatKeepsChangingIsWrittenAfterTheMaximumDelay) {
  addHypervisor("hv-a", 8, 16 * kGi);
  reconcileOk("hv-a");
  int vms = 0;
  // A VM every 500 ms: the ledger is never quiet for a second.
  for (; vms < 21 && hypervisor("hv-a").status.allocated->vms == 0; ++vms) {
    createVmBoundTo("vm-" + std::to_string(vms), "hv-a", 1);
    reconcileOk("hv-a");
    reconcileOk("hv-a");
    clock_->advance(std::chrono::milliseconds(500));
  }
  EXPECT_GE(vms, 20);  // not before ten seconds
  EXPECT_EQ(hypervisor("hv-a").status.allocated->vms, vms);

  // The next summary-only write comes no sooner than five seconds after this one (the loop
  // advanced 500 ms since), however quiet the ledger gets.
  createVmBoundTo("last", "hv-a", 1);
  reconcileOk("hv-a");
  const runtime::ReconcileResult spaced = reconcileOk("hv-a");
  EXPECT_EQ(hypervisor("hv-a").status.allocated->vms, vms);
  EXPECT_GT(spaced.requeue_after, std::chrono::milliseconds(4000));
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
