// SystemClock: Clock backed by std::chrono::steady_clock and system_clock.
// Thread-safety: stateless, safe from any thread.
#pragma once

#include "lib/core/clock.h"

namespace novacron::core {

class SystemClock final : public Clock {
public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  WallTime wallNow() const override { return std::chrono::system_clock::now(); }
};

}  // namespace novacron::core
