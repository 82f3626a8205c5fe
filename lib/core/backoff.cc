#include "lib/core/backoff.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "lib/core/check.h"

namespace novacron::core {

ExponentialBackoff::ExponentialBackoff(BackoffPolicy policy, Uniform01 uniform01)
    : policy_(policy), uniform01_(std::move(uniform01)) {
  NOVACRON_CHECK(policy_.initial.count() > 0, "backoff initial delay must be positive");
  NOVACRON_CHECK(policy_.max >= policy_.initial, "backoff max must be >= initial");
  NOVACRON_CHECK(policy_.multiplier >= 1.0, "backoff multiplier must be >= 1");
  NOVACRON_CHECK(policy_.jitter >= 0.0, "backoff jitter must be >= 0");
  if (!uniform01_) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    uniform01_ = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
  }
}

std::chrono::milliseconds ExponentialBackoff::next() {
  const double max_ms = static_cast<double>(policy_.max.count());
  // Saturate the exponent so a long outage cannot overflow the double.
  const double exponent = std::min(attempts_, 1000);
  double base =
      static_cast<double>(policy_.initial.count()) * std::pow(policy_.multiplier, exponent);
  base = std::min(base, max_ms);
  double u = std::clamp(uniform01_(), 0.0, 1.0);
  double delay = std::min(base * (1.0 + policy_.jitter * u), max_ms);
  ++attempts_;
  return std::chrono::milliseconds(static_cast<int64_t>(delay));
}

}  // namespace novacron::core
