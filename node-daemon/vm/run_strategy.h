// The runStrategy state machine as pure logic: given what the VM asks for and what libvirt
// reports, decide the next power action and the phase to report. No I/O, no clock reads (the
// caller passes `now`), so every transition is unit-tested.
//
//   Always          keep the domain running; start it whenever it is off, for any reason.
//   RerunOnFailure  start it; restart after a crash or failure, but not after the guest shut
//                   itself down cleanly (reported as Stopped).
//   Once            start it once (status.startTime unset); never restart after it stops.
//   Manual          never change the power state on our own; report what is there.
//   Halted          keep it off: graceful shutdown, then destroy once the grace period ran out.
// Pause: when pause is requested (spec.paused, or the deprecated annotation novacron.io/paused=
// "true") a running domain is suspended; when it is no longer requested a paused domain is resumed.
// Restart: when a restart is owed (spec.restartRequestedAt) and the domain should keep running, it
// is powered off and started again (kRestart).
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "lib/api/names.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node::vm {

// Why a shut-off domain stopped (libvirt's VIR_DOMAIN_SHUTOFF_* reasons, grouped).
enum class StopReason { kUnknown, kGuestShutdown, kDestroyed, kCrashed, kFailed };

// Groups the adapter's shut-off reasons.
StopReason stopReasonOf(virt::ShutoffReason reason);

struct PowerInputs {
  api::RunStrategy strategy = api::RunStrategy::kAlways;
  bool pause_requested = false;
  bool restart_requested = false;
  bool ever_started = false;  // status.startTime is set: the VM ran at least once
  bool domain_defined = false;
  virt::DomainState state = virt::DomainState::kShutOff;
  StopReason stop_reason = StopReason::kUnknown;
  // When we asked the guest to shut down (graceful stop in progress), if we did.
  std::optional<std::chrono::steady_clock::time_point> shutdown_requested_at;
  std::chrono::seconds grace_period{30};
  std::chrono::steady_clock::time_point now{};
};

enum class PowerAction {
  kNone,
  kStart,     // define first if needed
  kShutdown,  // ask the guest (ACPI); remember when
  kDestroy,   // hard power-off
  kSuspend,
  kResume,
  kRestart,  // destroy, then start again
};

std::string_view powerActionName(PowerAction action);

struct PowerDecision {
  PowerAction action = PowerAction::kNone;
  api::VirtualMachinePhase phase = api::VirtualMachinePhase::kUnknown;  // after the action starts
  // Come back after this long (a graceful shutdown in progress).
  std::optional<std::chrono::milliseconds> requeue_after;
  bool ready = false;       // the Ready condition
  std::string_view reason;  // CamelCase reason for the Ready condition
};

PowerDecision decidePower(const PowerInputs& in);

}  // namespace novacron::node::vm
