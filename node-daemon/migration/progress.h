// ProgressTracker: turns the libvirt job statistics of a running migration into what the user
// sees in VMMigration status.progress, and decides when the migration must be aborted for lack of
// progress or for taking too long. Pure: the caller passes the time of each sample.
//
//   percent     processed / (processed + remaining), never going backwards (a new pre-copy pass
//               re-sends dirty pages, so remaining can grow again);
//   eta         remaining / throughput, throughput from consecutive samples;
//   stall       the remaining data has not gone below its lowest value for progressTimeoutSeconds;
//   timeout     the job has run longer than completionTimeoutPerGiBSeconds × guest memory (GiB,
//               rounded up).
// Thread-safety: not thread-safe; one tracker per migration, used by one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "lib/api/vm_migration.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node::migration {

enum class Verdict { kContinue, kNoProgress, kCompletionTimeout };

struct ProgressLimits {
  std::chrono::seconds progress_timeout{api::kDefaultProgressTimeoutSeconds};
  std::chrono::seconds completion_timeout{api::kDefaultCompletionTimeoutPerGiBSeconds};
};

// The limits of `options` for a guest with `memory_bytes` of RAM.
ProgressLimits limitsFor(const api::MigrationOptions& options, int64_t memory_bytes);

class ProgressTracker {
public:
  using TimePoint = std::chrono::steady_clock::time_point;

  ProgressTracker(ProgressLimits limits, TimePoint started);

  // Folds one sample in; returns whether to go on or abort (and why).
  Verdict observe(const virt::JobStats& stats, TimePoint now);

  const api::MigrationProgress& progress() const { return progress_; }
  // Human-readable reason for an abort verdict, for failureReason and Events.
  std::string explain(Verdict verdict) const;

private:
  ProgressLimits limits_;
  TimePoint started_;
  api::MigrationProgress progress_;
  std::optional<uint64_t> lowest_remaining_;
  TimePoint lowest_at_;
  std::optional<std::pair<TimePoint, uint64_t>> last_sample_;  // time, processed bytes
};

}  // namespace novacron::node::migration
