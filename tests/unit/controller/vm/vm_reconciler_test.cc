// VmReconciler called directly, on a FakeClient seen through a read-through FakeClusterCache: what
// each reconcile writes, in which order, and that a second reconcile in a row writes nothing.
#include "controller/vm/vm_reconciler.h"

#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/ledger/ledger.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/names.h"
#include "tests/unit/controller/reconciler_fixture.h"

namespace novacron::controller {
namespace {

using ctltest::kGi;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

class VmReconcilerTest : public ctltest::ReconcilerFixture {
protected:
  VmReconciler& reconciler() {
    if (!reconciler_) {
      reconciler_ = std::make_unique<VmReconciler>(
          VmReconcilerDeps{client_, cache_, heartbeats_, nullptr, events_, clock_, config_});
    }
    return *reconciler_;
  }
  runtime::ReconcileResult reconcileOk(const std::string& name) {
    auto result = reconciler().reconcile("default/" + name);
    EXPECT_TRUE(result.isOk()) << result.status().toString();
    return result.isOk() ? *result : runtime::ReconcileResult{};
  }
  // A VM bound to hv-a by the reconciler itself.
  void createBoundVm(const std::string& name, std::vector<std::string> finalizers = {}) {
    auto spec = ctltest::makeVm("default", name, 1, kGi);
    spec.metadata.finalizers = std::move(finalizers);
    createVm(spec);
    reconcileOk(name);
    ASSERT_EQ(boundHypervisor(vm(name)), "hv-a");
    client_->clearActions();
  }
  // With failover policy Fenced: a Halted VM holding the node's finalizer, bound to hv-a, which
  // is then fenced (not reconciled since). `annotations` are written with the runStrategy.
  void createHaltedVmOnFencedNode(const std::string& name,
                                  const std::map<std::string, std::string>& annotations = {}) {
    config_.health.failover = config::FailoverPolicy::kFenced;
    addHypervisor("hv-a", 8, 16 * kGi);
    createBoundVm(name, {std::string(api::kNodeCleanupFinalizer)});
    auto json = client_->get(kube::kVirtualMachine, "default", name);
    ASSERT_TRUE(json.isOk());
    (*json)["spec"]["runStrategy"] = "Halted";
    for (const auto& [key, value] : annotations) {
      (*json)["metadata"]["annotations"][key] = value;
    }
    ASSERT_TRUE(client_->update(kube::kVirtualMachine, "default", *json).isOk());
    annotateHypervisor("hv-a", std::string(api::kFencedAnnotation), "true");
  }

  std::unique_ptr<VmReconciler> reconciler_;
};

TEST_F(VmReconcilerTest, NothingHappensBeforeTheCacheSynced) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createVm(ctltest::makeVm("default", "web", 1, kGi));
  cache_->setSynced(false);
  client_->clearActions();
  EXPECT_FALSE(reconciler().reconcile("default/web").isOk());
  EXPECT_EQ(objectWrites(), 0u);
}

TEST_F(VmReconcilerTest, PlacementReservesThenBindsStatusThenMirrorsTheLabel) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createVm(ctltest::makeVm("default", "web", 2, 4 * kGi));
  client_->clearActions();

  EXPECT_EQ(reconcileOk("web"), runtime::ReconcileResult::done());

  const api::VirtualMachine bound = vm("web");
  EXPECT_EQ(bound.status.hypervisor, "hv-a");
  EXPECT_EQ(hypervisorLabel(bound), "hv-a");
  EXPECT_EQ(bound.status.phase, api::VirtualMachinePhase::kScheduled);
  ASSERT_TRUE(bound.status.allocated.has_value());
  EXPECT_EQ(bound.status.allocated->cpus, 2);
  EXPECT_EQ(bound.status.observedGeneration, bound.metadata.generation);
  const api::Condition* scheduled =
      api::findCondition(bound.status.conditions, api::kConditionScheduled);
  ASSERT_NE(scheduled, nullptr);
  EXPECT_EQ(scheduled->status, api::ConditionStatus::kTrue);
  EXPECT_EQ(scheduled->message, "bound to hypervisor hv-a");
  auto ledger = ledgerOf(hypervisor("hv-a"));
  ASSERT_TRUE(ledger.isOk());
  ASSERT_TRUE(ledger->contains("default/web"));
  EXPECT_EQ(ledger->at("default/web").uid, bound.metadata.uid);
  // Reserve (Hypervisor update), bind (VM status), label (VM update): in that order.
  EXPECT_EQ(writes(kube::kHypervisor), 1u);
  EXPECT_EQ(client_->countActions(Verb::kUpdateStatus, "virtualmachines"), 1u);
  EXPECT_EQ(client_->countActions(Verb::kUpdate, "virtualmachines"), 1u);
  EXPECT_LT(firstVmAction(Verb::kUpdateStatus), firstVmAction(Verb::kUpdate));
  EXPECT_THAT(eventMessage("web", "Scheduled"),
              HasSubstr("Successfully assigned default/web to hv-a"));
}

