#include "controller/migration/migration_metrics.h"

#include <string>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "lib/api/names.h"

namespace novacron::controller::migration {

struct MigrationMetrics::Impl {
  metrics::RegistryPtr registry;
  prometheus::Gauge& in_flight;
  prometheus::Gauge& waiting_for_source;
  prometheus::Family<prometheus::Histogram>& duration;
  prometheus::Histogram& downtime;
  prometheus::Family<prometheus::Counter>& bytes;
  prometheus::Family<prometheus::Counter>& results;
  prometheus::Counter& target_cleanup_skipped;

  explicit Impl(metrics::RegistryPtr r)
      : registry(std::move(r)),
        in_flight(prometheus::BuildGauge()
                      .Name("novacron_migration_in_flight")
                      .Help("VMMigrations between admission and a terminal phase")
                      .Register(*registry)
                      .Add({})),
        waiting_for_source(
            prometheus::BuildGauge()
                .Name("novacron_migration_waiting_for_source")
                .Help("VMMigrations whose controller waits for their live source node-daemon to "
                      "answer an abort request (condition WaitingForSource): never failed while "
                      "the source may still run the job")
                .Register(*registry)
                .Add({})),
        duration(prometheus::BuildHistogram()
                     .Name("novacron_migration_duration_seconds")
                     .Help("Time from start (or creation) to completion, by result")
                     .Register(*registry)),
        downtime(prometheus::BuildHistogram()
                     .Name("novacron_migration_downtime_seconds")
                     .Help("Measured switch-over pause of successful live migrations")
                     .Register(*registry)
                     .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.2, 0.3,
                                                                      0.5, 1, 2, 5, 10})),
        bytes(prometheus::BuildCounter()
                  .Name("novacron_migration_bytes_total")
                  .Help("Bytes the source sent for migrations, by result")
                  .Register(*registry)),
        results(prometheus::BuildCounter()
                    .Name("novacron_migration_results_total")
                    .Help("Finished VMMigrations by result (Succeeded, Failed, Cancelled)")
                    .Register(*registry)),
        target_cleanup_skipped(
            prometheus::BuildCounter()
                .Name("novacron_migration_target_cleanup_skipped_total")
                .Help("Deleted VMMigrations released without their target's cleanup report (the "
                      "target Hypervisor was fenced or gone: what it prepared may be orphaned)")
                .Register(*registry)
                .Add({})) {}
};

namespace {

const prometheus::Histogram::BucketBoundaries& durationBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {1,   2,   5,   10,   30,  60,
                                                                  120, 300, 600, 1800, 3600};
  return buckets;
}

}  // namespace

MigrationMetrics::MigrationMetrics(metrics::RegistryPtr registry)
    : impl_(std::make_unique<Impl>(registry ? std::move(registry) : metrics::defaultRegistry())) {
  // Every result from the start: "no failures" is a 0 that rate() and alerts can use, not a
  // missing series (config/monitoring/).
  for (auto phase : {api::MigrationPhase::kSucceeded, api::MigrationPhase::kFailed,
                     api::MigrationPhase::kCancelled}) {
    const prometheus::Labels labels{{"result", std::string(api::toString(phase))}};
    impl_->results.Add(labels);
    impl_->bytes.Add(labels);
    impl_->duration.Add(labels, durationBuckets());
  }
}

MigrationMetrics::~MigrationMetrics() = default;

void MigrationMetrics::setInFlight(double count) {
  impl_->in_flight.Set(count);
}

void MigrationMetrics::setWaitingForSource(double count) {
  impl_->waiting_for_source.Set(count);
}

void MigrationMetrics::targetCleanupSkipped() {
  impl_->target_cleanup_skipped.Increment();
}

void MigrationMetrics::finished(const api::VMMigration& m) {
  const std::string result(m.status.phase ? api::toString(*m.status.phase)
                                          : std::string_view("Unknown"));
  impl_->results.Add({{"result", result}}).Increment();
  auto start = m.status.startTime ? m.status.startTime : m.metadata.creationTimestamp;
  if (start && m.status.completionTime && *m.status.completionTime >= *start) {
    impl_->duration.Add({{"result", result}}, durationBuckets())
        .Observe(static_cast<double>((*m.status.completionTime - *start).count()));
  }
  if (m.status.progress) {
    if (m.status.progress->dataProcessedBytes && *m.status.progress->dataProcessedBytes > 0) {
      impl_->bytes.Add({{"result", result}})
          .Increment(static_cast<double>(*m.status.progress->dataProcessedBytes));
    }
    if (m.status.phase == api::MigrationPhase::kSucceeded && m.status.progress->downtimeMs) {
      impl_->downtime.Observe(static_cast<double>(*m.status.progress->downtimeMs) / 1000.0);
    }
  }
}

}  // namespace novacron::controller::migration
