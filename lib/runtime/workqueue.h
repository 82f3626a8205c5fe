// WorkQueue: the rate-limited, de-duplicating queue of object keys ("namespace/name") that sits
// between event handlers and reconcilers, with client-go's workqueue semantics:
//   - de-duplication: a key added many times before a worker picks it up is handed out once;
//   - a key is never handed to two workers at once: a key re-added while it is being processed is
//     queued again only after done(key);
//   - addAfter(key, d): the key becomes ready after d (the earliest pending time wins);
//   - addRateLimited(key): addAfter(key, rateLimiter.when(key)); forget(key) resets its backoff.
//     The default limiter is max(per-key 5 ms -> 1000 s exponential, 10 qps / 100 burst bucket);
//   - shutDown(): no new adds are accepted; get() keeps handing out what is queued and returns
//     nullopt once the queue is empty. shutDownWithDrain() additionally waits until every handed-
//     out key is done().
//
// Typical worker loop:
//   while (auto key = queue.get()) {
//     Status s = reconcile(*key);
//     if (s.isOk()) queue.forget(*key); else queue.addRateLimited(*key);
//     queue.done(*key);
//   }
//
// Metrics (when options.name is set), as in controller-runtime, labelled {name}:
//   workqueue_depth, workqueue_adds_total, workqueue_queue_duration_seconds,
//   workqueue_work_duration_seconds, workqueue_retries_total, workqueue_unfinished_work_seconds,
//   workqueue_longest_running_processor_seconds (the last two refreshed on every get()/done()).
//
// Time: measured and waited for on options.clock. Delayed keys are released by whichever thread
// next touches the queue; a blocked get() waits on the clock until the earliest delayed key is due
// (or a new key arrives), so a test's FakeClock::advance() releases delayed keys at once.
// Thread-safety: every method is safe to call from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lib/core/clock.h"
#include "lib/metrics/registry.h"
#include "lib/runtime/rate_limiter.h"

namespace novacron::runtime {

struct WorkQueueOptions {
  // Metrics label `name`; empty disables metrics.
  std::string name;
  core::ClockPtr clock = core::systemClock();
  // nullptr = defaultControllerRateLimiter(clock).
  RateLimiterPtr rate_limiter;
  // nullptr = metrics::defaultRegistry().
  metrics::RegistryPtr registry;
};

class WorkQueue {
public:
  explicit WorkQueue(WorkQueueOptions options = {});
  ~WorkQueue();  // shuts down (without draining)
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Marks `key` as needing processing. No-op after shutdown.
  void add(const std::string& key);
  // Adds `key` once `delay` has passed (immediately if delay <= 0).
  void addAfter(const std::string& key, std::chrono::nanoseconds delay);
  // Adds `key` after the rate limiter's delay for it; counts a retry.
  void addRateLimited(const std::string& key);
  // Resets the rate limiter's failure count for `key`.
  void forget(const std::string& key);
  int numRequeues(const std::string& key) const;

  // Blocks until a key is ready and returns it, now marked as processing. Returns nullopt once
  // the queue is shut down and empty. Every returned key must be passed to done().
  std::optional<std::string> get();
  // Like get() but gives up after `timeout` of the queue's clock, returning nullopt.
  std::optional<std::string> tryGet(std::chrono::milliseconds timeout);
  // Marks `key` as processed; if it was re-added meanwhile, it is queued again.
  void done(const std::string& key);

  // Number of keys queued to be handed out (excludes in-process keys and delayed keys, even
  // due ones, until a get() releases them).
  size_t len() const;
  // Number of keys waiting for an addAfter delay.
  size_t numDelayed() const;

  void shutDown();
  // shutDown(), then waits until every key handed out by get() is done().
  void shutDownWithDrain();
  bool shuttingDown() const;

private:
  struct Metrics;
  struct Delayed {
    core::Clock::TimePoint ready;
    uint64_t seq;
    std::string key;
    bool operator>(const Delayed& o) const {
      return ready != o.ready ? ready > o.ready : seq > o.seq;
    }
  };

  void addLocked(const std::string& key);
  void releaseDueLocked();
  std::optional<std::string> getImpl(std::optional<std::chrono::milliseconds> timeout);
  void updateProcessingMetricsLocked();

  const std::string name_;
  const core::ClockPtr clock_;
  const RateLimiterPtr rate_limiter_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;         // wakes get(): a key became ready, or shutdown
  std::condition_variable drain_cv_;       // wakes shutDownWithDrain(): processing emptied
  std::deque<std::string> queue_;          // guarded by mu_; ready keys in FIFO order
  std::unordered_set<std::string> dirty_;  // guarded by mu_; keys that need processing
  // guarded by mu_; keys handed out and not yet done, with the time get() returned them.
  std::unordered_map<std::string, core::Clock::TimePoint> processing_;
  // guarded by mu_; when each dirty key was first added (for queue_duration).
  std::unordered_map<std::string, core::Clock::TimePoint> added_at_;
  // guarded by mu_; delayed keys: the heap may hold stale entries, delayed_ has the truth.
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> delayed_heap_;
  std::unordered_map<std::string, core::Clock::TimePoint> delayed_;
  uint64_t seq_ = 0;            // guarded by mu_
  bool shutting_down_ = false;  // guarded by mu_
};

}  // namespace novacron::runtime
