// FakeClock: a Clock that moves only when a test tells it to. advance() wakes every waitUntil()
// whose deadline it reaches, so components that wait for time (work queue delays, rate limiters,
// leader election, resync, heartbeats) run in tests without real sleeps.
//
// Typical use (no sleeps, nothing can pass vacuously):
//   clock->awaitWaiters(1);           // the component is now blocked on the clock
//   clock->advance(30s);              // ... and this releases it
//
// How a wake-up cannot be lost: a waiter checks its predicate and deadline while holding both its
// own lock and waiters_mu_, and condition_variable_any::wait() releases both atomically; advance()
// moves time and notifies while holding waiters_mu_. Lock order: waiter's lock -> waiters_mu_ ->
// mu_.
// Thread-safety: safe from any thread. advance() must not be called from inside a waiter's
// predicate.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

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

  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable_any& cv,
                 TimePoint deadline, const std::function<bool()>& done) const override {
    BothLocks both{lock, waiters_mu_};
    waiters_mu_.lock();  // with the caller's lock, `both` is now held
    waiters_.push_back(Waiter{&cv, deadline});
    waiters_cv_.notify_all();
    bool result = done();
    while (!result && now() < deadline) {
      cv.wait(both);
      result = done();
    }
    auto it = std::find_if(waiters_.begin(), waiters_.end(),
                           [&](const Waiter& w) { return w.cv == &cv && w.deadline == deadline; });
    if (it != waiters_.end()) {
      waiters_.erase(it);
    }
    waiters_mu_.unlock();
    return result;
  }

  // Moves both clocks forward and wakes every waiter (each re-checks its own deadline).
  void advance(std::chrono::nanoseconds d) {
    std::lock_guard registry(waiters_mu_);
    {
      std::lock_guard lock(mu_);
      now_ += d;
      wall_ += std::chrono::duration_cast<WallTime::duration>(d);
    }
    for (const auto& w : waiters_) {
      w.cv->notify_all();
    }
  }

  // Number of threads currently blocked in waitUntil().
  size_t waiters() const {
    std::lock_guard registry(waiters_mu_);
    return waiters_.size();
  }
  // Blocks until at least `n` threads wait on this clock, or `real_timeout` of real time passed
  // (a test's safety net, not a timing assumption). Returns whether they do.
  bool awaitWaiters(size_t n, std::chrono::milliseconds real_timeout = std::chrono::seconds(30)) {
    std::unique_lock registry(waiters_mu_);
    return waiters_cv_.wait_for(registry, real_timeout, [&] { return waiters_.size() >= n; });
  }
  // Number of waiters whose deadline is at most `d` after now().
  size_t waitersDueWithin(std::chrono::nanoseconds d) const {
    std::lock_guard registry(waiters_mu_);
    const TimePoint limit = now() + d;
    return static_cast<size_t>(std::count_if(waiters_.begin(), waiters_.end(),
                                             [&](const Waiter& w) { return w.deadline <= limit; }));
  }
  // The earliest deadline any waiter has, or nullopt when nobody waits.
  std::optional<TimePoint> nextDeadline() const {
    std::lock_guard registry(waiters_mu_);
    std::optional<TimePoint> next;
    for (const auto& w : waiters_) {
      if (!next || w.deadline < *next) {
        next = w.deadline;
      }
    }
    return next;
  }

private:
  struct Waiter {
    std::condition_variable_any* cv;
    TimePoint deadline;
  };
  // The caller's lock and waiters_mu_ as one Lockable, so cv.wait() releases both atomically.
  struct BothLocks {
    std::unique_lock<std::mutex>& outer;
    std::mutex& inner;
    void lock() {
      outer.lock();
      inner.lock();
    }
    void unlock() {
      inner.unlock();
      outer.unlock();
    }
  };

  mutable std::mutex mu_;
  TimePoint now_;  // guarded by mu_
  WallTime wall_;  // guarded by mu_

  mutable std::mutex waiters_mu_;
  mutable std::condition_variable waiters_cv_;  // signals a new waiter
  mutable std::vector<Waiter> waiters_;         // guarded by waiters_mu_
};

}  // namespace novacron::testing
