// The Hypervisor reconciler's pure decide step: the controller's part of a Hypervisor's status.
#include "controller/hypervisor/hypervisor_decision.h"

#include <gtest/gtest.h>

#include "controller/ledger/ledger.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "tests/mocks/fake_clock.h"
#include "tests/mocks/status_vocabulary.h"
#include "tests/unit/controller/cluster_objects.h"

namespace novacron::controller {
namespace {

using api::ConditionStatus;
using ctltest::kGi;

class HypervisorDecisionTest : public ::testing::Test {
protected:
  api::Hypervisor hv_ = ctltest::makeHypervisor("hv-a", 8, 16 * kGi);
  novacron::testing::FakeClock clock_;
  const HypervisorHealthFacts fresh_{true, std::chrono::seconds(40)};
  const HypervisorHealthFacts stale_{false, std::chrono::seconds(40)};

  const api::Condition& condition(const api::HypervisorStatus& status, std::string_view type) {
    novacron::testing::noteStatus("Hypervisor", api::toJson(status));  // docs contract test
    const api::Condition* c = api::findCondition(status.conditions, type);
    EXPECT_NE(c, nullptr) << type;
    static const api::Condition kMissing;
    return c ? *c : kMissing;
  }
};

TEST_F(HypervisorDecisionTest, AllocatedSummarisesTheLedger) {
  hv_.status.allocations = ledger::encodeLedger(
      {{"default/a", {"uid-a", {2, 2 * kGi}, ""}}, {"default/b", {"uid-b", {1, kGi}, "g"}}});
  const api::HypervisorStatus status = decideHypervisorStatus(hv_, fresh_, clock_);
  ASSERT_TRUE(status.allocated.has_value());
  EXPECT_EQ(status.allocated->cpus, 3);
  EXPECT_EQ(status.allocated->memory.value(), 3 * kGi);
  EXPECT_EQ(status.allocated->vms, 2);
}

TEST_F(HypervisorDecisionTest, ACorruptLedgerLeavesAllocatedAlone) {
  hv_.status.allocations = "[{not json";
  EXPECT_FALSE(decideHypervisorStatus(hv_, fresh_, clock_).allocated.has_value());
}

TEST_F(HypervisorDecisionTest, StaleHeartbeatMakesReadyUnknownAndUnschedulable) {
  const api::HypervisorStatus status = decideHypervisorStatus(hv_, stale_, clock_);
  const api::Condition& ready = condition(status, api::kConditionReady);
  EXPECT_EQ(ready.status, ConditionStatus::kUnknown);
  EXPECT_EQ(ready.reason, "HeartbeatTimeout");
  EXPECT_EQ(ready.message, "the node-daemon has not renewed its heartbeat Lease for more than 40s");
  EXPECT_EQ(condition(status, api::kConditionSchedulable).reason, "NotReady");
}

TEST_F(HypervisorDecisionTest, ReadyComesBackOnlyFromTheControllersOwnTimeout) {
  hv_.status = decideHypervisorStatus(hv_, stale_, clock_);
  const api::HypervisorStatus resumed = decideHypervisorStatus(hv_, fresh_, clock_);
  const api::Condition& back = condition(resumed, api::kConditionReady);
  EXPECT_EQ(back.status, ConditionStatus::kTrue);
  EXPECT_EQ(back.reason, "HeartbeatResumed");

  // A Ready=False the node-daemon reported is its own; a fresh heartbeat does not override it.
  api::Condition not_ready;
  not_ready.type = "Ready";
  not_ready.status = ConditionStatus::kFalse;
  not_ready.reason = "LibvirtUnavailable";
  not_ready.message = "libvirt does not answer";
  api::setCondition(hv_.status.conditions, not_ready, api::toTimestamp(clock_.wallNow()));
  EXPECT_EQ(condition(decideHypervisorStatus(hv_, fresh_, clock_), api::kConditionReady).reason,
            "LibvirtUnavailable");
}

TEST_F(HypervisorDecisionTest, SchedulableSaysWhyNot) {
  EXPECT_EQ(
      condition(decideHypervisorStatus(hv_, fresh_, clock_), api::kConditionSchedulable).status,
      ConditionStatus::kTrue);
  hv_.spec.unschedulable = true;
  EXPECT_EQ(
      condition(decideHypervisorStatus(hv_, fresh_, clock_), api::kConditionSchedulable).reason,
      "Unschedulable");
  hv_.spec.maintenance = true;
  EXPECT_EQ(
      condition(decideHypervisorStatus(hv_, fresh_, clock_), api::kConditionSchedulable).reason,
      "Maintenance");
  hv_.metadata.annotations[std::string(api::kFencedAnnotation)] = "true";
  EXPECT_EQ(
      condition(decideHypervisorStatus(hv_, fresh_, clock_), api::kConditionSchedulable).reason,
      "Fenced");
}

TEST_F(HypervisorDecisionTest, DecidingAgainOnTheWrittenStatusChangesNothing) {
  hv_.status = decideHypervisorStatus(hv_, stale_, clock_);
  clock_.advance(std::chrono::minutes(1));
  EXPECT_EQ(decideHypervisorStatus(hv_, stale_, clock_), hv_.status);
}

}  // namespace
}  // namespace novacron::controller
