// TokenBucket: client-side QPS/burst limit (client-go's flowcontrol.NewTokenBucketRateLimiter).
//
// The bucket holds up to `burst` tokens and refills at `qps` tokens per second. reserve() takes a
// token now and returns how long the caller must wait before using it (zero when one was in the
// bucket); waiting callers queue up in order because the bucket may go negative. Time comes from
// an injected core::Clock so tests control it; accept() does the waiting with a real sleep.
// qps <= 0 disables limiting.
// Thread-safety: safe from any thread.
#pragma once

#include <chrono>
#include <mutex>

#include "lib/core/clock.h"

namespace novacron::kube {

class TokenBucket {
public:
  TokenBucket(double qps, int burst, core::ClockPtr clock);

  // Takes a token; returns the delay before it may be used.
  std::chrono::nanoseconds reserve();
  // Takes a token if one is available now; never waits.
  bool tryAccept();
  // reserve() and sleep for the returned delay.
  void accept();

  double qps() const { return qps_; }
  int burst() const { return burst_; }

private:
  void refillLocked(core::Clock::TimePoint now);

  const double qps_;
  const int burst_;
  const core::ClockPtr clock_;
  std::mutex mu_;
  double tokens_;                // guarded by mu_; negative = reserved ahead
  core::Clock::TimePoint last_;  // guarded by mu_
};

}  // namespace novacron::kube
