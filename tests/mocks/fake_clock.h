// FakeClock: a Clock that moves only when a test tells it to.
// Thread-safety: safe from any thread (time is guarded by a mutex).
#pragma once

#include <mutex>

#include "lib/core/clock.h"

namespace novacron::testing {

class FakeClock final : public core::Clock {
public:
  FakeClock()
      : now_(TimePoint(std::chrono::hours(1000))),
        wall_(WallTime(std::chrono::seconds(1'800'000'000))) {}

  TimePoint now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  WallTime wallNow() const override {
    std::lock_guard lock(mu_);
    return wall_;
  }
  void advance(std::chrono::nanoseconds d) {
    std::lock_guard lock(mu_);
    now_ += d;
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  }

private:
  mutable std::mutex mu_;
  TimePoint now_;  // guarded by mu_
  WallTime wall_;  // guarded by mu_
};

}  // namespace novacron::testing
