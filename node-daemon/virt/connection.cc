#include "node-daemon/virt/connection.h"

#include <string>

namespace novacron::node::virt {

std::string_view domainStateName(DomainState state) {
  switch (state) {
  case DomainState::kNoState:
    return "nostate";
  case DomainState::kRunning:
    return "running";
  case DomainState::kBlocked:
    return "blocked";
  case DomainState::kPaused:
    return "paused";
  case DomainState::kShuttingDown:
    return "shutdown";
  case DomainState::kShutOff:
    return "shutoff";
  case DomainState::kCrashed:
    return "crashed";
  case DomainState::kPMSuspended:
    return "pmsuspended";
  }
  return "unknown";
}

std::string_view domainEventTypeName(DomainEventType type) {
  switch (type) {
  case DomainEventType::kDefined:
    return "defined";
  case DomainEventType::kUndefined:
    return "undefined";
  case DomainEventType::kStarted:
    return "started";
  case DomainEventType::kSuspended:
    return "suspended";
  case DomainEventType::kResumed:
    return "resumed";
  case DomainEventType::kStopped:
    return "stopped";
  case DomainEventType::kShutdown:
    return "shutdown";
  case DomainEventType::kPMSuspended:
    return "pmsuspended";
  case DomainEventType::kCrashed:
    return "crashed";
  case DomainEventType::kOther:
    return "other";
  }
  return "other";
}

std::string formatVersion(std::uint64_t version) {
  return std::to_string(version / 1000000) + "." + std::to_string((version / 1000) % 1000) + "." +
         std::to_string(version % 1000);
}

}  // namespace novacron::node::virt
