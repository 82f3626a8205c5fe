#include "lib/runtime/workqueue.h"

#include <algorithm>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

namespace novacron::runtime {
namespace {

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

// controller-runtime's workqueue buckets: 10 ns .. 1000 s, by factors of 10.
const prometheus::Histogram::BucketBoundaries& durationBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1000};
  return buckets;
}

}  // namespace

struct WorkQueue::Metrics {
  Metrics(prometheus::Registry& registry, const std::string& name) {
    const prometheus::Labels labels{{"name", name}};
    depth = &prometheus::BuildGauge()
                 .Name("workqueue_depth")
                 .Help("Current depth of workqueue")
                 .Register(registry)
                 .Add(labels);
    adds = &prometheus::BuildCounter()
                .Name("workqueue_adds_total")
                .Help("Total number of adds handled by workqueue")
                .Register(registry)
                .Add(labels);
    queue_duration = &prometheus::BuildHistogram()
                          .Name("workqueue_queue_duration_seconds")
                          .Help(
                              "How long in seconds an item stays in workqueue before being "
                              "requested")
                          .Register(registry)
                          .Add(labels, durationBuckets());
    work_duration = &prometheus::BuildHistogram()
                         .Name("workqueue_work_duration_seconds")
                         .Help("How long in seconds processing an item from workqueue takes")
                         .Register(registry)
                         .Add(labels, durationBuckets());
    retries = &prometheus::BuildCounter()
                   .Name("workqueue_retries_total")
                   .Help("Total number of retries handled by workqueue")
                   .Register(registry)
                   .Add(labels);
    unfinished = &prometheus::BuildGauge()
                      .Name("workqueue_unfinished_work_seconds")
                      .Help(
                          "How many seconds of work has been done that is in progress and "
                          "hasn't been observed by work_duration")
                      .Register(registry)
                      .Add(labels);
    longest = &prometheus::BuildGauge()
                   .Name("workqueue_longest_running_processor_seconds")
                   .Help(
                       "How many seconds has the longest running processor for workqueue been "
                       "running")
                   .Register(registry)
                   .Add(labels);
  }

  prometheus::Gauge* depth;
  prometheus::Counter* adds;
  prometheus::Histogram* queue_duration;
  prometheus::Histogram* work_duration;
  prometheus::Counter* retries;
  prometheus::Gauge* unfinished;
  prometheus::Gauge* longest;
};

WorkQueue::WorkQueue(WorkQueueOptions options)
    : name_(std::move(options.name)),
      clock_(options.clock ? std::move(options.clock) : core::systemClock()),
      rate_limiter_(options.rate_limiter ? std::move(options.rate_limiter)
                                         : defaultControllerRateLimiter(clock_)) {
  if (!name_.empty()) {
    auto registry = options.registry ? options.registry : metrics::defaultRegistry();
    metrics_ = std::make_unique<Metrics>(*registry, name_);
  }
}

WorkQueue::~WorkQueue() {
  shutDown();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mu_);
  if (shutting_down_) {
    return;
  }
  addLocked(key);
}

void WorkQueue::addLocked(const std::string& key) {
  if (metrics_) {
    metrics_->adds->Increment();
  }
  if (!dirty_.insert(key).second) {
    return;  // already pending: de-duplicated
  }
  added_at_[key] = clock_->now();
  if (processing_.contains(key)) {
    return;  // done(key) will queue it again
  }
  queue_.push_back(key);
  if (metrics_) {
    metrics_->depth->Set(static_cast<double>(queue_.size()));
  }
  cv_.notify_one();
}

void WorkQueue::addAfter(const std::string& key, std::chrono::nanoseconds delay) {
  std::lock_guard lock(mu_);
  if (shutting_down_) {
    return;
  }
  if (delay.count() <= 0) {
    addLocked(key);
    return;
  }
  const auto ready = clock_->now() + delay;
  auto it = delayed_.find(key);
  if (it != delayed_.end() && it->second <= ready) {
    return;  // already due earlier
  }
  delayed_[key] = ready;
  delayed_heap_.push(Delayed{ready, seq_++, key});
  cv_.notify_one();  // a sleeping get() may need to wake earlier
}

