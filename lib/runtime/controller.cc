#include "lib/runtime/controller.h"

#include <exception>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <spdlog/spdlog.h>

#include "lib/core/check.h"

namespace novacron::runtime {

struct Controller::Metrics {
  Metrics(prometheus::Registry& registry, const std::string& controller, int workers) {
    auto& total = prometheus::BuildCounter()
                      .Name("controller_runtime_reconcile_total")
                      .Help("Total number of reconciliations per controller")
                      .Register(registry);
    success = &total.Add({{"controller", controller}, {"result", "success"}});
    error = &total.Add({{"controller", controller}, {"result", "error"}});
    requeue = &total.Add({{"controller", controller}, {"result", "requeue"}});
    requeue_after = &total.Add({{"controller", controller}, {"result", "requeue_after"}});
    errors = &prometheus::BuildCounter()
                  .Name("controller_runtime_reconcile_errors_total")
                  .Help("Total number of reconciliation errors per controller")
                  .Register(registry)
                  .Add({{"controller", controller}});
    terminal = &prometheus::BuildCounter()
                    .Name("controller_runtime_terminal_reconcile_errors_total")
                    .Help("Total number of terminal reconciliation errors per controller")
                    .Register(registry)
                    .Add({{"controller", controller}});
    time = &prometheus::BuildHistogram()
                .Name("controller_runtime_reconcile_time_seconds")
                .Help("Length of time per reconciliation per controller")
                .Register(registry)
                .Add({{"controller", controller}}, metrics::latencyBuckets());
    active = &prometheus::BuildGauge()
                  .Name("controller_runtime_active_workers")
                  .Help("Number of currently used workers per controller")
                  .Register(registry)
                  .Add({{"controller", controller}});
    prometheus::BuildGauge()
        .Name("controller_runtime_max_concurrent_reconciles")
        .Help("Maximum number of concurrent reconciles per controller")
        .Register(registry)
        .Add({{"controller", controller}})
        .Set(workers);
  }
  prometheus::Counter* success;
  prometheus::Counter* error;
  prometheus::Counter* requeue;
  prometheus::Counter* requeue_after;
  prometheus::Counter* errors;
  prometheus::Counter* terminal;
  prometheus::Histogram* time;
  prometheus::Gauge* active;
};

Controller::Controller(ControllerOptions options, ReconcileFunc reconcile)
    : name_(std::move(options.name)),
      workers_(options.workers),
      synced_(std::move(options.synced)),
      reconcile_(std::move(reconcile)),
      clock_(options.clock ? options.clock : core::systemClock()),
      resync_(options.resync),
      on_resync_(std::move(options.on_resync)) {
  NOVACRON_CHECK(!name_.empty(), "a controller needs a name");
  NOVACRON_CHECK(workers_ > 0, "a controller needs at least one worker");
  NOVACRON_CHECK(static_cast<bool>(reconcile_), "a controller needs a reconciler");
  auto registry = options.registry ? options.registry : metrics::defaultRegistry();
  WorkQueueOptions queue_options;
  queue_options.name = name_;
  queue_options.clock = clock_;
  queue_options.rate_limiter = std::move(options.rate_limiter);
  queue_options.registry = registry;
  queue_ = std::make_unique<WorkQueue>(std::move(queue_options));
  metrics_ = std::make_unique<Metrics>(*registry, name_, workers_);
}

Controller::Controller(ControllerOptions options, Reconciler& reconciler)
    : Controller(std::move(options),
                 [&reconciler](const std::string& key) { return reconciler.reconcile(key); }) {}

Controller::~Controller() {
  stop();
}

void Controller::start() {
  std::lock_guard lock(mu_);
  if (starter_.joinable() || stopping_) {
    return;
  }
  starter_ = std::thread([this] { waitForSyncThenRun(); });
}

void Controller::waitForSyncThenRun() {
  // The slice only bounds how long stop() waits for this thread; the waits block on the caches.
  constexpr std::chrono::milliseconds kSlice{100};
  for (const auto& wait : synced_) {
    while (!wait(kSlice)) {
      if (stopping_) {
        return;
      }
    }
  }
  std::lock_guard lock(mu_);
  if (stopping_) {
    return;
  }
  spdlog::info("controller {}: caches synced, starting {} workers", name_, workers_);
  for (int i = 0; i < workers_; ++i) {
    threads_.emplace_back([this] { worker(); });
  }
  if (resync_.count() > 0 && on_resync_) {
    threads_.emplace_back([this] { resyncLoop(); });
  }
  running_ = true;
}

void Controller::resyncLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (clock_->waitFor(lock, stop_cv_, resync_, [this] { return stopping_.load(); })) {
      return;
    }
    lock.unlock();
    on_resync_(*queue_);
    lock.lock();
  }
}

