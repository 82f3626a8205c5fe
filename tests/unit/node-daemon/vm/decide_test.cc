// The node-daemon's pure VM decisions: the binding rule, power inputs built once from an
// observation, the reported status (and that reporting twice changes nothing).
#include "node-daemon/vm/decide.h"

#include <gtest/gtest.h>

#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "tests/mocks/status_vocabulary.h"

namespace novacron::node::vm {
namespace {

using namespace std::chrono_literals;

api::VirtualMachine vm() {
  api::VirtualMachine v;
  v.metadata.namespace_ = "ns";
  v.metadata.name = "a";
  v.metadata.generation = 3;
  v.metadata.labels[std::string(api::kHypervisorLabel)] = "node-a";
  v.spec.terminationGracePeriodSeconds = 7;
  return v;
}

virt::DomainInfo domain(virt::DomainState state) {
  virt::DomainInfo d;
  d.name = "ns_a";
  d.uuid = "11111111-2222-3333-4444-555555555555";
  d.state = state;
  d.active = isActive(state);
  return d;
}

TEST(DecideTest, TheBindingIsStatusHypervisorNeverTheLabel) {
  auto v = vm();
  EXPECT_EQ(bindingOf(v, "node-a"), Binding::kUnbound) << "a label alone binds nothing";
  v.status.hypervisor = "node-a";
  EXPECT_EQ(bindingOf(v, "node-a"), Binding::kHere);
  v.status.hypervisor = "node-b";
  EXPECT_EQ(bindingOf(v, "node-a"), Binding::kElsewhere);
  v.status.hypervisor = "";
  EXPECT_EQ(bindingOf(v, "node-a"), Binding::kUnbound);
}

TEST(DecideTest, PowerInputsComeFromOneObservation) {
  auto v = vm();
  v.metadata.annotations[std::string(api::kPausedAnnotation)] = "true";
  Observation o;
  o.now = std::chrono::steady_clock::time_point(100s);
  o.shutdown_requested_at = std::chrono::steady_clock::time_point(90s);
  o.domain = domain(virt::DomainState::kRunning);
  PowerInputs in = powerInputs(v, o);
  EXPECT_TRUE(in.pause_requested);
  EXPECT_TRUE(in.domain_defined);
  EXPECT_EQ(in.state, virt::DomainState::kRunning);
  EXPECT_EQ(in.grace_period, 7s);
  EXPECT_EQ(in.now, o.now);
  EXPECT_EQ(in.shutdown_requested_at, o.shutdown_requested_at);

  o.domain = domain(virt::DomainState::kShutOff);
  o.domain->shutoff_reason = virt::ShutoffReason::kCrashed;
  in = powerInputs(v, o);
  EXPECT_EQ(in.stop_reason, StopReason::kCrashed);
  EXPECT_FALSE(in.shutdown_requested_at) << "a finished shutdown is not in progress";

  o.domain.reset();
  in = powerInputs(v, o);
  EXPECT_FALSE(in.domain_defined);
  EXPECT_EQ(in.state, virt::DomainState::kShutOff);
}

TEST(DecideTest, ReportedStatusIsStableWhenNothingChanged) {
  auto v = vm();
  v.status.hypervisor = "node-a";
  ReportInputs in;
  in.node = "node-a";
  in.domain_name = "ns_a";
  in.after = domain(virt::DomainState::kRunning);
  in.decision.phase = api::VirtualMachinePhase::kRunning;
  in.decision.ready = true;
  in.decision.reason = "Running";
  in.now = *api::parseTimestamp("2026-12-01T10:00:00Z");
  in.started_now = true;
  auto first = reportedStatus(v, in);
  EXPECT_EQ(first.phase, api::VirtualMachinePhase::kRunning);
  EXPECT_EQ(first.observedGeneration, 3);
  EXPECT_EQ(first.domainUUID, in.after->uuid);
  EXPECT_EQ(first.startTime, in.now);
  EXPECT_EQ(first.hypervisor, "node-a") << "the controller's field passes through untouched";
  ASSERT_TRUE(api::isConditionTrue(first.conditions, api::kConditionReady));

  // A second pass later, with nothing changed, reports the same status: no write.
  v.status = first;
  in.started_now = false;
  in.now = *api::parseTimestamp("2026-12-01T10:05:00Z");
  EXPECT_EQ(reportedStatus(v, in), first);
}

// Every status the node-daemon can report, over all run strategies, domain states, stop reasons,
// pause requests, shutdown progress and migrations: each False condition has a reason and a
// message. The statuses are recorded for the docs/api.md contract test (tests/unit/docs).
TEST(DecideTest, EveryReportedStatusHasReasonsAndMessages) {
  using virt::DomainState;
  const std::vector<DomainState> states = {
      DomainState::kNoState, DomainState::kRunning, DomainState::kBlocked,     DomainState::kPaused,
      DomainState::kShutOff, DomainState::kCrashed, DomainState::kShuttingDown};
  const std::vector<virt::ShutoffReason> stops = {
      virt::ShutoffReason::kUnknown, virt::ShutoffReason::kShutdown,
      virt::ShutoffReason::kDestroyed, virt::ShutoffReason::kCrashed, virt::ShutoffReason::kFailed};
  const auto now_wall = *api::parseTimestamp("2026-12-01T10:00:00Z");
  const std::chrono::steady_clock::time_point now(1000s);
  int reported = 0;
  auto check = [&](const api::VirtualMachine& v, const api::VirtualMachineStatus& st) {
    for (const auto& c : st.conditions) {
      if (c.status != api::ConditionStatus::kTrue) {
        EXPECT_FALSE(c.reason.empty()) << c.type;
        EXPECT_FALSE(c.message.empty()) << c.type << " " << c.reason;
      }
    }
    novacron::testing::noteStatus("VirtualMachine", api::toJson(st));
    ++reported;
    (void)v;
  };
  for (auto strategy :
       {api::RunStrategy::kAlways, api::RunStrategy::kRerunOnFailure, api::RunStrategy::kManual,
        api::RunStrategy::kHalted, api::RunStrategy::kOnce}) {
    for (bool defined : {false, true}) {
      for (auto state : states) {
        for (auto stop : stops) {
          for (bool paused : {false, true}) {
            for (int shutdown : {0, 1, 2}) {  // none, within the grace period, past it
              for (bool migrating : {false, true}) {
                for (bool passthrough : {false, true}) {
                  auto v = vm();
                  v.status.hypervisor = "node-a";
                  v.spec.runStrategy = strategy;
                  if (passthrough) {
                    v.spec.cpu = api::CpuSpec{};
                    v.spec.cpu->model = "host-passthrough";
                  }
                  if (paused) {
                    v.metadata.annotations[std::string(api::kPausedAnnotation)] = "true";
                  }
                  if (migrating) {
                    v.status.activeMigration = "m1";
                  }
                  Observation o;
                  o.now = now;
                  if (defined) {
                    o.domain = domain(state);
                    o.domain->shutoff_reason = stop;
                  }
                  if (shutdown > 0) {
                    o.shutdown_requested_at = now - (shutdown == 1 ? 1s : 60s);
                  }
                  const PowerDecision d = migrationInProgress(v) ? migratingDecision(o.domain)
                                                                 : decidePower(powerInputs(v, o));
                  ReportInputs in;
                  in.node = "node-a";
                  in.domain_name = "ns_a";
                  in.after = o.domain;
                  in.decision = d;
                  in.now = now_wall;
                  in.started_now = d.action == PowerAction::kStart;
                  check(v, reportedStatus(v, in));
                }
              }
            }
          }
        }
      }
    }
  }
  const auto v = vm();
  check(v, startingStatus(v, kReasonStarting, "preparing disks: downloading x", now_wall));
  check(v, startingStatus(v, kReasonImageDownloadFailed, "downloading x failed", now_wall));
  check(v, invalidSpecStatus(v, kReasonBridgeNotAllowed, "bridge br9 is not offered", now_wall));
  EXPECT_GT(reported, 1000);
}

TEST(DecideTest, TerminalFailureHoldsUntilTheSpecChanges) {
  auto v = vm();
  EXPECT_FALSE(failedForThisGeneration(v));
  v.status = invalidSpecStatus(v, kReasonDiskPreparationFailed, "digest mismatch",
                               *api::parseTimestamp("2026-12-01T10:00:00Z"));
  EXPECT_EQ(v.status.phase, api::VirtualMachinePhase::kFailed);
  EXPECT_TRUE(failedForThisGeneration(v));
  v.metadata.generation = 4;  // the user edited the spec: try again
  EXPECT_FALSE(failedForThisGeneration(v));
}

TEST(DecideTest, OnlyAllowedBridges) {
  auto v = vm();
  api::Network nat;
  nat.name = "default";
  v.spec.networks = {nat};
  EXPECT_FALSE(disallowedBridge(v, {})) << "NAT networks need no bridge";
  api::Network lan;
  lan.name = "lan";
  lan.type = api::NetworkType::kBridge;
  lan.bridge = "br-host";
  v.spec.networks.push_back(lan);
  EXPECT_EQ(disallowedBridge(v, {}), "br-host");
  EXPECT_EQ(disallowedBridge(v, {"br-vms"}), "br-host");
  EXPECT_FALSE(disallowedBridge(v, {"br-vms", "br-host"}));
}

}  // namespace
}  // namespace novacron::node::vm
