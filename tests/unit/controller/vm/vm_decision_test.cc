// The VM reconciler's pure decide step: inputs in, status/actions/events out. No client.
#include "controller/vm/vm_decision.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "tests/mocks/fake_clock.h"
#include "tests/mocks/status_vocabulary.h"
#include "tests/unit/controller/cluster_objects.h"

namespace novacron::controller {
namespace {

using api::ConditionStatus;
using api::VirtualMachinePhase;
using ctltest::kGi;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const scheduler::Scheduler& testScheduler() {
  static const scheduler::Scheduler s(scheduler::SchedulerOptions{
      scheduler::Policy::kBinPack,
      {scheduler::Ratio{scheduler::Ratio::kOne}, scheduler::Ratio{scheduler::Ratio::kOne}}});
  return s;
}

scheduler::HypervisorView view(const std::string& name, int64_t cpus, int64_t memory) {
  scheduler::HypervisorView v;
  v.name = name;
  v.ready = true;
  v.capacity = scheduler::Resources{cpus, memory};
  return v;
}

// UnboundFacts over views the test owns; use as a temporary in the call (or keep it alive).
class Facts {
public:
  explicit Facts(std::vector<scheduler::HypervisorView> views,
                 std::optional<std::string> reservation = std::nullopt)
      : views_(std::move(views)), span_(views_) {
    facts_.reservation = std::move(reservation);
    facts_.hypervisors = &span_;
  }
  Facts(const Facts&) = delete;
  Facts& operator=(const Facts&) = delete;
  operator const UnboundFacts&() const { return facts_; }  // NOLINT: implicit on purpose

private:
  std::vector<scheduler::HypervisorView> views_;
  scheduler::HypervisorSpan span_;
  UnboundFacts facts_;
};

api::VirtualMachine testVm() {
  api::VirtualMachine vm = ctltest::makeVm("default", "web", 2, 2 * kGi);
  vm.metadata.generation = 3;
  vm.metadata.uid = "uid-1";
  return vm;
}

const api::Condition& conditionOf(const api::VirtualMachineStatus& status, std::string_view type) {
  novacron::testing::noteStatus("VirtualMachine", api::toJson(status));  // docs contract test
  const api::Condition* c = api::findCondition(status.conditions, type);
  EXPECT_NE(c, nullptr) << type;
  static const api::Condition kMissing;
  return c ? *c : kMissing;
}

std::vector<std::string> reasons(const std::vector<VmEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    out.push_back(e.reason);
  }
  return out;
}

class VmDecisionTest : public ::testing::Test {
protected:
  novacron::testing::FakeClock clock_;
};

// --- unbound ---

TEST_F(VmDecisionTest, HaltedVmIsStoppedAndNotPlaced) {
  api::VirtualMachine vm = testVm();
  vm.spec.runStrategy = api::RunStrategy::kHalted;
  const UnboundDecision d =
      decideUnbound(vm, Facts({view("hv-a", 8, 16 * kGi)}), testScheduler(), clock_);
  EXPECT_EQ(d.action, UnboundDecision::Action::kWriteStatus);
  EXPECT_EQ(d.status.phase, VirtualMachinePhase::kStopped);
  EXPECT_FALSE(d.status.hypervisor.has_value());
  EXPECT_EQ(conditionOf(d.status, api::kConditionScheduled).reason, "Halted");
  EXPECT_EQ(conditionOf(d.status, api::kConditionScheduled).observedGeneration, 3);
  EXPECT_FALSE(d.retry_after.has_value());
  EXPECT_THAT(d.events, IsEmpty());
}

TEST_F(VmDecisionTest, PlacedVmIsReservedThenBoundWithItsStatus) {
  const UnboundDecision d =
      decideUnbound(testVm(), Facts({view("hv-a", 1, 16 * kGi), view("hv-b", 8, 16 * kGi)}),
                    testScheduler(), clock_);
  EXPECT_EQ(d.action, UnboundDecision::Action::kReserveAndBind);
  EXPECT_EQ(d.hypervisor, "hv-b");
  EXPECT_EQ(d.status.hypervisor, "hv-b");
  EXPECT_EQ(d.status.phase, VirtualMachinePhase::kScheduled);
  ASSERT_TRUE(d.status.allocated.has_value());
  EXPECT_EQ(d.status.allocated->cpus, 2);
  EXPECT_EQ(conditionOf(d.status, api::kConditionScheduled).status, ConditionStatus::kTrue);
  ASSERT_THAT(reasons(d.events), ElementsAre("Scheduled"));
  EXPECT_THAT(d.events[0].message, HasSubstr("Successfully assigned default/web to hv-b"));
}

TEST_F(VmDecisionTest, AnInvalidSpecIsNeverPlacedAndSaysWhy) {
  api::VirtualMachine vm = testVm();
  vm.spec.resources.cpus = 100000;  // beyond the documented bound
  const UnboundDecision d =
      decideUnbound(vm, Facts({view("hv-a", 8, 16 * kGi)}), testScheduler(), clock_);
  EXPECT_EQ(d.action, UnboundDecision::Action::kWriteStatus);
  EXPECT_FALSE(d.status.hypervisor.has_value());
  EXPECT_EQ(conditionOf(d.status, api::kConditionValid).status, ConditionStatus::kFalse);
  EXPECT_EQ(conditionOf(d.status, api::kConditionValid).reason, "InvalidSpec");
  EXPECT_THAT(conditionOf(d.status, api::kConditionValid).message, HasSubstr("cpus"));
  EXPECT_EQ(conditionOf(d.status, api::kConditionScheduled).reason, "InvalidSpec");
  EXPECT_THAT(reasons(d.events), ElementsAre("InvalidSpec"));
  // Deciding again on what was written: nothing new to write, no second event.
  vm.status = d.status;
  const UnboundDecision again =
      decideUnbound(vm, Facts({view("hv-a", 8, 16 * kGi)}), testScheduler(), clock_);
  EXPECT_EQ(again.status, vm.status);
  EXPECT_THAT(again.events, IsEmpty());
}

TEST_F(VmDecisionTest, AValidSpecIsMarkedValidWhenBound) {
  const UnboundDecision d =
      decideUnbound(testVm(), Facts({view("hv-a", 8, 16 * kGi)}), testScheduler(), clock_);
  EXPECT_EQ(conditionOf(d.status, api::kConditionValid).status, ConditionStatus::kTrue);
}

TEST_F(VmDecisionTest, AnExistingReservationIsCompletedWithoutScheduling) {
  const UnboundDecision d = decideUnbound(testVm(), Facts({}, "hv-z"), testScheduler(), clock_);
  EXPECT_EQ(d.action, UnboundDecision::Action::kCompleteBinding);
  EXPECT_EQ(d.hypervisor, "hv-z");
  EXPECT_EQ(d.status.hypervisor, "hv-z");
  EXPECT_EQ(d.explanation, "completing the reservation on hv-z");
}

TEST_F(VmDecisionTest, UnschedulableVmIsSchedulingWithTheExplanationAndOneEvent) {
  const Facts facts({view("hv-a", 8, kGi), view("hv-b", 8, kGi)});
  const UnboundDecision d = decideUnbound(testVm(), facts, testScheduler(), clock_);
  EXPECT_EQ(d.action, UnboundDecision::Action::kWriteStatus);
  EXPECT_EQ(d.status.phase, VirtualMachinePhase::kScheduling);
  const api::Condition& scheduled = conditionOf(d.status, api::kConditionScheduled);
  EXPECT_EQ(scheduled.status, ConditionStatus::kFalse);
  EXPECT_EQ(scheduled.reason, "Unschedulable");
  EXPECT_EQ(scheduled.message, "0/2 hypervisors available: 2 insufficient memory");
  EXPECT_EQ(conditionOf(d.status, api::kConditionReady).reason, "NotScheduled");
  EXPECT_EQ(d.retry_after, kUnschedulableRetry);
  EXPECT_THAT(reasons(d.events), ElementsAre("FailedScheduling"));

  // Deciding again on the VM as written: same status, no second event.
  api::VirtualMachine written = testVm();
  written.status = d.status;
  clock_.advance(std::chrono::seconds(30));
  const UnboundDecision again = decideUnbound(written, facts, testScheduler(), clock_);
  EXPECT_EQ(again.status, written.status);
  EXPECT_THAT(again.events, IsEmpty());
}

TEST_F(VmDecisionTest, BindingKeepsAPhaseTheNodeDaemonReported) {
  api::VirtualMachine vm = testVm();
  vm.status.phase = VirtualMachinePhase::kRunning;
  EXPECT_EQ(boundStatus(vm, "hv-a", clock_).phase, VirtualMachinePhase::kRunning);
  vm.status.phase = VirtualMachinePhase::kStopped;
  EXPECT_EQ(boundStatus(vm, "hv-a", clock_).phase, VirtualMachinePhase::kScheduled);
}

// --- bound ---

class BoundDecisionTest : public VmDecisionTest {
protected:
  api::VirtualMachine boundVm() {
    api::VirtualMachine vm = testVm();
    vm.metadata.labels[std::string(api::kHypervisorLabel)] = "hv-a";
    vm.status = boundStatus(vm, "hv-a", clock_);
    return vm;
  }
  BoundFacts healthy() {
    BoundFacts facts;
    facts.hypervisor = "hv-a";
    facts.label = "hv-a";
    return facts;
  }
};

TEST_F(BoundDecisionTest, AHealthyBoundVmNeedsNoWrite) {
  const api::VirtualMachine vm = boundVm();
  clock_.advance(std::chrono::minutes(5));
  const BoundDecision d = decideBound(vm, healthy(), clock_);
  EXPECT_EQ(d.action, BoundDecision::Action::kWriteStatus);
  EXPECT_EQ(d.status, vm.status);
  EXPECT_THAT(d.events, IsEmpty());
}

TEST_F(BoundDecisionTest, AChangedLabelIsRepairedFirst) {
  BoundFacts facts = healthy();
  facts.label = "hv-evil";
  const BoundDecision d = decideBound(boundVm(), facts, clock_);
  EXPECT_EQ(d.action, BoundDecision::Action::kRepairLabel);
  EXPECT_THAT(d.why, HasSubstr("'hv-evil'"));
}

TEST_F(BoundDecisionTest, StaleHeartbeatMeansUnknownAndOneEvent) {
  BoundFacts facts = healthy();
  facts.heartbeat_fresh = false;
  const BoundDecision d = decideBound(boundVm(), facts, clock_);
  EXPECT_EQ(d.action, BoundDecision::Action::kWriteStatus);
  EXPECT_EQ(d.status.hypervisor, "hv-a");
  EXPECT_EQ(d.status.phase, VirtualMachinePhase::kUnknown);
  EXPECT_EQ(conditionOf(d.status, api::kConditionHypervisorUnreachable).status,
            ConditionStatus::kTrue);
  EXPECT_EQ(conditionOf(d.status, api::kConditionReady).status, ConditionStatus::kUnknown);
  EXPECT_THAT(conditionOf(d.status, api::kConditionReady).message, HasSubstr("40s"));
  EXPECT_THAT(reasons(d.events), ElementsAre("HypervisorUnreachable"));

  api::VirtualMachine written = boundVm();
  written.status = d.status;
  const BoundDecision again = decideBound(written, facts, clock_);
  EXPECT_EQ(again.status, written.status);
  EXPECT_THAT(again.events, IsEmpty());

  const BoundDecision back = decideBound(written, healthy(), clock_);
  const api::Condition& unreachable =
      conditionOf(back.status, api::kConditionHypervisorUnreachable);
  EXPECT_EQ(unreachable.status, ConditionStatus::kFalse);
  EXPECT_EQ(unreachable.reason, "HeartbeatOK");
}

TEST_F(BoundDecisionTest, FencedHypervisorFailsOverOnlyWithTheFencedPolicy) {
  BoundFacts facts = healthy();
  facts.fenced = true;
  const BoundDecision stay = decideBound(boundVm(), facts, clock_);
  EXPECT_EQ(stay.action, BoundDecision::Action::kWriteStatus);
  EXPECT_EQ(stay.status.hypervisor, "hv-a");
  EXPECT_EQ(stay.status.phase, VirtualMachinePhase::kUnknown);

  facts.failover = config::FailoverPolicy::kFenced;
  const BoundDecision move = decideBound(boundVm(), facts, clock_);
  EXPECT_EQ(move.action, BoundDecision::Action::kFailover);
  EXPECT_FALSE(move.status.hypervisor.has_value());
  EXPECT_FALSE(move.status.allocated.has_value());
  EXPECT_EQ(move.status.phase, VirtualMachinePhase::kPending);
  EXPECT_EQ(conditionOf(move.status, api::kConditionScheduled).reason, "FailingOver");
  EXPECT_EQ(api::findCondition(move.status.conditions, api::kConditionHypervisorUnreachable),
            nullptr);
  EXPECT_THAT(reasons(move.events), ElementsAre("FailingOver"));
}

TEST_F(BoundDecisionTest, ADeletedHypervisorFailsOverWithTheFencedPolicy) {
  BoundFacts facts = healthy();
  facts.hypervisor_exists = false;
  EXPECT_THAT(decideBound(boundVm(), facts, clock_).why, HasSubstr("was deleted"));
  facts.failover = config::FailoverPolicy::kFenced;
  const BoundDecision d = decideBound(boundVm(), facts, clock_);
  EXPECT_EQ(d.action, BoundDecision::Action::kFailover);
  EXPECT_THAT(d.why, HasSubstr("hv-a was deleted"));
}

// --- deleting ---

DeletingFacts fencedAndHeld() {
  DeletingFacts facts;
  facts.bound = "hv-a";
  facts.label = "hv-a";
  facts.has_node_finalizer = true;
  facts.hypervisor_fenced = true;
  return facts;
}

DeletingFacts failedOverFrom(const std::string& node) {
  DeletingFacts facts;
  facts.has_node_finalizer = true;
  facts.resources_on = node;
  facts.resources_on_fenced = true;
  facts.vm_key = "default/web (uid u1)";
  return facts;
}

// Released at once (ForceDeleted) for the fenced hv-a, where its disks are reported as orphans.
void expectReleasedAndDisksReportedOnFencedNode(const DeletingDecision& d) {
  EXPECT_TRUE(d.release_finalizer);
  EXPECT_FALSE(d.repair_label);
  EXPECT_THAT(reasons(d.events), ElementsAre("ForceDeleted"));
  EXPECT_THAT(d.events[0].message, HasSubstr("fenced hypervisor hv-a"));
  ASSERT_TRUE(d.orphan_event.has_value());
  EXPECT_EQ(d.orphan_on, "hv-a");
  EXPECT_EQ(d.orphan_event->reason, "OrphanedVmDisks");
  EXPECT_THAT(d.orphan_event->message, HasSubstr("default/web (uid u1)"));
}

// Released for the deleted hv-a: no node is left to report its disks to.
void expectReleasedForDeletedNodeUnreported(const DeletingDecision& d) {
  EXPECT_TRUE(d.release_finalizer);
  ASSERT_FALSE(d.events.empty());
  EXPECT_THAT(d.events[0].message, HasSubstr("deleted hypervisor hv-a"));
  EXPECT_FALSE(d.orphan_event.has_value());
}

TEST(DecideDeletingTest, AnUnboundVmFailedOverFromAFencedNodeIsReleasedAndItsDisksReported) {
  expectReleasedAndDisksReportedOnFencedNode(decideDeleting(failedOverFrom("hv-a")));
}

TEST(DecideDeletingTest, AnUnboundVmFailedOverFromADeletedNodeIsReleasedWithNoOneToReportTo) {
  DeletingFacts facts = failedOverFrom("hv-a");
  facts.resources_on_exists = false;
  facts.resources_on_fenced = false;
  expectReleasedForDeletedNodeUnreported(decideDeleting(facts));
}

TEST(DecideDeletingTest, AnUnboundVmIsNeverReleasedForALiveNode) {
  DeletingFacts facts = failedOverFrom("hv-a");
  facts.resources_on_fenced = false;  // unfenced since the failover
  const DeletingDecision d = decideDeleting(facts);
  EXPECT_FALSE(d.release_finalizer);
  EXPECT_FALSE(d.orphan_event.has_value());
  EXPECT_THAT(reasons(d.events), ElementsAre("WaitingForNode"));
  EXPECT_EQ(d.label_for_cleanup, "hv-a");  // its node-daemon cleans up an unbound VM it sees
  facts.label = "hv-a";
  EXPECT_EQ(decideDeleting(facts).label_for_cleanup, "");  // idempotent
}

TEST(DecideDeletingTest, AnUnboundVmWithoutARecordedNodeIsNotReleased) {
  DeletingFacts facts = failedOverFrom("");
  const DeletingDecision d = decideDeleting(facts);
  EXPECT_FALSE(d.release_finalizer);
  EXPECT_THAT(reasons(d.events), ElementsAre("WaitingForNode"));
}

TEST(DecideDeletingTest, AnUnboundVmWithoutTheNodeFinalizerNeedsNothing) {
  DeletingFacts facts = failedOverFrom("hv-a");
  facts.has_node_finalizer = false;
  const DeletingDecision d = decideDeleting(facts);
  EXPECT_FALSE(d.release_finalizer);
  EXPECT_THAT(d.events, IsEmpty());
}

TEST(DecideDeletingTest, FencedWithForceDeleteReleasesTheFinalizer) {
  DeletingFacts facts = fencedAndHeld();
  facts.force_delete = true;
  const DeletingDecision d = decideDeleting(facts);
  EXPECT_TRUE(d.release_finalizer);
  EXPECT_FALSE(d.repair_label);
  EXPECT_THAT(reasons(d.events), ElementsAre("ForceDeleted"));
  EXPECT_THAT(d.events[0].message, HasSubstr("fenced hypervisor hv-a"));
}

TEST(DecideDeletingTest, FencedWithoutForceDeleteWaitsAndSaysHowToForce) {
  const DeletingDecision d = decideDeleting(fencedAndHeld());
  EXPECT_FALSE(d.release_finalizer);
  EXPECT_THAT(reasons(d.events), ElementsAre("WaitingForNode"));
  EXPECT_THAT(d.events[0].message, HasSubstr("novacron.io/force-delete=true"));
}

// Regression (fault suite seeds 10016 and 10023): deleted before the failover of its fenced
// node, a VM stayed Terminating and bound there; failed over first, it was released.
TEST(DecideDeletingTest, FencedWithTheFencedFailoverPolicyIsReleasedAndItsDisksReported) {
  DeletingFacts facts = fencedAndHeld();
  facts.failover_fenced = true;
  facts.label = "";  // no label repair for a VM released at once
  facts.vm_key = "default/web (uid u1)";
  expectReleasedAndDisksReportedOnFencedNode(decideDeleting(facts));
}

TEST(DecideDeletingTest, ADeletedHypervisorWithTheFencedFailoverPolicyIsReleasedUnreported) {
  DeletingFacts facts = fencedAndHeld();
  facts.failover_fenced = true;
  facts.hypervisor_fenced = false;
  facts.hypervisor_exists = false;
  expectReleasedForDeletedNodeUnreported(decideDeleting(facts));
}

TEST(DecideDeletingTest, TheFencedFailoverPolicyNeverReleasesForANodeThatIsNotFenced) {
  DeletingFacts facts = fencedAndHeld();
  facts.failover_fenced = true;
  facts.hypervisor_fenced = false;  // down perhaps (stale heartbeat), but not confirmed
  const DeletingDecision d = decideDeleting(facts);
  EXPECT_FALSE(d.release_finalizer);
  EXPECT_THAT(d.events, IsEmpty());
}

TEST(DecideDeletingTest, DeletedHypervisorCountsAsGone) {
  DeletingFacts facts = fencedAndHeld();
  facts.hypervisor_fenced = false;
  facts.hypervisor_exists = false;
  facts.force_delete = true;
  const DeletingDecision d = decideDeleting(facts);
  EXPECT_TRUE(d.release_finalizer);
  EXPECT_THAT(d.events[0].message, HasSubstr("deleted hypervisor hv-a"));
}

TEST(DecideDeletingTest, AHealthyNodeCleansUpItself) {
  DeletingFacts facts = fencedAndHeld();
  facts.hypervisor_fenced = false;
  facts.force_delete = true;
  const DeletingDecision d = decideDeleting(facts);
  EXPECT_FALSE(d.release_finalizer);
  EXPECT_THAT(d.events, IsEmpty());
}

TEST(DecideDeletingTest, TheLabelKeepsMirroringTheBindingWhileDeleting) {
  DeletingFacts facts = fencedAndHeld();
  facts.label = "";
  facts.hypervisor_fenced = false;
  EXPECT_TRUE(decideDeleting(facts).repair_label);
  facts.bound = "";
  facts.label = "hv-a";
  EXPECT_FALSE(decideDeleting(facts).repair_label);  // unbound: nobody watches for it
  EXPECT_FALSE(decideDeleting(facts).release_finalizer);
}

// --- phase events ---

TEST(PhaseEventTest, OnlyTransitionsToStoppedAndFailedAreReported) {
  api::VirtualMachine vm = testVm();
  vm.status.hypervisor = "hv-a";
  vm.status.phase = VirtualMachinePhase::kRunning;
  EXPECT_EQ(phaseEvent("", vm), std::nullopt);  // first sight
  EXPECT_EQ(phaseEvent("Running", vm), std::nullopt);
  // The node-daemon posts "Started" when it starts the domain: not a second Event per VM.
  EXPECT_EQ(phaseEvent("Starting", vm), std::nullopt);
  EXPECT_EQ(phaseEvent("Scheduled", vm), std::nullopt);
  EXPECT_EQ(phaseEvent("Unknown", vm), std::nullopt);
  vm.status.phase = VirtualMachinePhase::kFailed;
  EXPECT_EQ(phaseEvent("Running", vm), (VmEvent{"Warning", "Failed", "VM failed on hv-a"}));
  vm.status.phase = VirtualMachinePhase::kStopped;
  EXPECT_EQ(phaseEvent("Stopping", vm), (VmEvent{"Normal", "Stopped", "VM stopped on hv-a"}));
  vm.status.phase = VirtualMachinePhase::kStarting;
  EXPECT_EQ(phaseEvent("Stopped", vm), std::nullopt);
}

}  // namespace
}  // namespace novacron::controller