TEST_F(VmReconcilerTest, PlacementTwiceInARowWritesNothingTheSecondTime) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createVm(ctltest::makeVm("default", "web", 1, kGi));
  reconcileOk("web");
  client_->clearActions();
  reconcileOk("web");
  EXPECT_EQ(objectWrites(), 0u);
}

// A reservation this controller wrote and could not bind (the binding failed) is completed by the
// next attempt on the same hypervisor, without a second reservation.
TEST_F(VmReconcilerTest, ItsOwnReservationLeftByAFailedBindingIsCompleted) {
  addHypervisor("hv-a", 8, 16 * kGi);
  addHypervisor("hv-b", 8, 16 * kGi);
  createVm(ctltest::makeVm("default", "web", 1, kGi));
  client_->failNext(Verb::kUpdateStatus, "virtualmachines", core::unavailableError("injected"));
  EXPECT_FALSE(reconciler().reconcile("default/web").isOk());
  const std::optional<std::string> reserved_on = [&]() -> std::optional<std::string> {
    for (const std::string name : {"hv-a", "hv-b"}) {
      auto entries = ledgerOf(hypervisor(name));
      if (entries.isOk() && entries->contains("default/web")) {
        return name;
      }
    }
    return std::nullopt;
  }();
  ASSERT_TRUE(reserved_on.has_value());
  EXPECT_FALSE(vm("web").status.hypervisor.has_value());
  client_->clearActions();

  reconcileOk("web");

  EXPECT_EQ(vm("web").status.hypervisor, reserved_on);
  EXPECT_EQ(writes(kube::kHypervisor), 0u);  // completed: no second reservation
}

TEST_F(VmReconcilerTest, UnschedulableStaysSchedulingWithTheExplanation) {
  addHypervisor("hv-a", 8, 16 * kGi);
  addHypervisor("hv-b", 8, 16 * kGi);
  createVm(ctltest::makeVm("default", "huge", 2, 64 * kGi));
  client_->clearActions();

  EXPECT_EQ(reconcileOk("huge"), runtime::ReconcileResult::after(kUnschedulableRetry));

  const api::VirtualMachine pending = vm("huge");
  EXPECT_FALSE(pending.status.hypervisor.has_value());
  EXPECT_EQ(hypervisorLabel(pending), "");
  EXPECT_EQ(pending.status.phase, api::VirtualMachinePhase::kScheduling);
  const api::Condition* scheduled =
      api::findCondition(pending.status.conditions, api::kConditionScheduled);
  ASSERT_NE(scheduled, nullptr);
  EXPECT_EQ(scheduled->status, api::ConditionStatus::kFalse);
  EXPECT_EQ(scheduled->reason, "Unschedulable");
  EXPECT_EQ(scheduled->message, "0/2 hypervisors available: 2 insufficient memory");
  const api::Condition* ready = api::findCondition(pending.status.conditions, api::kConditionReady);
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->reason, "NotScheduled");
  EXPECT_EQ(eventMessage("huge", "FailedScheduling"),
            "0/2 hypervisors available: 2 insufficient memory");
  EXPECT_EQ(writes(kube::kHypervisor), 0u);  // nothing reserved

  client_->clearActions();
  EXPECT_EQ(reconcileOk("huge"), runtime::ReconcileResult::after(kUnschedulableRetry));
  EXPECT_EQ(objectWrites(), 0u);
}

