// Rate limiters for the workqueue: how long an item must wait before it is retried.
//
// Modelled on client-go's workqueue rate limiters:
//   ItemExponentialRateLimiter  per-key exponential backoff: base * 2^failures, capped at max
//                               (client-go default 5 ms -> 1000 s); forget() resets a key.
//   BucketRateLimiter           one token bucket shared by all keys (default 10 qps, burst 100):
//                               bounds the overall retry rate however many keys fail at once.
//   MaxOfRateLimiter            the longest delay of several limiters (the default combines the
//                               two above, like client-go's DefaultControllerRateLimiter).
// Durations are measured on an injectable core::Clock so tests are deterministic.
// Thread-safety: all limiters here are safe to call from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/core/clock.h"
#include "lib/core/token_bucket.h"

namespace novacron::runtime {

class RateLimiter {
public:
  virtual ~RateLimiter() = default;
  // The delay before `key` may be processed again; counts one more failure for `key`.
  virtual std::chrono::nanoseconds when(const std::string& key) = 0;
  // Stops tracking `key` (call after it was processed successfully).
  virtual void forget(const std::string& key) = 0;
  // How many times when() was called for `key` since it was last forgotten.
  virtual int numRequeues(const std::string& key) const = 0;
};

using RateLimiterPtr = std::unique_ptr<RateLimiter>;

class ItemExponentialRateLimiter final : public RateLimiter {
public:
  ItemExponentialRateLimiter(std::chrono::nanoseconds base, std::chrono::nanoseconds max);

  std::chrono::nanoseconds when(const std::string& key) override;
  void forget(const std::string& key) override;
  int numRequeues(const std::string& key) const override;

private:
  const std::chrono::nanoseconds base_;
  const std::chrono::nanoseconds max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> failures_;  // guarded by mu_
};

// core::TokenBucket as a work-queue limiter: each when() reserves one token and returns how long
// until that token exists (0 while the bucket has tokens). Keys are not tracked.
class BucketRateLimiter final : public RateLimiter {
public:
  BucketRateLimiter(double qps, int burst, core::ClockPtr clock);

  std::chrono::nanoseconds when(const std::string& key) override;
  void forget(const std::string&) override {}
  int numRequeues(const std::string&) const override { return 0; }

private:
  core::TokenBucket bucket_;
};

class MaxOfRateLimiter final : public RateLimiter {
public:
  explicit MaxOfRateLimiter(std::vector<RateLimiterPtr> limiters);

  std::chrono::nanoseconds when(const std::string& key) override;
  void forget(const std::string& key) override;
  int numRequeues(const std::string& key) const override;

private:
  std::vector<RateLimiterPtr> limiters_;
};

// client-go's DefaultControllerRateLimiter: max(per-item 5 ms -> 1000 s, bucket 10 qps / 100).
RateLimiterPtr defaultControllerRateLimiter(core::ClockPtr clock);

}  // namespace novacron::runtime
