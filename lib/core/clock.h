// Clock: the one place time comes from — and the one way to wait for it — so tests can control
// both (tests/mocks/fake_clock.h; k8s.io/utils clock and Envoy's simulated time are the models).
//
// now() is monotonic (for timeouts, backoff, lease expiry measured locally); wallNow() is calendar
// time (for timestamps written into objects, e.g. lastTransitionTime).
//
// Waiting: every component that waits for time to pass (work queue delays, rate limiters, leader
// election, resync, heartbeats) waits through waitUntil() on its own condition variable, so that
//   - a notify on that condition variable (new work, stop) wakes it as usual, and
//   - the clock reaching `deadline` wakes it: real time for SystemClock; for a fake clock, the
//     test's advance() past the deadline (no real-time polling, no sleeps in unit tests).
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

namespace novacron::core {

class Clock {
public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;
  using Duration = std::chrono::nanoseconds;

  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  virtual WallTime wallNow() const = 0;

  // With `lock` held (it guards the state `done` reads), blocks until done() is true or now()
  // reaches `deadline`; `cv` is the condition variable whose notifications signal changes to that
  // state. Returns done() at the end (like condition_variable::wait_until with a predicate).
  // `done` runs with `lock` held; it must not wait on this clock itself.
  virtual bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable_any& cv,
                         TimePoint deadline, const std::function<bool()>& done) const = 0;

  // waitUntil(now() + timeout).
  bool waitFor(std::unique_lock<std::mutex>& lock, std::condition_variable_any& cv,
               Duration timeout, const std::function<bool()>& done) const {
    return waitUntil(lock, cv, now() + timeout, done);
  }
  // Blocks the calling thread for `d` of this clock's time.
  void sleepFor(Duration d) const;
};

// Clocks are shared by many components (informers, queues, reconcilers) that must agree on time.
using ClockPtr = std::shared_ptr<const Clock>;

// The process-wide real clock.
ClockPtr systemClock();

}  // namespace novacron::core