TEST_F(VmReconcilerTest, HaltedVmIsNotPlacedAndASecondPassWritesNothing) {
  addHypervisor("hv-a", 8, 16 * kGi);
  auto halted = ctltest::makeVm("default", "off", 1, kGi);
  halted.spec.runStrategy = api::RunStrategy::kHalted;
  createVm(halted);
  client_->clearActions();
  reconcileOk("off");
  EXPECT_EQ(vm("off").status.phase, api::VirtualMachinePhase::kStopped);
  EXPECT_FALSE(vm("off").status.hypervisor.has_value());
  EXPECT_EQ(writes(kube::kHypervisor), 0u);
  client_->clearActions();
  reconcileOk("off");
  EXPECT_EQ(objectWrites(), 0u);
}

TEST_F(VmReconcilerTest, AHandSetLabelOnAnUnboundVmDoesNotCountAsBound) {
  addHypervisor("hv-a", 8, 16 * kGi);
  addHypervisor("hv-b", 1, kGi);  // too small for the VM
  auto labelled = ctltest::makeVm("default", "sneaky", 2, 4 * kGi);
  labelled.metadata.labels[std::string(api::kHypervisorLabel)] = "hv-b";
  createVm(labelled);

  reconcileOk("sneaky");

  const api::VirtualMachine placed = vm("sneaky");
  EXPECT_EQ(placed.status.hypervisor, "hv-a");  // scheduled, not taken from the label
  EXPECT_EQ(hypervisorLabel(placed), "hv-a");   // and the label mirrors the binding again
  auto ledger_b = ledgerOf(hypervisor("hv-b"));
  ASSERT_TRUE(ledger_b.isOk());
  EXPECT_TRUE(ledger_b->empty());
}

TEST_F(VmReconcilerTest, ALabelChangedOnABoundVmIsRepairedAndTheBindingKept) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createBoundVm("web");
  auto json = client_->get(kube::kVirtualMachine, "default", "web");
  ASSERT_TRUE(json.isOk());
  (*json)["metadata"]["labels"][std::string(api::kHypervisorLabel)] = "hv-evil";
  ASSERT_TRUE(client_->update(kube::kVirtualMachine, "default", *json).isOk());
  client_->clearActions();

  reconcileOk("web");

  EXPECT_EQ(hypervisorLabel(vm("web")), "hv-a");
  EXPECT_EQ(vm("web").status.hypervisor, "hv-a");
  EXPECT_EQ(client_->countActions(Verb::kUpdate, "virtualmachines"), 1u);
  EXPECT_EQ(client_->countActions(Verb::kUpdateStatus, "virtualmachines"), 0u);
  client_->clearActions();
  reconcileOk("web");
  EXPECT_EQ(objectWrites(), 0u);
}

TEST_F(VmReconcilerTest, StaleHeartbeatMarksTheVmUnknownButKeepsItBound) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createBoundVm("web");
  clock_->advance(ctltest::kHeartbeatTimeout + std::chrono::seconds(1));

  reconcileOk("web");

  const api::VirtualMachine unknown = vm("web");
  EXPECT_EQ(unknown.status.hypervisor, "hv-a");
  EXPECT_EQ(unknown.status.phase, api::VirtualMachinePhase::kUnknown);
  EXPECT_TRUE(
      api::isConditionTrue(unknown.status.conditions, api::kConditionHypervisorUnreachable));
  EXPECT_THAT(eventReasons("web"), Contains("HypervisorUnreachable"));
  client_->clearActions();
  reconcileOk("web");
  EXPECT_EQ(objectWrites(), 0u);

  renewLease("hv-a", "t1");
  reconcileOk("web");
  const api::Condition* unreachable =
      api::findCondition(vm("web").status.conditions, api::kConditionHypervisorUnreachable);
  ASSERT_NE(unreachable, nullptr);
  EXPECT_EQ(unreachable->status, api::ConditionStatus::kFalse);
  EXPECT_EQ(unreachable->reason, "HeartbeatOK");
}

