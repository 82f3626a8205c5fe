#include "node-daemon/vm/run_strategy.h"

#include <gtest/gtest.h>

namespace novacron::node::vm {
namespace {

using api::RunStrategy;
using api::VirtualMachinePhase;
using namespace std::chrono_literals;
using virt::DomainState;

PowerInputs inputs(RunStrategy s, bool defined, DomainState state) {
  PowerInputs in;
  in.strategy = s;
  in.domain_defined = defined;
  in.state = state;
  in.now = std::chrono::steady_clock::time_point(1000s);
  return in;
}

TEST(RunStrategy, AlwaysStartsAndRestartsForAnyReason) {
  auto d = decidePower(inputs(RunStrategy::kAlways, false, DomainState::kShutOff));
  EXPECT_EQ(d.action, PowerAction::kStart);
  EXPECT_EQ(d.phase, VirtualMachinePhase::kStarting);
  for (auto reason : {StopReason::kGuestShutdown, StopReason::kDestroyed, StopReason::kCrashed}) {
    auto in = inputs(RunStrategy::kAlways, true, DomainState::kShutOff);
    in.ever_started = true;
    in.stop_reason = reason;
    EXPECT_EQ(decidePower(in).action, PowerAction::kStart);
  }
  auto running = decidePower(inputs(RunStrategy::kAlways, true, DomainState::kRunning));
  EXPECT_EQ(running.action, PowerAction::kNone);
  EXPECT_EQ(running.phase, VirtualMachinePhase::kRunning);
  EXPECT_TRUE(running.ready);
}

TEST(RunStrategy, RerunOnFailureRestartsOnlyAfterFailure) {
  auto in = inputs(RunStrategy::kRerunOnFailure, true, DomainState::kShutOff);
  EXPECT_EQ(decidePower(in).action, PowerAction::kStart) << "first start";
  in.ever_started = true;
  in.stop_reason = StopReason::kGuestShutdown;
  auto clean = decidePower(in);
  EXPECT_EQ(clean.action, PowerAction::kNone);
  EXPECT_EQ(clean.phase, VirtualMachinePhase::kStopped);
  in.stop_reason = StopReason::kCrashed;
  EXPECT_EQ(decidePower(in).action, PowerAction::kStart);
  in.stop_reason = StopReason::kFailed;
  EXPECT_EQ(decidePower(in).action, PowerAction::kStart);
  auto crashed = inputs(RunStrategy::kRerunOnFailure, true, DomainState::kCrashed);
  crashed.ever_started = true;
  EXPECT_EQ(decidePower(crashed).action, PowerAction::kStart);
}

TEST(RunStrategy, OnceRunsExactlyOnce) {
  auto in = inputs(RunStrategy::kOnce, false, DomainState::kShutOff);
  EXPECT_EQ(decidePower(in).action, PowerAction::kStart);
  in.domain_defined = true;
  in.state = DomainState::kRunning;
  in.ever_started = true;
  EXPECT_EQ(decidePower(in).action, PowerAction::kNone);
  in.state = DomainState::kShutOff;
  in.stop_reason = StopReason::kCrashed;
  auto after = decidePower(in);
  EXPECT_EQ(after.action, PowerAction::kNone);
  EXPECT_EQ(after.phase, VirtualMachinePhase::kFailed);
  in.stop_reason = StopReason::kGuestShutdown;
  EXPECT_EQ(decidePower(in).phase, VirtualMachinePhase::kStopped);
}

TEST(RunStrategy, ManualNeverChangesPowerState) {
  auto off = decidePower(inputs(RunStrategy::kManual, true, DomainState::kShutOff));
  EXPECT_EQ(off.action, PowerAction::kNone);
  EXPECT_EQ(off.phase, VirtualMachinePhase::kStopped);
  auto on = decidePower(inputs(RunStrategy::kManual, true, DomainState::kRunning));
  EXPECT_EQ(on.action, PowerAction::kNone);
  EXPECT_EQ(on.phase, VirtualMachinePhase::kRunning);
}

TEST(RunStrategy, HaltedShutsDownGracefullyThenDestroys) {
  auto in = inputs(RunStrategy::kHalted, true, DomainState::kRunning);
  in.grace_period = 30s;
  auto first = decidePower(in);
  EXPECT_EQ(first.action, PowerAction::kShutdown);
  EXPECT_EQ(first.phase, VirtualMachinePhase::kStopping);
  ASSERT_TRUE(first.requeue_after);

  in.shutdown_requested_at = in.now;
  in.now += 10s;
  auto waiting = decidePower(in);
  EXPECT_EQ(waiting.action, PowerAction::kNone);
  ASSERT_TRUE(waiting.requeue_after);
  EXPECT_EQ(*waiting.requeue_after, 20s);

  in.now += 20s;
  EXPECT_EQ(decidePower(in).action, PowerAction::kDestroy);

  in.state = DomainState::kShutOff;
  auto stopped = decidePower(in);
  EXPECT_EQ(stopped.action, PowerAction::kNone);
  EXPECT_EQ(stopped.phase, VirtualMachinePhase::kStopped);
  EXPECT_FALSE(stopped.ready);

  auto never = decidePower(inputs(RunStrategy::kHalted, false, DomainState::kShutOff));
  EXPECT_EQ(never.action, PowerAction::kNone);
  EXPECT_EQ(never.phase, VirtualMachinePhase::kStopped);
}

TEST(RunStrategy, HaltedDestroysAPausedDomainAtOnce) {
  auto in = inputs(RunStrategy::kHalted, true, DomainState::kPaused);
  EXPECT_EQ(decidePower(in).action, PowerAction::kDestroy);
}

TEST(RunStrategy, PauseAndResume) {
  auto in = inputs(RunStrategy::kAlways, true, DomainState::kRunning);
  in.pause_requested = true;
  auto p = decidePower(in);
  EXPECT_EQ(p.action, PowerAction::kSuspend);
  EXPECT_EQ(p.phase, VirtualMachinePhase::kPaused);
  in.state = DomainState::kPaused;
  EXPECT_EQ(decidePower(in).action, PowerAction::kNone);
  in.pause_requested = false;
  auto r = decidePower(in);
  EXPECT_EQ(r.action, PowerAction::kResume);
  EXPECT_EQ(r.phase, VirtualMachinePhase::kRunning);
}

TEST(RunStrategy, GuestShuttingDownIsLeftAlone) {
  auto d = decidePower(inputs(RunStrategy::kAlways, true, DomainState::kShuttingDown));
  EXPECT_EQ(d.action, PowerAction::kNone);
  EXPECT_EQ(d.phase, VirtualMachinePhase::kStopping);
}

TEST(RunStrategy, StopReasonMapping) {
  EXPECT_EQ(stopReasonOf(virt::ShutoffReason::kShutdown), StopReason::kGuestShutdown);
  EXPECT_EQ(stopReasonOf(virt::ShutoffReason::kDestroyed), StopReason::kDestroyed);
  EXPECT_EQ(stopReasonOf(virt::ShutoffReason::kCrashed), StopReason::kCrashed);
  EXPECT_EQ(stopReasonOf(virt::ShutoffReason::kFailed), StopReason::kFailed);
  EXPECT_EQ(stopReasonOf(virt::ShutoffReason::kUnknown), StopReason::kUnknown);
  EXPECT_EQ(stopReasonOf(virt::ShutoffReason::kMigrated), StopReason::kUnknown);
}

}  // namespace
}  // namespace novacron::node::vm

namespace novacron::node::vm {
namespace {

TEST(RunStrategy, ARequestedRestartRestartsARunningOrPausedDomainOnly) {
  for (auto state : {DomainState::kRunning, DomainState::kPaused}) {
    auto in = inputs(RunStrategy::kAlways, true, state);
    in.ever_started = true;
    in.restart_requested = true;
    auto d = decidePower(in);
    EXPECT_EQ(d.action, PowerAction::kRestart);
    EXPECT_EQ(d.phase, VirtualMachinePhase::kStarting);
  }
  auto halted = inputs(RunStrategy::kHalted, true, DomainState::kShutOff);
  halted.restart_requested = true;
  EXPECT_EQ(decidePower(halted).action, PowerAction::kNone) << "a stopped VM stays stopped";
  auto off = inputs(RunStrategy::kAlways, true, DomainState::kShutOff);
  off.restart_requested = true;
  EXPECT_EQ(decidePower(off).action, PowerAction::kStart) << "off: an ordinary start";
}

}  // namespace
}  // namespace novacron::node::vm