void Controller::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  queue_->shutDown();
  std::thread starter;
  {
    std::lock_guard lock(mu_);
    starter.swap(starter_);
  }
  if (starter.joinable()) {
    starter.join();
  }
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) {
    t.join();
  }
  running_ = false;
}

void Controller::worker() {
  while (auto key = queue_->get()) {
    processOne(*key);
    queue_->done(*key);
  }
}

void Controller::processOne(const std::string& key) {
  metrics_->active->Increment();
  const auto started = clock_->now();
  core::StatusOr<ReconcileResult> result = core::internalError("reconcile did not run");
  try {
    result = reconcile_(key);
  } catch (const std::exception& e) {
    result = core::unavailableError(std::string("reconcile threw: ") + e.what());
    spdlog::error("controller {}: reconcile {} threw: {}", name_, key, e.what());
  } catch (...) {
    result = core::unavailableError("reconcile threw a non-exception");
    spdlog::error("controller {}: reconcile {} threw a non-exception", name_, key);
  }
  metrics_->time->Observe(std::chrono::duration<double>(clock_->now() - started).count());
  metrics_->active->Decrement();

  if (!result.isOk()) {
    const core::Status status = result.status();
    metrics_->error->Increment();
    metrics_->errors->Increment();
    if (status.isTerminal()) {
      metrics_->terminal->Increment();
      spdlog::warn("controller {}: reconcile {} failed terminally, not retrying: {}", name_, key,
                   status.toString());
      queue_->forget(key);
      forgetConflicts(key);
      return;
    }
    if (status.code() == core::StatusCode::kConflict) {
      // A stale cached copy: the retry re-reads it. Expected under contention, not news.
      spdlog::debug("controller {}: reconcile {}: {}", name_, key, status.toString());
    } else {
      spdlog::info("controller {}: reconcile {} failed, retrying: {}", name_, key,
                   status.toString());
    }
    if (auto after = status.retryAfter(); after && after->count() > 0) {
      queue_->addAfter(key, *after);
    } else if (status.code() == core::StatusCode::kConflict && retryConflictSoon(key)) {
      // queued again already
    } else {
      queue_->addRateLimited(key);
    }
    return;
  }
  forgetConflicts(key);
  const ReconcileResult& r = *result;
  if (r.requeue_after.count() > 0) {
    metrics_->requeue_after->Increment();
    queue_->forget(key);
    queue_->addAfter(key, r.requeue_after);
  } else if (r.requeue) {
    metrics_->requeue->Increment();
    queue_->addRateLimited(key);
  } else {
    metrics_->success->Increment();
    queue_->forget(key);
  }
}

namespace {
constexpr int kFastConflictRetries = 4;
constexpr std::chrono::milliseconds kFastConflictBase{5};
}  // namespace

bool Controller::retryConflictSoon(const std::string& key) {
  int used = 0;
  {
    std::lock_guard lock(conflicts_mu_);
    used = conflicts_[key]++;
  }
  if (used >= kFastConflictRetries) {
    return false;
  }
  queue_->addAfter(key, kFastConflictBase * (1 << used));
  return true;
}

void Controller::forgetConflicts(const std::string& key) {
  std::lock_guard lock(conflicts_mu_);
  conflicts_.erase(key);
}

}  // namespace novacron::runtime