TEST_F(VmReconcilerTest, FailoverOfAFencedHypervisorUnbindsStatusFirstThenTheLabel) {
  config_.health.failover = config::FailoverPolicy::kFenced;
  addHypervisor("hv-a", 8, 16 * kGi);
  createBoundVm("web");
  annotateHypervisor("hv-a", std::string(api::kFencedAnnotation), "true");
  client_->clearActions();

  reconcileOk("web");

  const api::VirtualMachine unbound = vm("web");
  EXPECT_FALSE(unbound.status.hypervisor.has_value());
  EXPECT_EQ(hypervisorLabel(unbound), "");
  EXPECT_EQ(unbound.status.phase, api::VirtualMachinePhase::kPending);
  const api::Condition* scheduled =
      api::findCondition(unbound.status.conditions, api::kConditionScheduled);
  ASSERT_NE(scheduled, nullptr);
  EXPECT_EQ(scheduled->reason, "FailingOver");
  ASSERT_NE(firstVmAction(Verb::kUpdateStatus), std::string::npos);
  ASSERT_NE(firstVmAction(Verb::kUpdate), std::string::npos);
  EXPECT_LT(firstVmAction(Verb::kUpdateStatus), firstVmAction(Verb::kUpdate));
  EXPECT_THAT(eventReasons("web"), Contains("FailingOver"));
}

TEST_F(VmReconcilerTest, FencedHypervisorWithoutFailoverPolicyKeepsTheVmBound) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createBoundVm("web");
  annotateHypervisor("hv-a", std::string(api::kFencedAnnotation), "true");
  reconcileOk("web");
  EXPECT_EQ(vm("web").status.hypervisor, "hv-a");
  EXPECT_EQ(vm("web").status.phase, api::VirtualMachinePhase::kUnknown);
}

TEST_F(VmReconcilerTest, DeletingOnAFencedHypervisorWithForceDeleteReleasesTheFinalizer) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createBoundVm("web", {std::string(api::kNodeCleanupFinalizer)});
  annotateHypervisor("hv-a", std::string(api::kFencedAnnotation), "true");
  auto json = client_->get(kube::kVirtualMachine, "default", "web");
  ASSERT_TRUE(json.isOk());
  (*json)["metadata"]["annotations"][std::string(api::kForceDeleteAnnotation)] = "true";
  ASSERT_TRUE(client_->update(kube::kVirtualMachine, "default", *json).isOk());
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, "default", "web").isOk());
  ASSERT_TRUE(vmExists("web"));  // held by the node's finalizer

  reconcileOk("web");

  EXPECT_FALSE(vmExists("web"));  // the finalizer was the last one
  EXPECT_THAT(eventMessage("web", "ForceDeleted"), HasSubstr("fenced hypervisor hv-a"));
}

// Regression (fault suite seeds 5072 and 5080): a halted VM failed over from a fenced node is
// placed nowhere, so no node-daemon ever released its finalizer and its deletion hung forever.
TEST_F(VmReconcilerTest, DeletingAHaltedVmFailedOverFromAFencedNodeReleasesTheFinalizer) {
  createHaltedVmOnFencedNode("web");
  reconcileOk("web");  // failover: unbound, and halted so placed nowhere
  reconcileOk("web");
  ASSERT_FALSE(vm("web").status.hypervisor.has_value());
  EXPECT_EQ(vm("web").metadata.annotations.at(std::string(api::kResourcesOnAnnotation)), "hv-a");

  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, "default", "web").isOk());
  ASSERT_TRUE(vmExists("web"));  // held by the node's finalizer
  reconcileOk("web");

  EXPECT_FALSE(vmExists("web"));
  EXPECT_THAT(eventMessage("web", "ForceDeleted"), HasSubstr("fenced hypervisor hv-a"));
  EXPECT_THAT(eventMessage("hv-a", "OrphanedVmDisks"), HasSubstr("default/web"));
}

// Regression (fault suite seeds 10016 and 10023): a VM deleted while bound to a node that was
// then fenced, before the controller failed it over, stayed Terminating and bound to the fenced
// node (reconcileDeleting never fails over) until the node came back; failed over first, it would
// have been released at once.
TEST_F(VmReconcilerTest, DeletingAVmBoundToAFencedNodeReleasesTheFinalizerWithTheFencedPolicy) {
  config_.health.failover = config::FailoverPolicy::kFenced;
  addHypervisor("hv-a", 8, 16 * kGi);
  createBoundVm("web", {std::string(api::kNodeCleanupFinalizer)});
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, "default", "web").isOk());
  annotateHypervisor("hv-a", std::string(api::kFencedAnnotation), "true");
  ASSERT_TRUE(vmExists("web"));  // held by the node's finalizer, still bound to hv-a
  ASSERT_EQ(boundHypervisor(vm("web")), "hv-a");

  reconcileOk("web");

  EXPECT_FALSE(vmExists("web"));
  EXPECT_THAT(eventMessage("web", "ForceDeleted"), HasSubstr("fenced hypervisor hv-a"));
  EXPECT_THAT(eventMessage("hv-a", "OrphanedVmDisks"), HasSubstr("default/web"));
}

