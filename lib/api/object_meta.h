// ObjectMeta, OwnerReference and Condition: the Kubernetes metadata every NovaCron object carries,
// and the metav1.Condition shape used in every status.
//
// Timestamps are whole seconds in UTC (Kubernetes metav1.Time is RFC3339 with second precision);
// parseTimestamp() also accepts fractional seconds and numeric offsets and normalises to UTC.
// Thread-safety: plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/api/names.h"
#include "lib/api/unknown_fields.h"

namespace novacron::api {

using Timestamp = std::chrono::sys_seconds;

// "2026-11-21T23:30:00Z"
std::string formatTimestamp(Timestamp time);
// Accepts RFC3339 ("2026-11-21T23:30:00Z", "...T23:30:00.123456Z", "...T23:30:00+02:00");
// nullopt for anything else.
std::optional<Timestamp> parseTimestamp(std::string_view text);
// Truncates a wall-clock time (core::Clock::wallNow()) to a Timestamp.
Timestamp toTimestamp(std::chrono::system_clock::time_point time);

struct OwnerReference {
  std::string apiVersion;
  std::string kind;
  std::string name;
  std::string uid;
  std::optional<bool> controller;
  std::optional<bool> blockOwnerDeletion;
  UnknownFields unknownFields;

  bool operator==(const OwnerReference&) const = default;
};

struct ObjectMeta {
  std::string name;
  std::string generateName;
  std::string namespace_;  // JSON "namespace"; empty for cluster-scoped objects (Hypervisor)
  std::string uid;
  std::string resourceVersion;
  int64_t generation = 0;  // 0 = not set by the server yet (omitted on encode)
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> finalizers;
  std::vector<OwnerReference> ownerReferences;
  std::optional<Timestamp> creationTimestamp;
  std::optional<Timestamp> deletionTimestamp;
  std::optional<int64_t> deletionGracePeriodSeconds;
  // managedFields, selfLink and anything else land here and are written back untouched.
  UnknownFields unknownFields;

  bool operator==(const ObjectMeta&) const = default;
};

// metav1.Condition. All fields are required on the wire (observedGeneration may be 0).
struct Condition {
  std::string type;
  ConditionStatus status = ConditionStatus::kUnknown;
  int64_t observedGeneration = 0;
  Timestamp lastTransitionTime{};
  std::string reason;  // CamelCase, e.g. "DomainRunning"
  std::string message;
  UnknownFields unknownFields;

  bool operator==(const Condition&) const = default;
};

// Returns the condition of that type, or nullptr.
const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type);
// True when the condition of that type exists with status True.
bool isConditionTrue(const std::vector<Condition>& conditions, std::string_view type);
// Inserts or updates the condition of condition.type, like meta.SetStatusCondition in Go:
// lastTransitionTime changes only when status changes (taken from `now` if the caller left it
// zero). Returns true if anything changed (so a reconciler can skip a no-op status write).
bool setCondition(std::vector<Condition>& conditions, Condition condition, Timestamp now);
// Removes the condition of that type; returns true if one was removed.
bool removeCondition(std::vector<Condition>& conditions, std::string_view type);

}  // namespace novacron::api