void WorkQueue::addRateLimited(const std::string& key) {
  const auto delay = rate_limiter_->when(key);
  if (metrics_) {
    metrics_->retries->Increment();
  }
  addAfter(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  rate_limiter_->forget(key);
}

int WorkQueue::numRequeues(const std::string& key) const {
  return rate_limiter_->numRequeues(key);
}

void WorkQueue::releaseDueLocked() {
  if (delayed_heap_.empty()) {
    return;
  }
  const auto now = clock_->now();
  while (!delayed_heap_.empty() && delayed_heap_.top().ready <= now) {
    Delayed top = delayed_heap_.top();
    delayed_heap_.pop();
    auto it = delayed_.find(top.key);
    if (it == delayed_.end() || it->second != top.ready) {
      continue;  // superseded by an earlier addAfter, or already released
    }
    delayed_.erase(it);
    addLocked(top.key);
  }
}

std::optional<std::string> WorkQueue::get() {
  return getImpl(std::nullopt);
}

std::optional<std::string> WorkQueue::tryGet(std::chrono::milliseconds timeout) {
  return getImpl(timeout);
}

std::optional<std::string> WorkQueue::getImpl(std::optional<std::chrono::milliseconds> timeout) {
  // Without a timeout a blocked get() still wakes up once in a while; nothing depends on it.
  constexpr auto kMaxWait = std::chrono::hours(1);
  const auto give_up = clock_->now() + timeout.value_or(kMaxWait);
  std::unique_lock lock(mu_);
  while (true) {
    if (!shutting_down_) {
      releaseDueLocked();
    }
    if (!queue_.empty()) {
      std::string key = std::move(queue_.front());
      queue_.pop_front();
      const auto now = clock_->now();
      processing_[key] = now;
      dirty_.erase(key);
      auto added = added_at_.find(key);
      if (metrics_) {
        metrics_->depth->Set(static_cast<double>(queue_.size()));
        if (added != added_at_.end()) {
          metrics_->queue_duration->Observe(seconds(now - added->second));
        }
      }
      if (added != added_at_.end()) {
        added_at_.erase(added);
      }
      updateProcessingMetricsLocked();
      return key;
    }
    if (shutting_down_) {
      return std::nullopt;
    }
    auto wake_at = timeout ? give_up : clock_->now() + kMaxWait;
    if (timeout && clock_->now() >= give_up) {
      return std::nullopt;
    }
    if (!delayed_heap_.empty()) {
      wake_at = std::min(wake_at, delayed_heap_.top().ready);
    }
    // Wakes on add/done/shutdown (cv_), an addAfter due before wake_at, or the clock reaching
    // wake_at (a fake clock's advance() included).
    clock_->waitUntil(lock, cv_, wake_at, [&] {
      return !queue_.empty() || shutting_down_ ||
             (!delayed_heap_.empty() && delayed_heap_.top().ready < wake_at);
    });
  }
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = processing_.find(key);
  if (it == processing_.end()) {
    return;
  }
  if (metrics_) {
    metrics_->work_duration->Observe(seconds(clock_->now() - it->second));
  }
  processing_.erase(it);
  if (dirty_.contains(key)) {
    queue_.push_back(key);
    if (metrics_) {
      metrics_->depth->Set(static_cast<double>(queue_.size()));
    }
    cv_.notify_one();
  }
  updateProcessingMetricsLocked();
  if (processing_.empty()) {
    drain_cv_.notify_all();
  }
}

void WorkQueue::updateProcessingMetricsLocked() {
  if (!metrics_) {
    return;
  }
  const auto now = clock_->now();
  double total = 0;
  double longest = 0;
  for (const auto& [key, started] : processing_) {
    const double s = seconds(now - started);
    total += s;
    longest = std::max(longest, s);
  }
  metrics_->unfinished->Set(total);
  metrics_->longest->Set(longest);
}

size_t WorkQueue::len() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

size_t WorkQueue::numDelayed() const {
  std::lock_guard lock(mu_);
  return delayed_.size();
}

void WorkQueue::shutDown() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  delayed_.clear();
  delayed_heap_ = {};
  cv_.notify_all();
}

void WorkQueue::shutDownWithDrain() {
  std::unique_lock lock(mu_);
  shutting_down_ = true;
  delayed_.clear();
  delayed_heap_ = {};
  cv_.notify_all();
  drain_cv_.wait(lock, [this] { return processing_.empty(); });
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

}  // namespace novacron::runtime
