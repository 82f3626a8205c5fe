// Controller: N workers that take keys from a WorkQueue and run a level-based reconciler on them,
// modelled on controller-runtime's controller.
//
//   Controller c({.name = "virtualmachine", .workers = 4, .synced = {waitForSyncOf(vms)}},
//                [&](const std::string& key) { return reconciler.reconcile(key); });
//   vms.addEventHandler(enqueueKeys<api::VirtualMachine>(c.queue()));
//   c.start();   // workers begin once every `synced` wait returned true ("never act on absence
//                // before the cache has synced")
//   ...
//   c.stop();    // no new keys; workers finish the keys already queued, then exit
//
// What happens to a key after reconcile(key):
//   OK, requeue_after > 0     forget backoff; add again after requeue_after   result=requeue_after
//   OK, requeue               add again with rate-limited backoff             result=requeue
//   OK                        forget backoff                                  result=success
//   error                     add again with rate-limited backoff, or after the error's
//                             retryAfter() (HTTP 429/503 Retry-After)          result=error
//   conflict (kConflict)      a stale cached copy: the first kFastConflictRetries retries come
//                             after 5, 10, 20, 40 ms without taking a token from the queue's
//                             shared bucket (conflicts under a burst would otherwise drain it
//                             and hold every retry at its 10/s); then as any error result=error
//   terminal error            only when explicitly marked with core::terminal(status)
//                             (controller-runtime's TerminalError): logged, not retried until
//                             the object changes (its next event adds the key) result=error
//   exception thrown          treated as a (retried) error, logged at error    result=error
// Every other error is retried, whatever its code: a NotFound from a sub-call is retried too.
// Metrics (labels {controller}): controller_runtime_reconcile_total{controller,result},
// controller_runtime_reconcile_errors_total, controller_runtime_terminal_reconcile_errors_total,
// controller_runtime_reconcile_time_seconds, controller_runtime_active_workers,
// controller_runtime_max_concurrent_reconciles; plus the queue's workqueue_* metrics.
// Thread-safety: start/stop/queue are safe from any thread; reconcile runs on the workers (one
// key is never reconciled by two workers at once).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lib/core/clock.h"
#include "lib/core/statusor.h"
#include "lib/metrics/registry.h"
#include "lib/runtime/rate_limiter.h"
#include "lib/runtime/reconcile_result.h"
#include "lib/runtime/workqueue.h"

namespace novacron::runtime {

class Reconciler {
public:
  virtual ~Reconciler() = default;
  virtual core::StatusOr<ReconcileResult> reconcile(const std::string& key) = 0;
};

using ReconcileFunc = std::function<core::StatusOr<ReconcileResult>(const std::string& key)>;

// Blocks up to `timeout` until a cache has synced; returns whether it has.
using SyncWait = std::function<bool(std::chrono::milliseconds timeout)>;

// The SyncWait of anything with waitForSync(timeout) (informers, caches). `source` must outlive
// the controller.
template <typename T>
SyncWait waitForSyncOf(const T& source) {
  return [&source](std::chrono::milliseconds timeout) { return source.waitForSync(timeout); };
}

struct ControllerOptions {
  std::string name;  // metrics label and workqueue name, e.g. "virtualmachine"
  int workers = 1;
  // Workers start only once every wait returned true. Each wait must block (not poll) until its
  // cache synced or the timeout passed; the controller calls it in slices so stop() is prompt.
  std::vector<SyncWait> synced;
  core::ClockPtr clock;           // default core::systemClock()
  RateLimiterPtr rate_limiter;    // default defaultControllerRateLimiter(clock)
  metrics::RegistryPtr registry;  // default metrics::defaultRegistry()
  // Level-triggered safety net: every `resync` (on `clock`) once running, on_resync(queue) runs
  // (typically: add every cached key, rescan the outside world). Zero disables it.
  std::chrono::nanoseconds resync{0};
  std::function<void(WorkQueue& queue)> on_resync;
};

class Controller {
public:
  Controller(ControllerOptions options, ReconcileFunc reconcile);
  // The reconciler must outlive the controller.
  Controller(ControllerOptions options, Reconciler& reconciler);
  ~Controller();  // stop()
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  WorkQueue& queue() { return *queue_; }
  const std::string& name() const { return name_; }

  // Returns at once; workers start after the caches synced.
  void start();
  // Shuts the queue down (no new keys, delayed keys dropped), lets the workers finish the keys
  // already queued and joins them. Idempotent.
  void stop();
  // True once the caches synced and the workers run.
  bool running() const { return running_.load(); }

private:
  struct Metrics;

  void waitForSyncThenRun();
  void resyncLoop();
  void worker();
  void processOne(const std::string& key);
  // Retries a conflicted key soon; false once it used its fast retries (then rate-limited).
  bool retryConflictSoon(const std::string& key);
  void forgetConflicts(const std::string& key);

  const std::string name_;
  const int workers_;
  const std::vector<SyncWait> synced_;
  const ReconcileFunc reconcile_;
  const core::ClockPtr clock_;
  const std::chrono::nanoseconds resync_;
  const std::function<void(WorkQueue&)> on_resync_;
  std::unique_ptr<WorkQueue> queue_;
  std::unique_ptr<Metrics> metrics_;

  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable_any stop_cv_;  // wakes the resync loop on stop()
  std::thread starter_;                  // guarded by mu_
  std::vector<std::thread> threads_;     // guarded by mu_
  std::mutex conflicts_mu_;
  std::map<std::string, int> conflicts_;  // guarded by conflicts_mu_; key -> fast retries used
};

}  // namespace novacron::runtime
