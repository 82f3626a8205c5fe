// SystemClock: Clock backed by std::chrono::steady_clock and system_clock; waits are real
// condition-variable waits with a steady_clock deadline.
// Thread-safety: stateless, safe from any thread.
#pragma once

#include "lib/core/clock.h"

namespace novacron::core {

class SystemClock final : public Clock {
public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  WallTime wallNow() const override { return std::chrono::system_clock::now(); }
  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable_any& cv,
                 TimePoint deadline, const std::function<bool()>& done) const override {
    return cv.wait_until(lock, deadline, done);
  }
};

}  // namespace novacron::core
