// forecastMigration(): how long a live migration will take, how long the guest pauses, and whether
// it converges at all, from four figures: guest memory, local disks to copy, the guest's dirty
// rate (measured by the source node-daemon, QEMU calc-dirty-rate) and the bandwidth. Used for the
// plan of a dry run (status.plan.forecast) and recorded when a real migration starts
// (status.forecast), so the forecast's error against the measured result is visible.
//
// The model is QEMU's pre-copy, pass by pass (docs/migration.md, "Plans"):
//   - local disks are copied first (drive-mirror before RAM), at the bandwidth;
//   - pass 1 sends all guest memory; every later pass sends what the guest dirtied during the
//     previous pass (dirty rate × pass time, at most the whole memory);
//   - before each later pass: when the remaining data fits in maxDowntime at the bandwidth
//     (remaining / bandwidth ≤ maxDowntimeMs, QEMU's threshold), the guest is paused and the
//     rest is sent: that is the downtime, plus a fixed switch-over cost;
//   - autoConverge: once a pass re-dirties more than half of what it sent, QEMU throttles the
//     vCPUs, 20 % at first and 10 % more each pass (at most 99 %), which scales the dirty rate;
//   - postCopy: after `afterIterations` passes, or when a pass no longer shrinks the remaining
//     data, the guest switches to the target (a short pause) and the rest is sent once;
//   - compression: XBZRLE halves the bytes of re-sent passes, Zstd the bytes of every pass
//     (assumed ratios, kXbzrleRatio / kZstdRatio: the real ones depend on the guest's memory);
//   - it converges when the switch-over is reached within completionTimeoutPerGiBSeconds × the
//     guest's memory in GiB (rounded up, as the node-daemon enforces it).
// Zero pages (which QEMU sends as a flag) are not known here, so an idle guest's transfer is
// over-estimated: the benchmark (tests/bench/migration/forecast_bench.sh) shows by how much.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "lib/api/names.h"
#include "lib/api/vm_migration.h"

namespace novacron::controller::migration {

struct ForecastInput {
  int64_t memory_bytes = 0;
  int64_t disk_bytes = 0;  // local disks copied along
  int64_t dirty_rate_bytes_per_second = 0;
  int64_t bandwidth_bytes_per_second = 0;  // must be > 0
  int64_t max_downtime_ms = api::kDefaultMaxDowntimeMs;
  bool auto_converge = false;
  bool post_copy = false;
  std::optional<int32_t> post_copy_after_iterations;
  api::MigrationCompression compression = api::MigrationCompression::kNone;
  int64_t completion_timeout_per_gib_seconds = api::kDefaultCompletionTimeoutPerGiBSeconds;
};

// Fixed costs, calibrated on the two-host QEMU harness (tests/bench/README.md).
struct ForecastCosts {
  int64_t setup_ms = 100;      // connecting the libvirtds, starting the incoming QEMU
  int64_t switchover_ms = 30;  // device state and the last handshake, on top of the data
  int64_t max_passes = 1000;   // a model that has not converged by then never will
};

inline constexpr double kXbzrleRatio = 2.0;
inline constexpr double kZstdRatio = 2.0;

api::MigrationForecast forecastMigration(const ForecastInput& input,
                                         const ForecastCosts& costs = {});

// The model's input for a migration with `options` of a guest with `memory_bytes`.
ForecastInput forecastInputFor(const api::MigrationOptions& options, int64_t memory_bytes,
                               int64_t disk_bytes, int64_t dirty_rate_bytes_per_second,
                               int64_t bandwidth_bytes_per_second);

// When `forecast` does not converge: the first of autoConverge, postCopy that would make it
// converge with `input`, as advice ("with options.autoConverge: converges in ~12 s"); empty
// otherwise.
std::string forecastAdvice(const ForecastInput& input, const api::MigrationForecast& forecast,
                           const ForecastCosts& costs = {});

}  // namespace novacron::controller::migration
