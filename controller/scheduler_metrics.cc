#include "controller/scheduler_metrics.h"

#include <string>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

namespace novacron::controller {

struct SchedulerMetrics::Impl {
  metrics::RegistryPtr registry;
  prometheus::Family<prometheus::Counter>& attempts;
  prometheus::Family<prometheus::Histogram>& duration;
  prometheus::Family<prometheus::Counter>& conflicts;
  prometheus::Gauge& unreachable;

  explicit Impl(metrics::RegistryPtr r)
      : registry(std::move(r)),
        attempts(prometheus::BuildCounter()
                     .Name("novacron_scheduler_attempts_total")
                     .Help("Placement attempts by result (scheduled, unschedulable, error)")
                     .Register(*registry)),
        duration(prometheus::BuildHistogram()
                     .Name("novacron_scheduler_attempt_duration_seconds")
                     .Help("Time to decide, reserve and bind one VM, by result")
                     .Register(*registry)),
        conflicts(prometheus::BuildCounter()
                      .Name("novacron_scheduler_binding_conflicts_total")
                      .Help("Optimistic-concurrency conflicts while reserving or binding")
                      .Register(*registry)),
        unreachable(prometheus::BuildGauge()
                        .Name("novacron_scheduler_unreachable_hypervisors")
                        .Help("Hypervisors whose heartbeat Lease is older than the timeout")
                        .Register(*registry)
                        .Add({})) {}
};

SchedulerMetrics::SchedulerMetrics(metrics::RegistryPtr registry)
    : impl_(std::make_unique<Impl>(registry ? std::move(registry) : metrics::defaultRegistry())) {}

SchedulerMetrics::~SchedulerMetrics() = default;

void SchedulerMetrics::attempt(std::string_view result, double seconds) {
  impl_->attempts.Add({{"result", std::string(result)}}).Increment();
  impl_->duration.Add({{"result", std::string(result)}}, metrics::latencyBuckets())
      .Observe(seconds);
}

void SchedulerMetrics::conflict(std::string_view object) {
  impl_->conflicts.Add({{"object", std::string(object)}}).Increment();
}

void SchedulerMetrics::setUnreachableHypervisors(double count) {
  impl_->unreachable.Set(count);
}

}  // namespace novacron::controller
