// Clock: the one place time comes from, so tests can control it (see tests/mocks/fake_clock.h).
//
// now() is monotonic (for timeouts, backoff, lease expiry measured locally); wallNow() is calendar
// time (for timestamps written into objects, e.g. lastTransitionTime).
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <chrono>
#include <memory>

namespace novacron::core {

class Clock {
public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  virtual WallTime wallNow() const = 0;
};

// Clocks are shared by many components (informers, queues, reconcilers) that must agree on time.
using ClockPtr = std::shared_ptr<const Clock>;

// The process-wide real clock.
ClockPtr systemClock();

}  // namespace novacron::core
