#include "lib/core/clock_impl.h"

namespace novacron::core {

void Clock::sleepFor(Duration d) const {
  std::mutex mu;
  std::condition_variable_any cv;  // never notified: only the clock ends this wait
  std::unique_lock lock(mu);
  waitFor(lock, cv, d, [] { return false; });
}

ClockPtr systemClock() {
  static const ClockPtr clock = std::make_shared<SystemClock>();
  return clock;
}

}  // namespace novacron::core
