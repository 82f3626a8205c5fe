#include "node-daemon/vm/decide.h"

#include <algorithm>

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

bool migrationInProgress(const api::VirtualMachine& vm) {
  return vm.status.activeMigration && !vm.status.activeMigration->empty();
}

PowerDecision migratingDecision(const std::optional<virt::DomainInfo>& domain) {
  PowerDecision d;
  d.action = PowerAction::kNone;
  d.phase = api::VirtualMachinePhase::kMigrating;
  d.ready = domain && isRunning(domain->state);
  d.reason = d.ready ? "Migrating" : "MigratingGuestNotRunning";
  return d;
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
  if (in.last_start && status.startTime != in.last_start) {
    status.startTime = in.last_start;  // a start whose report was lost (e.g. a write conflict)
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
  setMigratable(status, vm, in.after && isRunning(in.after->state), in.now);
  return status;
}

void setMigratable(api::VirtualMachineStatus& status, const api::VirtualMachine& vm, bool running,
                   api::Timestamp now) {
  api::ConditionStatus value = api::ConditionStatus::kTrue;
  std::string_view reason = kReasonMigratable;
  std::string message = "the guest runs and can be live-migrated";
  if (!running) {
    value = api::ConditionStatus::kFalse;
    reason = kReasonNotRunning;
    message = "only a running guest is live-migrated";
  } else if (vm.spec.cpu && vm.spec.cpu->model == "host-passthrough") {
    value = api::ConditionStatus::kFalse;
    reason = kReasonHostPassthroughCpu;
    message = "cpu.model host-passthrough ties the guest to this host's exact CPU";
  }
  api::setCondition(status.conditions,
                    {std::string(api::kConditionMigratable),
                     value,
                     vm.metadata.generation,
                     {},
                     std::string(reason),
                     message,
                     {}},
                    now);
}

api::VirtualMachineStatus startingStatus(const api::VirtualMachine& vm, std::string_view reason,
                                         const std::string& message, api::Timestamp now) {
  api::VirtualMachineStatus status = notReadyStatus(vm, reason, message, now);
  status.phase = api::VirtualMachinePhase::kStarting;
  setMigratable(status, vm, false, now);
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
         (ready->reason == kReasonInvalidSpec || ready->reason == kReasonDiskPreparationFailed ||
          ready->reason == kReasonBridgeNotAllowed);
}

std::optional<std::string> disallowedBridge(const api::VirtualMachine& vm,
                                            const std::vector<std::string>& allowed) {
  for (const auto& net : vm.spec.networks) {
    if (net.type != api::NetworkType::kBridge) {
      continue;
    }
    const std::string bridge = net.bridge.value_or("");
    if (std::find(allowed.begin(), allowed.end(), bridge) == allowed.end()) {
      return bridge;
    }
  }
  return std::nullopt;
}

bool usesImage(const api::VirtualMachine& vm, const std::string& url) {
  for (const auto& d : vm.spec.disks) {
    if (d.image && d.image->url == url) {
      return true;
    }
  }
  if (vm.spec.kernelBoot) {
    const auto& kb = *vm.spec.kernelBoot;
    return kb.kernel.url == url || (kb.initrd && kb.initrd->url == url);
  }
  return false;
}

api::VirtualMachineStatus notReadyStatus(const api::VirtualMachine& vm, std::string_view reason,
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
  status.observedGeneration = generation;
  return status;
}

api::VirtualMachineStatus invalidSpecStatus(const api::VirtualMachine& vm, std::string_view reason,
                                            const std::string& message, api::Timestamp now) {
  api::VirtualMachineStatus status = notReadyStatus(vm, reason, message, now);
  status.phase = api::VirtualMachinePhase::kFailed;
  return status;
}

}  // namespace novacron::node::vm
