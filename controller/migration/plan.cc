#include "controller/migration/plan.h"

#include <algorithm>

namespace novacron::controller::migration {

Bandwidth bandwidthFor(const api::MigrationOptions& options,
                       std::optional<int64_t> measured_bytes_per_second) {
  constexpr int64_t kMiB = int64_t{1} << 20;
  if (options.bandwidthMiBps && *options.bandwidthMiBps > 0) {
    const int64_t cap = *options.bandwidthMiBps * kMiB;
    if (measured_bytes_per_second && *measured_bytes_per_second > 0 &&
        *measured_bytes_per_second < cap) {
      return Bandwidth{*measured_bytes_per_second,
                       "measured between the hosts (below spec.options.bandwidthMiBps)"};
    }
    return Bandwidth{cap, "spec.options.bandwidthMiBps"};
  }
  if (measured_bytes_per_second && *measured_bytes_per_second > 0) {
    return Bandwidth{*measured_bytes_per_second, "measured between the hosts"};
  }
  return Bandwidth{kAssumedBandwidthBytesPerSecond,
                   "assumed (no spec.options.bandwidthMiBps, no measurement between the hosts)"};
}

int64_t diskBytesToCopy(api::CopyStorage copy, int64_t counted_disk_bytes) {
  return copy == api::CopyStorage::kNever ? 0 : std::max<int64_t>(0, counted_disk_bytes);
}

api::PlanCapacity capacityAfter(const scheduler::Resources& schedulable,
                                const scheduler::Resources& allocated,
                                std::optional<int64_t> storage_capacity_bytes,
                                const scheduler::Resources& request) {
  api::PlanCapacity c;
  c.cpus = schedulable.cpus - allocated.cpus - request.cpus;
  c.memoryBytes = schedulable.memory_bytes - allocated.memory_bytes - request.memory_bytes;
  if (storage_capacity_bytes) {
    c.storageBytes = *storage_capacity_bytes - allocated.storage_bytes - request.storage_bytes;
  }
  return c;
}

std::optional<int64_t> latestDirtyRate(const std::vector<const api::VMMigration*>& migrations,
                                       const std::string& vm_key, api::Timestamp now) {
  std::optional<api::Timestamp> newest;
  std::optional<int64_t> rate;
  for (const api::VMMigration* m : migrations) {
    if (!m->spec.dryRun || m->status.phase != api::MigrationPhase::kPlanned ||
        m->metadata.namespace_ + "/" + m->spec.vmName != vm_key || !m->status.plan ||
        !m->status.plan->dirtyRateBytesPerSecond || !m->status.plan->dirtyRateMeasuredTime) {
      continue;
    }
    const api::Timestamp at = *m->status.plan->dirtyRateMeasuredTime;
    if (now - at > kDirtyRateMaxAge || (newest && at <= *newest)) {
      continue;
    }
    newest = at;
    rate = m->status.plan->dirtyRateBytesPerSecond;
  }
  return rate;
}

}  // namespace novacron::controller::migration
