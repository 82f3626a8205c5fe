// The controller's figures for a migration plan (docs/migration.md, "Plans"), as pure functions of
// what the reconciler read: the target's free capacity after the move, the bytes of local disks
// to copy, the bandwidth a forecast assumes, and the guest's latest measured dirty rate (from the
// VM's most recent plan, for the forecast a real migration records when it starts).
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controller/scheduler/resources.h"
#include "lib/api/object_meta.h"
#include "lib/api/vm_migration.h"

namespace novacron::controller::migration {

// What a forecast assumes without spec.options.bandwidthMiBps and without a measurement between
// the two hosts: libvirt migrates unthrottled, so the link decides; 1 GiB/s is a 10 GbE-class
// link (tests/bench/README.md compares it with the two-host harness).
inline constexpr int64_t kAssumedBandwidthBytesPerSecond = int64_t{1} << 30;

// A plan (or recorded forecast) of a VM is used for a later real migration while it is younger
// than this.
inline constexpr std::chrono::minutes kDirtyRateMaxAge{30};

struct Bandwidth {
  int64_t bytes_per_second = kAssumedBandwidthBytesPerSecond;
  std::string source;  // for humans: where the figure comes from
};

// spec.options.bandwidthMiBps caps the migration: it wins. Otherwise a measured figure between
// the two hosts (bytes/s, when known), else kAssumedBandwidthBytesPerSecond.
Bandwidth bandwidthFor(const api::MigrationOptions& options,
                       std::optional<int64_t> measured_bytes_per_second);

// Local disks copied along: none with copyStorage Never, else the VM's counted disks (emptyDisk
// sizes; image overlays are sized on the node only, and Auto copies nothing on shared storage).
int64_t diskBytesToCopy(api::CopyStorage copy, int64_t counted_disk_bytes);

// The target's free resources once the VM is there: `schedulable` (effective capacity) minus
// `allocated` minus `request`. Storage only when the target reports disk space.
api::PlanCapacity capacityAfter(const scheduler::Resources& schedulable,
                                const scheduler::Resources& allocated,
                                std::optional<int64_t> storage_capacity_bytes,
                                const scheduler::Resources& request);

// The newest dirty rate measured for the VM `vm_key` (namespace/name) by a plan that ended
// Planned no longer than kDirtyRateMaxAge before `now`; nullopt when there is none.
std::optional<int64_t> latestDirtyRate(const std::vector<const api::VMMigration*>& migrations,
                                       const std::string& vm_key, api::Timestamp now);

}  // namespace novacron::controller::migration
