// TokenBucket: the one QPS/burst limiter (client-go's flowcontrol token bucket). Used by the REST
// client's request limit, the work queue's overall retry limit and the event recorder's per-object
// spam filter.
//
// The bucket holds up to `burst` tokens and refills at `qps` tokens per second. reserve() takes a
// token now and returns how long the caller must wait before using it (zero when one was in the
// bucket); waiting callers queue up in order because the bucket may go negative. Time comes from
// an injected core::Clock so tests control it; accept() waits on that clock.
// qps <= 0 disables limiting.
// Thread-safety: safe from any thread.
#pragma once

#include <chrono>
#include <mutex>

#include "lib/core/clock.h"

namespace novacron::core {

class TokenBucket {
public:
  TokenBucket(double qps, int burst, core::ClockPtr clock);

  // Takes a token; returns the delay before it may be used.
  std::chrono::nanoseconds reserve();
  // Takes a token if one is available now; never waits.
  bool tryAccept();
  // reserve() and wait (on the clock) for the returned delay.
  void accept();
  // True when the bucket is full now (it behaves exactly like a new one).
  bool full();

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

}  // namespace novacron::core
