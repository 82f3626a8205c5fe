#include "node-daemon/migration/progress.h"

#include <algorithm>

namespace novacron::node::migration {

ProgressLimits limitsFor(const api::MigrationOptions& options, int64_t memory_bytes) {
  constexpr int64_t kGiB = int64_t{1} << 30;
  const int64_t gib = std::max<int64_t>(1, (memory_bytes + kGiB - 1) / kGiB);
  ProgressLimits l;
  l.progress_timeout = std::chrono::seconds(options.progressTimeoutSeconds);
  l.completion_timeout = std::chrono::seconds(options.completionTimeoutPerGiBSeconds * gib);
  return l;
}

ProgressTracker::ProgressTracker(ProgressLimits limits, TimePoint started)
    : limits_(limits), started_(started), lowest_at_(started) {}

Verdict ProgressTracker::observe(const virt::JobStats& stats, TimePoint now) {
  if (stats.data_total == 0 && stats.data_processed == 0 && stats.data_remaining == 0) {
    // The job has not sized its transfer yet: no data point (its 0 "remaining" is not progress).
    return now - started_ >= limits_.completion_timeout ? Verdict::kCompletionTimeout
                                                        : Verdict::kContinue;
  }
  const uint64_t processed = stats.data_processed;
  const uint64_t remaining = stats.data_remaining;
  const uint64_t total = stats.data_total > 0 ? stats.data_total : processed + remaining;
  progress_.dataTotalBytes = static_cast<int64_t>(total);
  progress_.dataProcessedBytes = static_cast<int64_t>(processed);
  progress_.dataRemainingBytes = static_cast<int64_t>(remaining);
  if (processed + remaining > 0) {
    const auto pct =
        static_cast<int32_t>(std::min<uint64_t>(100, processed * 100 / (processed + remaining)));
    progress_.percent = std::max(progress_.percent, pct);  // never backwards
  }
  if (stats.memory_dirty_rate > 0) {
    const uint64_t page = stats.memory_page_size > 0 ? stats.memory_page_size : 4096;
    progress_.dirtyRateBytesPerSecond = static_cast<int64_t>(stats.memory_dirty_rate * page);
  }
  if (stats.memory_iteration > 0) {
    progress_.iteration = static_cast<int64_t>(stats.memory_iteration);
  }
  // Throughput: libvirt's own estimate when it has one, else the change between samples.
  double bytes_per_second = static_cast<double>(stats.memory_bps);
  if (bytes_per_second <= 0 && last_sample_ && now > last_sample_->first &&
      processed > last_sample_->second) {
    bytes_per_second = static_cast<double>(processed - last_sample_->second) /
                       std::chrono::duration<double>(now - last_sample_->first).count();
  }
  if (bytes_per_second > 0) {
    progress_.etaSeconds = static_cast<int64_t>(static_cast<double>(remaining) / bytes_per_second);
  }
  last_sample_ = {now, processed};

  // Progress means the remaining data reached a new low (a pass that re-sends pages does not).
  if (!lowest_remaining_ || remaining < *lowest_remaining_) {
    lowest_remaining_ = remaining;
    lowest_at_ = now;
  }
  if (now - started_ >= limits_.completion_timeout) {
    return Verdict::kCompletionTimeout;
  }
  if (now - lowest_at_ >= limits_.progress_timeout) {
    return Verdict::kNoProgress;
  }
  return Verdict::kContinue;
}

std::string ProgressTracker::explain(Verdict verdict) const {
  switch (verdict) {
  case Verdict::kNoProgress:
    return "the remaining data (" + std::to_string(lowest_remaining_.value_or(0)) +
           " bytes at its lowest) has not shrunk for " +
           std::to_string(limits_.progress_timeout.count()) +
           " s: the guest dirties memory faster than it can be sent (progressTimeoutSeconds)";
  case Verdict::kCompletionTimeout:
    return "the migration ran longer than " + std::to_string(limits_.completion_timeout.count()) +
           " s (completionTimeoutPerGiBSeconds)";
  case Verdict::kContinue:
    return "in progress";
  }
  return "unknown";
}

}  // namespace novacron::node::migration
