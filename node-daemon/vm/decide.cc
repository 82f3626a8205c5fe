#include "node-daemon/vm/decide.h"

#include "lib/api/names.h"

namespace novacron::node::vm {
namespace {

bool pauseRequested(const api::VirtualMachine& vm) {
  auto it = vm.metadata.annotations.find(std::string(api::kPausedAnnotation));
  return it != vm.metadata.annotations.end() && it->second == "true";
}

}  // namespace

Binding bindingOf(const api::VirtualMachine& vm, std::string_view node) {
  if (!vm.status.hypervisor || vm.status.hypervisor->empty()) {
    return Binding::kUnbound;
  }
  return *vm.status.hypervisor == node ? Binding::kHere : Binding::kElsewhere;
}

std::string_view bindingName(Binding binding) {
  switch (binding) {
  case Binding::kHere:
    return "here";
  case Binding::kUnbound:
    return "unbound";
  case Binding::kElsewhere:
    return "elsewhere";
  }
  return "unknown";
}

bool isRunning(virt::DomainState state) {
  return state == virt::DomainState::kRunning || state == virt::DomainState::kBlocked ||
         state == virt::DomainState::kPaused;
}

bool isActive(virt::DomainState state) {
  return state != virt::DomainState::kShutOff && state != virt::DomainState::kNoState &&
         state != virt::DomainState::kCrashed;
}

PowerInputs powerInputs(const api::VirtualMachine& vm, const Observation& observed) {
  PowerInputs in;
  in.strategy = vm.spec.runStrategy;
  in.pause_requested = pauseRequested(vm);
  in.ever_started = vm.status.startTime.has_value();
  in.domain_defined = observed.domain.has_value();
  in.state = observed.domain ? observed.domain->state : virt::DomainState::kShutOff;
  in.stop_reason = observed.domain && observed.domain->state == virt::DomainState::kShutOff
                       ? stopReasonOf(observed.domain->shutoff_reason)
                       : StopReason::kUnknown;
  in.grace_period = std::chrono::seconds(vm.spec.terminationGracePeriodSeconds);
  in.now = observed.now;
  // A shutdown request only matters while the domain still runs.
  if (observed.domain && isActive(observed.domain->state)) {
    in.shutdown_requested_at = observed.shutdown_requested_at;
  }
  return in;
}

api::VirtualMachineStatus reportedStatus(const api::VirtualMachine& vm, const ReportInputs& in) {
  api::VirtualMachineStatus status = vm.status;
  const int64_t generation = vm.metadata.generation;
  if (in.started_now) {
    status.startTime = in.now;
  }
  if (in.after) {
    status.domainUUID = in.after->uuid;
    if (isRunning(in.after->state) && !status.startTime) {
      status.startTime = in.now;  // adopted a domain that was already running
    }
    status.interfaces = in.interfaces;
  }
  status.phase = in.decision.phase;
  status.observedGeneration = generation;
  const bool ready = in.decision.ready;
  api::setCondition(status.conditions,
                    {std::string(api::kConditionReady),
                     ready ? api::ConditionStatus::kTrue : api::ConditionStatus::kFalse,
                     generation,
                     {},
                     std::string(in.decision.reason),
                     ready ? "domain " + in.domain_name + " is running on " + in.node
                           : "domain " + in.domain_name + ": " + std::string(in.decision.reason),
                     {}},
                    in.now);
  return status;
}

bool failedForThisGeneration(const api::VirtualMachine& vm) {
  if (vm.status.phase != api::VirtualMachinePhase::kFailed ||
      vm.status.observedGeneration != vm.metadata.generation) {
    return false;
  }
  const api::Condition* ready = api::findCondition(vm.status.conditions, api::kConditionReady);
  return ready && ready->status == api::ConditionStatus::kFalse &&
         ready->observedGeneration == vm.metadata.generation &&
         (ready->reason == kReasonInvalidSpec || ready->reason == kReasonDiskPreparationFailed);
}

api::VirtualMachineStatus invalidSpecStatus(const api::VirtualMachine& vm, std::string_view reason,
                                            const std::string& message, api::Timestamp now) {
  api::VirtualMachineStatus status = vm.status;
  const int64_t generation = vm.metadata.generation;
  api::setCondition(status.conditions,
                    {std::string(api::kConditionReady),
                     api::ConditionStatus::kFalse,
                     generation,
                     {},
                     std::string(reason),
                     message,
                     {}},
                    now);
  status.phase = api::VirtualMachinePhase::kFailed;
  status.observedGeneration = generation;
  return status;
}

}  // namespace novacron::node::vm
