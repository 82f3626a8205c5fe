#include "lib/core/clock_impl.h"

namespace novacron::core {

ClockPtr systemClock() {
  static const ClockPtr clock = std::make_shared<SystemClock>();
  return clock;
}

}  // namespace novacron::core
