// novacron_scheduler_* metrics:
//   novacron_scheduler_attempts_total{result}            scheduled | unschedulable | error
//   novacron_scheduler_attempt_duration_seconds{result}  decide + reserve + bind, per attempt
//   novacron_scheduler_binding_conflicts_total{object}   hypervisor | vm (lost optimistic races)
//   novacron_scheduler_unreachable_hypervisors           hypervisors with a stale heartbeat
// Thread-safety: prometheus-cpp metrics are thread-safe.
#pragma once

#include <memory>
#include <string_view>

#include "lib/metrics/registry.h"

namespace novacron::controller {

class SchedulerMetrics {
public:
  explicit SchedulerMetrics(metrics::RegistryPtr registry = nullptr);
  ~SchedulerMetrics();

  void attempt(std::string_view result, double seconds);
  void conflict(std::string_view object);
  void setUnreachableHypervisors(double count);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace novacron::controller
