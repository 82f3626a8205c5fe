#include "lib/core/token_bucket.h"

#include <algorithm>
#include <cmath>

#include "lib/core/check.h"

namespace novacron::core {

TokenBucket::TokenBucket(double qps, int burst, core::ClockPtr clock)
    : qps_(qps), burst_(std::max(burst, 1)), clock_(std::move(clock)), tokens_(burst_) {
  NOVACRON_CHECK(clock_ != nullptr, "TokenBucket needs a clock");
  last_ = clock_->now();
}

void TokenBucket::refillLocked(core::Clock::TimePoint now) {
  if (now <= last_) {
    return;
  }
  double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min<double>(burst_, tokens_ + elapsed * qps_);
  last_ = now;
}

std::chrono::nanoseconds TokenBucket::reserve() {
  if (qps_ <= 0) {
    return std::chrono::nanoseconds(0);
  }
  std::lock_guard lock(mu_);
  refillLocked(clock_->now());
  tokens_ -= 1.0;
  if (tokens_ >= 0) {
    return std::chrono::nanoseconds(0);
  }
  // The deficit is paid back at qps tokens per second.
  return std::chrono::nanoseconds(static_cast<int64_t>(std::ceil(-tokens_ / qps_ * 1e9)));
}

bool TokenBucket::tryAccept() {
  if (qps_ <= 0) {
    return true;
  }
  std::lock_guard lock(mu_);
  refillLocked(clock_->now());
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return true;
  }
  return false;
}

void TokenBucket::accept() {
  auto delay = reserve();
  if (delay > std::chrono::nanoseconds(0)) {
    clock_->sleepFor(delay);
  }
}

bool TokenBucket::full() {
  if (qps_ <= 0) {
    return true;
  }
  std::lock_guard lock(mu_);
  refillLocked(clock_->now());
  return tokens_ >= burst_;
}

}  // namespace novacron::core
