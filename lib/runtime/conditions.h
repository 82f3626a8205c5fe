// Condition helpers for objects handled as JSON (metav1.Condition under status.conditions).
//
// setCondition() behaves like Go's meta.SetStatusCondition: it inserts or updates the condition of
// a type, moves lastTransitionTime only when the status changes, and always records the
// observedGeneration the reconciler acted on. It reports whether anything changed, so a
// reconciler can skip a status write that would change nothing (keeps reconciles idempotent).
// setTypedCondition() does the same for typed API objects (api::VirtualMachine, VMMigration,
// Hypervisor) on top of api::setCondition (lib/api/object_meta.h).
// Thread-safety: pure functions on caller-owned values.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lib/api/object_meta.h"
#include "lib/core/clock.h"

namespace novacron::runtime {

struct ConditionUpdate {
  std::string type;    // e.g. "Ready"
  std::string status;  // "True", "False" or "Unknown"
  std::string reason;  // CamelCase, e.g. "DomainRunning"
  std::string message;
  int64_t observed_generation = 0;
};

// RFC 3339 UTC with second precision, as metav1.Time: "2026-11-21T23:30:00Z".
std::string formatRfc3339(std::chrono::system_clock::time_point time);

// `conditions` is a JSON array (null is treated as empty and becomes an array). Returns true when
// the array changed.
bool setCondition(nlohmann::json& conditions, const ConditionUpdate& update,
                  std::chrono::system_clock::time_point now);

// Sets the condition on object["status"]["conditions"], with observedGeneration taken from the
// object's metadata.generation and the time from `clock`. Returns true when the object changed.
bool setObjectCondition(nlohmann::json& object, std::string type, std::string status,
                        std::string reason, std::string message, const core::Clock& clock);

// The condition of that type in the array, or nullptr.
const nlohmann::json* findCondition(const nlohmann::json& conditions, std::string_view type);
// True when the condition of that type has status "True".
bool isConditionTrue(const nlohmann::json& conditions, std::string_view type);
// Removes the condition of that type; returns true if one was removed.
bool removeCondition(nlohmann::json& conditions, std::string_view type);

// For any typed object with metadata.generation and status.conditions
// (std::vector<api::Condition>): sets the condition with observedGeneration = metadata.generation
// and the time from `clock`. Returns true when the object changed.
template <typename T>
bool setTypedCondition(T& object, std::string type, api::ConditionStatus status, std::string reason,
                       std::string message, const core::Clock& clock) {
  api::Condition condition;
  condition.type = std::move(type);
  condition.status = status;
  condition.observedGeneration = object.metadata.generation;
  condition.reason = std::move(reason);
  condition.message = std::move(message);
  return api::setCondition(object.status.conditions, std::move(condition),
                           api::toTimestamp(clock.wallNow()));
}

}  // namespace novacron::runtime