// Failover writes the status (unbinding) first, then the label and the annotation that records
// the node; a controller killed in between left an unbound VM labelled for the fenced node but no
// record, so deleting it waited forever ("its node is not recorded").
TEST_F(VmReconcilerTest, DeletingAVmWhoseFailoverWasCutOffBeforeItsLabelWriteIsReleased) {
  createHaltedVmOnFencedNode("web");
  auto json = client_->get(kube::kVirtualMachine, "default", "web");
  ASSERT_TRUE(json.isOk());
  (*json)["status"].erase("hypervisor");  // the failover's first write, and no second one
  ASSERT_TRUE(client_->updateStatus(kube::kVirtualMachine, "default", *json).isOk());
  reconcileOk("web");  // the restarted controller: an unbound halted VM
  ASSERT_EQ(hypervisorLabel(vm("web")), "hv-a");
  ASSERT_FALSE(vm("web").metadata.annotations.contains(std::string(api::kResourcesOnAnnotation)));
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, "default", "web").isOk());

  reconcileOk("web");

  EXPECT_FALSE(vmExists("web"));
  EXPECT_THAT(eventMessage("web", "ForceDeleted"), HasSubstr("fenced hypervisor hv-a"));
  EXPECT_THAT(eventMessage("hv-a", "OrphanedVmDisks"), HasSubstr("default/web"));
}

// Regression (fault suite seeds 9013 and 9020): an evictionStrategy None VM the evacuation of
// hv-a stopped (runStrategy Halted, annotation evacuation-stopped) was unbound when hv-a was
// fenced; clearing maintenance restores only VMs bound to the hypervisor, so it stayed Halted.
TEST_F(VmReconcilerTest, AVmStoppedByAnEvacuationThatFailsOverGetsItsRunStrategyBack) {
  // Halted with the annotation: what the evacuation of hv-a writes.
  createHaltedVmOnFencedNode("web", {{std::string(api::kEvacuationStoppedAnnotation), "Always"}});
  addHypervisor("hv-b", 8, 16 * kGi);
  reconcileOk("web");  // failover: unbound
  ASSERT_FALSE(vm("web").status.hypervisor.has_value());

  reconcileOk("web");

  EXPECT_EQ(vm("web").spec.runStrategy, api::RunStrategy::kAlways);
  EXPECT_FALSE(
      vm("web").metadata.annotations.contains(std::string(api::kEvacuationStoppedAnnotation)));
  EXPECT_THAT(eventMessage("web", "EvacuationRestoring"), HasSubstr("hypervisor hv-a fenced"));
  reconcileOk("web");  // placed again, elsewhere
  EXPECT_EQ(boundHypervisor(vm("web")), "hv-b");
  client_->clearActions();
  reconcileOk("web");
  EXPECT_EQ(objectWrites(), 0u);
}

TEST_F(VmReconcilerTest, AHaltedVmNotStoppedByAnEvacuationStaysHaltedWhenUnbound) {
  createHaltedVmOnFencedNode("web");
  reconcileOk("web");
  reconcileOk("web");

  EXPECT_EQ(vm("web").spec.runStrategy, api::RunStrategy::kHalted);
  EXPECT_THAT(eventReasons("web"), Not(Contains("EvacuationRestoring")));
}

