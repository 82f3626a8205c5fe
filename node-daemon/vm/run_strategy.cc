#include "node-daemon/vm/run_strategy.h"

namespace novacron::node::vm {
namespace {

using api::VirtualMachinePhase;
using virt::DomainState;

bool isOn(DomainState s) {
  return s == DomainState::kRunning || s == DomainState::kBlocked || s == DomainState::kPaused ||
         s == DomainState::kShuttingDown || s == DomainState::kPMSuspended;
}

// Whether the strategy wants the domain running now.
bool wantsRunning(const PowerInputs& in) {
  switch (in.strategy) {
  case api::RunStrategy::kAlways:
    return true;
  case api::RunStrategy::kHalted:
    return false;
  case api::RunStrategy::kManual:
    return isOn(in.state);  // leave it as it is
  case api::RunStrategy::kOnce:
    return isOn(in.state) || !in.ever_started;
  case api::RunStrategy::kRerunOnFailure:
    if (isOn(in.state) || !in.ever_started) {
      return true;
    }
    if (in.state == DomainState::kCrashed) {
      return true;
    }
    return in.stop_reason == StopReason::kCrashed || in.stop_reason == StopReason::kFailed;
  }
  return false;
}

PowerDecision make(PowerAction a, VirtualMachinePhase p, bool ready, std::string_view reason) {
  PowerDecision d;
  d.action = a;
  d.phase = p;
  d.ready = ready;
  d.reason = reason;
  return d;
}

}  // namespace

StopReason stopReasonOf(virt::ShutoffReason reason) {
  switch (reason) {
  case virt::ShutoffReason::kShutdown:
    return StopReason::kGuestShutdown;
  case virt::ShutoffReason::kDestroyed:
    return StopReason::kDestroyed;
  case virt::ShutoffReason::kCrashed:
    return StopReason::kCrashed;
  case virt::ShutoffReason::kFailed:
    return StopReason::kFailed;
  default:
    return StopReason::kUnknown;
  }
}

std::string_view powerActionName(PowerAction action) {
  switch (action) {
  case PowerAction::kNone:
    return "none";
  case PowerAction::kStart:
    return "start";
  case PowerAction::kShutdown:
    return "shutdown";
  case PowerAction::kDestroy:
    return "destroy";
  case PowerAction::kSuspend:
    return "suspend";
  case PowerAction::kRestart:
    return "restart";
  case PowerAction::kResume:
    return "resume";
  }
  return "none";
}

PowerDecision decidePower(const PowerInputs& in) {
  const DomainState s = in.domain_defined ? in.state : DomainState::kShutOff;
  PowerInputs eff = in;
  eff.state = s;
  const bool on = isOn(s);

  if (!wantsRunning(eff)) {
    if (!on) {
      if (s == DomainState::kCrashed) {
        return make(PowerAction::kNone, VirtualMachinePhase::kFailed, false, "DomainFailed");
      }
      bool failed = in.stop_reason == StopReason::kCrashed || in.stop_reason == StopReason::kFailed;
      return make(PowerAction::kNone,
                  failed ? VirtualMachinePhase::kFailed : VirtualMachinePhase::kStopped, false,
                  failed                                     ? "DomainFailed"
                  : in.strategy == api::RunStrategy::kHalted ? "Halted"
                                                             : "DomainStopped");
    }
    // It is on and should not be: graceful shutdown, then destroy after the grace period.
    if (s == DomainState::kPaused) {
      // A paused guest cannot react to ACPI.
      return make(PowerAction::kDestroy, VirtualMachinePhase::kStopping, false, "Stopping");
    }
    if (!in.shutdown_requested_at) {
      PowerDecision d =
          make(PowerAction::kShutdown, VirtualMachinePhase::kStopping, false, "Stopping");
      d.requeue_after = std::chrono::duration_cast<std::chrono::milliseconds>(in.grace_period);
      return d;
    }
    auto deadline = *in.shutdown_requested_at + in.grace_period;
    if (in.now >= deadline) {
      return make(PowerAction::kDestroy, VirtualMachinePhase::kStopping, false,
                  "GracePeriodExpired");
    }
    PowerDecision d = make(PowerAction::kNone, VirtualMachinePhase::kStopping, false, "Stopping");
    d.requeue_after = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - in.now);
    return d;
  }

  // Should run.
  if (!on) {
    return make(PowerAction::kStart, VirtualMachinePhase::kStarting, false, "Starting");
  }
  if (s == DomainState::kShuttingDown) {
    // The guest is shutting itself down; let it finish, then the next pass decides.
    return make(PowerAction::kNone, VirtualMachinePhase::kStopping, false, "GuestShuttingDown");
  }
  if (in.restart_requested) {
    return make(PowerAction::kRestart, VirtualMachinePhase::kStarting, false, "Restarting");
  }
  if (s == DomainState::kPaused) {
    if (in.pause_requested) {
      return make(PowerAction::kNone, VirtualMachinePhase::kPaused, false, "Paused");
    }
    return make(PowerAction::kResume, VirtualMachinePhase::kRunning, true, "DomainRunning");
  }
  if (in.pause_requested) {
    return make(PowerAction::kSuspend, VirtualMachinePhase::kPaused, false, "Paused");
  }
  return make(PowerAction::kNone, VirtualMachinePhase::kRunning, true, "DomainRunning");
}

}  // namespace novacron::node::vm
