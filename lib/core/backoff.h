// ExponentialBackoff: delays that grow by a multiplier up to a cap, with random jitter so that many
// clients failing together do not retry together.
//
// delay(n) = min(max, initial * multiplier^n) * (1 + jitter * u), u uniform in [0, 1), capped at
// max. The random source is injectable so tests are deterministic. Thread-safety: not thread-safe;
// one instance per retry loop.
#pragma once

#include <chrono>
#include <functional>

namespace novacron::core {

struct BackoffPolicy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{std::chrono::seconds(30)};
  double multiplier = 2.0;
  double jitter = 0.2;  // fraction of the delay added at random; 0 disables jitter
};

class ExponentialBackoff {
public:
  using Uniform01 = std::function<double()>;

  // `uniform01` returns values in [0, 1); defaults to a per-instance Mersenne Twister seeded
  // randomly.
  explicit ExponentialBackoff(BackoffPolicy policy = {}, Uniform01 uniform01 = {});

  // The delay to wait before the next attempt; advances the attempt counter.
  std::chrono::milliseconds next();
  // Call after a success: the next failure starts again from `initial`.
  void reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }
  const BackoffPolicy& policy() const { return policy_; }

private:
  BackoffPolicy policy_;
  Uniform01 uniform01_;
  int attempts_ = 0;
};

}  // namespace novacron::core
