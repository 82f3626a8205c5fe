// RebalanceConfig: what the controller's `rebalance:` configuration section says (parsed and
// validated by controller/config/config.cc; docs/rebalancing.md explains every field). Off by
// default: rebalancing moves running guests, so an operator opts in, first in propose mode.
// Thread-safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/core/status.h"

namespace novacron::controller::rebalance {

enum class Mode {
  kPropose,  // plan, explain in Events, log and metrics; move nothing
  kExecute,  // ...and create the VMMigrations
};

// How the imbalance of a fleet is measured: the utilisation (allocated / schedulable limit, in %)
// of one resource on every participating hypervisor, summarised as max - min or as the population
// standard deviation; both in percentage points.
enum class SpreadMetric { kMemoryMaxMin, kMemoryStdDev, kCpuMaxMin, kCpuStdDev };

inline std::string_view modeName(Mode mode) {
  return mode == Mode::kExecute ? "Execute" : "Propose";
}

inline std::string_view spreadMetricName(SpreadMetric metric) {
  switch (metric) {
  case SpreadMetric::kMemoryMaxMin:
    return "MemoryMaxMin";
  case SpreadMetric::kMemoryStdDev:
    return "MemoryStdDev";
  case SpreadMetric::kCpuMaxMin:
    return "CpuMaxMin";
  case SpreadMetric::kCpuStdDev:
    return "CpuStdDev";
  }
  return "MemoryMaxMin";
}

inline std::optional<SpreadMetric> spreadMetricFromName(std::string_view name) {
  for (auto m : {SpreadMetric::kMemoryMaxMin, SpreadMetric::kMemoryStdDev, SpreadMetric::kCpuMaxMin,
                 SpreadMetric::kCpuStdDev}) {
    if (spreadMetricName(m) == name) {
      return m;
    }
  }
  return std::nullopt;
}

// A daily window in UTC, in minutes after midnight; start > end wraps midnight ("22:00-06:00").
struct QuietHours {
  int start_minute = 0;
  int end_minute = 0;

  friend bool operator==(const QuietHours&, const QuietHours&) = default;
};

struct RebalanceConfig {
  bool enabled = false;
  Mode mode = Mode::kPropose;
  SpreadMetric metric = SpreadMetric::kMemoryMaxMin;
  int max_imbalance_percent = 20;    // allowed spread, percentage points (1..100)
  int budget_per_hour = 10;          // rebalance VMMigrations created in any sliding hour
  int budget_per_node_per_hour = 2;  // ...with a given hypervisor as source or target
  std::chrono::milliseconds cooldown{std::chrono::hours(1)};  // per VM, since its last migration
  std::vector<QuietHours> quiet_hours;                        // no new migrations inside
  std::vector<std::string> exclude_namespaces;
  std::string exclude_selector;  // label selector; matching VMs never move
  std::chrono::milliseconds interval{std::chrono::minutes(5)};

  friend bool operator==(const RebalanceConfig&, const RebalanceConfig&) = default;
};

// InvalidArgument when `text` is not a label selector (lib/kube/selector.h, the one parser).
[[nodiscard]] core::Status checkExcludeSelector(std::string_view text);

}  // namespace novacron::controller::rebalance
