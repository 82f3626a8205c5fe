#include "lib/runtime/rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "lib/core/check.h"

namespace novacron::runtime {

ItemExponentialRateLimiter::ItemExponentialRateLimiter(std::chrono::nanoseconds base,
                                                       std::chrono::nanoseconds max)
    : base_(base), max_(max) {
  NOVACRON_CHECK(base.count() > 0 && max >= base, "exponential rate limiter needs 0 < base <= max");
}

std::chrono::nanoseconds ItemExponentialRateLimiter::when(const std::string& key) {
  int exponent = 0;
  {
    std::lock_guard lock(mu_);
    exponent = failures_[key]++;
  }
  // Compute in double and saturate so a key failing for days cannot overflow.
  const double delay = static_cast<double>(base_.count()) * std::pow(2.0, std::min(exponent, 80));
  if (delay >= static_cast<double>(max_.count())) {
    return max_;
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(delay));
}

void ItemExponentialRateLimiter::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int ItemExponentialRateLimiter::numRequeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

BucketRateLimiter::BucketRateLimiter(double qps, int burst, core::ClockPtr clock)
    : bucket_(qps, burst, std::move(clock)) {
  NOVACRON_CHECK(qps > 0 && burst > 0, "bucket rate limiter needs qps > 0 and burst > 0");
}

std::chrono::nanoseconds BucketRateLimiter::when(const std::string&) {
  return bucket_.reserve();
}

MaxOfRateLimiter::MaxOfRateLimiter(std::vector<RateLimiterPtr> limiters)
    : limiters_(std::move(limiters)) {
  NOVACRON_CHECK(!limiters_.empty(), "MaxOfRateLimiter needs at least one limiter");
}

std::chrono::nanoseconds MaxOfRateLimiter::when(const std::string& key) {
  std::chrono::nanoseconds longest{0};
  for (auto& limiter : limiters_) {
    longest = std::max(longest, limiter->when(key));
  }
  return longest;
}

void MaxOfRateLimiter::forget(const std::string& key) {
  for (auto& limiter : limiters_) {
    limiter->forget(key);
  }
}

int MaxOfRateLimiter::numRequeues(const std::string& key) const {
  int most = 0;
  for (const auto& limiter : limiters_) {
    most = std::max(most, limiter->numRequeues(key));
  }
  return most;
}

RateLimiterPtr defaultControllerRateLimiter(core::ClockPtr clock) {
  std::vector<RateLimiterPtr> limiters;
  limiters.push_back(std::make_unique<ItemExponentialRateLimiter>(std::chrono::milliseconds(5),
                                                                  std::chrono::seconds(1000)));
  limiters.push_back(std::make_unique<BucketRateLimiter>(10.0, 100, std::move(clock)));
  return std::make_unique<MaxOfRateLimiter>(std::move(limiters));
}

}  // namespace novacron::runtime