TEST_F(VmReconcilerTest, DeletingAFailedOverVmIsLeftToItsOldNodeWhenItIsLiveAgain) {
  createHaltedVmOnFencedNode("web");
  reconcileOk("web");
  annotateHypervisor("hv-a", std::string(api::kFencedAnnotation), "false");
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, "default", "web").isOk());

  reconcileOk("web");

  ASSERT_TRUE(vmExists("web"));
  EXPECT_THAT(vm("web").metadata.finalizers, Contains(std::string(api::kNodeCleanupFinalizer)));
  EXPECT_THAT(eventMessage("web", "WaitingForNode"), HasSubstr("no longer fenced"));
  EXPECT_THAT(eventReasons("hv-a"), Not(Contains("OrphanedVmDisks")));
  // Labelled for hv-a again, so that its node-daemon sees the VM and cleans up.
  EXPECT_EQ(hypervisorLabel(vm("web")), "hv-a");
}

TEST_F(VmReconcilerTest, DeletingOnAFencedHypervisorWithoutForceDeleteWaits) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createBoundVm("web", {std::string(api::kNodeCleanupFinalizer)});
  annotateHypervisor("hv-a", std::string(api::kFencedAnnotation), "true");
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, "default", "web").isOk());
  client_->clearActions();

  reconcileOk("web");

  ASSERT_TRUE(vmExists("web"));
  EXPECT_THAT(vm("web").metadata.finalizers, Contains(std::string(api::kNodeCleanupFinalizer)));
  EXPECT_EQ(objectWrites(), 0u);
  EXPECT_THAT(eventMessage("web", "WaitingForNode"), HasSubstr("novacron.io/force-delete=true"));
  EXPECT_THAT(eventReasons("web"), Not(Contains("ForceDeleted")));
}

TEST_F(VmReconcilerTest, DeletingOnAHealthyHypervisorLeavesTheFinalizerToItsNode) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createBoundVm("web", {std::string(api::kNodeCleanupFinalizer)});
  auto json = client_->get(kube::kVirtualMachine, "default", "web");
  ASSERT_TRUE(json.isOk());
  (*json)["metadata"]["annotations"][std::string(api::kForceDeleteAnnotation)] = "true";
  ASSERT_TRUE(client_->update(kube::kVirtualMachine, "default", *json).isOk());
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, "default", "web").isOk());
  client_->clearActions();

  reconcileOk("web");

  EXPECT_TRUE(vmExists("web"));
  EXPECT_EQ(objectWrites(), 0u);
}

TEST_F(VmReconcilerTest, NodeDaemonPhaseChangesBecomeEvents) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createBoundVm("web");
  reconcileOk("web");  // first sight of phase Scheduled: no event
  // The node-daemon writes `phase`; the controller reconciles what it sees.
  auto nodeDaemonReports = [&](const std::string& phase) {
    auto json = client_->get(kube::kVirtualMachine, "default", "web");
    ASSERT_TRUE(json.isOk());
    (*json)["status"]["phase"] = phase;
    ASSERT_TRUE(client_->updateStatus(kube::kVirtualMachine, "default", *json).isOk());
    client_->clearActions();
    reconcileOk("web");
  };

  nodeDaemonReports("Running");
  // Running: the node-daemon's own "Started" Event says it; the controller adds none.
  EXPECT_EQ(eventMessage("web", "Started"), "");
  EXPECT_EQ(objectWrites(), 0u);  // Running is the node-daemon's phase

  nodeDaemonReports("Failed");
  EXPECT_EQ(eventMessage("web", "Failed"), "VM failed on hv-a");
  EXPECT_EQ(objectWrites(), 0u);
}

TEST_F(VmReconcilerTest, OnlyVmsFoundUnschedulableWaitForCapacity) {
  addHypervisor("hv-a", 8, 16 * kGi);
  createVm(ctltest::makeVm("default", "web", 1, kGi));
  createVm(ctltest::makeVm("default", "huge", 2, 64 * kGi));
  reconcileOk("web");
  EXPECT_EQ(reconcileOk("huge"), runtime::ReconcileResult::after(kUnschedulableRetry));
  EXPECT_EQ(reconciler().waitingForCapacity(), std::vector<std::string>{"default/huge"});

  addHypervisor("hv-big", 64, 128 * kGi);
  EXPECT_EQ(reconcileOk("huge"), runtime::ReconcileResult::done());
  EXPECT_EQ(boundHypervisor(vm("huge")), "hv-big");
  EXPECT_TRUE(reconciler().waitingForCapacity().empty());
}

}  // namespace
}  // namespace novacron::controller
