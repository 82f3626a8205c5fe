#include "controller/migration/forecast.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace novacron::controller::migration {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;
constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kThrottleInitial = 0.2;
constexpr double kThrottleIncrement = 0.1;
constexpr double kThrottleMax = 0.99;
// QEMU throttles once a pass re-dirties more than this share of what it sent.
constexpr double kThrottleTrigger = 0.5;

// Bytes on the wire for `bytes` of memory in pass `pass` (1-based).
double onWire(double bytes, int64_t pass, api::MigrationCompression compression) {
  switch (compression) {
  case api::MigrationCompression::kZstd:
    return bytes / kZstdRatio;
  case api::MigrationCompression::kXbzrle:
    return pass > 1 ? bytes / kXbzrleRatio : bytes;
  case api::MigrationCompression::kNone:
    break;
  }
  return bytes;
}

int64_t timeoutSeconds(const ForecastInput& in) {
  const int64_t gib = std::max<int64_t>(1, (in.memory_bytes + kGiB - 1) / kGiB);
  return in.completion_timeout_per_gib_seconds * gib;
}

std::string format(const char* fmt, double a, double b = 0, double c = 0) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), fmt, a, b, c);
  return buf;
}

std::string seconds(double ms) {
  return ms < 10000 ? format("%.1f s", ms / 1000) : format("%.0f s", ms / 1000);
}

}  // namespace

api::MigrationForecast forecastMigration(const ForecastInput& in, const ForecastCosts& costs) {
  api::MigrationForecast f;
  f.compression = in.compression;
  f.dirtyRateBytesPerSecond = std::max<int64_t>(0, in.dirty_rate_bytes_per_second);
  f.bandwidthBytesPerSecond = std::max<int64_t>(1, in.bandwidth_bytes_per_second);
  const double bandwidth = static_cast<double>(f.bandwidthBytesPerSecond);
  const double memory = static_cast<double>(std::max<int64_t>(0, in.memory_bytes));
  const double rate = static_cast<double>(f.dirtyRateBytesPerSecond);
  const double threshold = bandwidth * static_cast<double>(in.max_downtime_ms) / 1000.0;
  const double limit_ms = static_cast<double>(timeoutSeconds(in)) * 1000.0;

  double elapsed_ms = static_cast<double>(costs.setup_ms);
  double sent = static_cast<double>(std::max<int64_t>(0, in.disk_bytes));
  elapsed_ms += sent / bandwidth * 1000.0;
  double remaining = memory;
  double previous = INFINITY;
  double throttle = 0;
  int hot_passes = 0;
  int64_t passes = 0;
  bool switched = false;

  for (;;) {
    const double wire = onWire(remaining, passes + 1, in.compression);
    if (wire <= threshold) {
      // Stop and copy: the rest fits in maxDowntime.
      const double pause_ms = wire / bandwidth * 1000.0 + static_cast<double>(costs.switchover_ms);
      sent += wire;
      elapsed_ms += pause_ms;
      f.downtimeMs = std::llround(pause_ms);
      switched = true;
      break;
    }
    const bool stalled = passes > 0 && remaining >= previous;
    const bool post_copy_now =
        in.post_copy && passes > 0 &&
        (in.post_copy_after_iterations ? passes >= *in.post_copy_after_iterations : stalled);
    if (post_copy_now) {
      // The guest runs on the target after a short pause; the rest is sent once.
      sent += wire;
      elapsed_ms += static_cast<double>(costs.switchover_ms) + wire / bandwidth * 1000.0;
      f.downtimeMs = costs.switchover_ms;
      f.strategy = api::MigrationStrategy::kPostCopy;
      switched = true;
      break;
    }
    if ((stalled && (!in.auto_converge || throttle >= kThrottleMax)) ||
        passes >= costs.max_passes || elapsed_ms > limit_ms) {
      break;  // pre-copy cannot catch up
    }
    // One more pass.
    const double pass_ms = wire / bandwidth * 1000.0;
    elapsed_ms += pass_ms;
    sent += wire;
    ++passes;
    const double dirtied = std::min(memory, rate * (1.0 - throttle) * pass_ms / 1000.0);
    if (in.auto_converge) {
      hot_passes = dirtied > kThrottleTrigger * remaining ? hot_passes + 1 : 0;
      if (throttle > 0) {
        throttle = std::min(kThrottleMax, throttle + kThrottleIncrement);
      } else if (hot_passes >= 2) {
        throttle = kThrottleInitial;
      }
      if (throttle > 0) {
        f.strategy = api::MigrationStrategy::kAutoConverge;
      }
    }
    previous = remaining;
    remaining = dirtied;
  }

  f.iterations = passes;
  f.bytesToSend = std::llround(sent);
  f.converges = switched && elapsed_ms <= limit_ms;
  const std::string timeout = std::to_string(timeoutSeconds(in)) + " s";
  if (f.converges) {
    f.totalMs = std::llround(elapsed_ms);
    f.verdict = "will converge within the " + timeout + " timeout: ~" + seconds(elapsed_ms) +
                " total, ~" + std::to_string(f.downtimeMs) + " ms downtime, " +
                std::to_string(passes) + " pre-copy pass" + (passes == 1 ? "" : "es") + " (" +
                std::string(api::toString(f.strategy)) + ")";
  } else {
    // It fails at the completion timeout at the latest.
    f.totalMs = std::llround(limit_ms);
    f.downtimeMs = 0;
    f.verdict = "will not converge within the " + timeout + " timeout: the guest dirties " +
                format("%.0f MiB/s", rate / kMiB) + ", the migration sends " +
                format("%.0f MiB/s", bandwidth / kMiB) +
                (switched ? " (the switch-over comes too late)" : "");
  }
  return f;
}

ForecastInput forecastInputFor(const api::MigrationOptions& options, int64_t memory_bytes,
                               int64_t disk_bytes, int64_t dirty_rate_bytes_per_second,
                               int64_t bandwidth_bytes_per_second) {
  ForecastInput in;
  in.memory_bytes = memory_bytes;
  in.disk_bytes = disk_bytes;
  in.dirty_rate_bytes_per_second = dirty_rate_bytes_per_second;
  in.bandwidth_bytes_per_second = bandwidth_bytes_per_second;
  in.max_downtime_ms = options.maxDowntimeMs;
  in.auto_converge = options.autoConverge;
  in.post_copy = options.postCopy && options.postCopy->enabled;
  if (in.post_copy) {
    in.post_copy_after_iterations = options.postCopy->afterIterations;
  }
  in.compression = options.compression;
  in.completion_timeout_per_gib_seconds = options.completionTimeoutPerGiBSeconds;
  return in;
}

std::string forecastAdvice(const ForecastInput& input, const api::MigrationForecast& forecast,
                           const ForecastCosts& costs) {
  if (forecast.converges) {
    return {};
  }
  if (!input.auto_converge) {
    ForecastInput with = input;
    with.auto_converge = true;
    if (auto f = forecastMigration(with, costs); f.converges) {
      return "with options.autoConverge it would converge in ~" +
             seconds(static_cast<double>(f.totalMs));
    }
  }
  if (!input.post_copy) {
    ForecastInput with = input;
    with.post_copy = true;
    with.post_copy_after_iterations.reset();
    if (auto f = forecastMigration(with, costs); f.converges) {
      return "with options.postCopy it would converge in ~" +
             seconds(static_cast<double>(f.totalMs));
    }
  }
  return {};
}

}  // namespace novacron::controller::migration
