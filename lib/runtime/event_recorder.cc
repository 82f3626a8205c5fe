#include "lib/runtime/event_recorder.h"

#include <algorithm>

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <spdlog/spdlog.h>

#include "lib/kube/resource.h"
#include "lib/runtime/conditions.h"

namespace novacron::runtime {
namespace {

using nlohmann::json;

std::string str(const json& object, std::initializer_list<const char*> path) {
  const json* node = &object;
  for (const char* key : path) {
    if (!node->is_object()) {
      return {};
    }
    auto it = node->find(key);
    if (it == node->end()) {
      return {};
    }
    node = &*it;
  }
  return node->is_string() ? node->get<std::string>() : std::string();
}

}  // namespace

ObjectReference ObjectReference::fromObject(const json& object) {
  return ObjectReference{str(object, {"apiVersion"}),
                         str(object, {"kind"}),
                         str(object, {"metadata", "namespace"}),
                         str(object, {"metadata", "name"}),
                         str(object, {"metadata", "uid"}),
                         str(object, {"metadata", "resourceVersion"})};
}

struct EventRecorder::Metrics {
  explicit Metrics(prometheus::Registry& registry) {
    auto& recorded = prometheus::BuildCounter()
                         .Name("novacron_events_recorded_total")
                         .Help("Kubernetes Events written, by action (created or aggregated)")
                         .Register(registry);
    created = &recorded.Add({{"action", "created"}});
    aggregated = &recorded.Add({{"action", "aggregated"}});
    auto& dropped = prometheus::BuildCounter()
                        .Name("novacron_events_dropped_total")
                        .Help("Kubernetes Events not written, by reason")
                        .Register(registry);
    queue_full = &dropped.Add({{"reason", "queue_full"}});
    rate_limited = &dropped.Add({{"reason", "rate_limited"}});
    write_failed = &dropped.Add({{"reason", "write_failed"}});
  }
  prometheus::Counter* created;
  prometheus::Counter* aggregated;
  prometheus::Counter* queue_full;
  prometheus::Counter* rate_limited;
  prometheus::Counter* write_failed;
};

EventRecorder::EventRecorder(kube::ClientPtr client, EventRecorderOptions options)
    : client_(std::move(client)), options_(std::move(options)) {
  auto registry = options_.registry ? options_.registry : metrics::defaultRegistry();
  metrics_ = std::make_unique<Metrics>(*registry);
  thread_ = std::thread([this] { run(); });
}

EventRecorder::~EventRecorder() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  thread_.join();
}

void EventRecorder::event(const ObjectReference& object, std::string_view type,
                          std::string_view reason, std::string_view message) {
  Pending pending{object, std::string(type), std::string(reason), std::string(message),
                  options_.clock->wallNow()};
  {
    std::lock_guard lock(mu_);
    if (stop_) {
      return;
    }
    if (queue_.size() >= options_.queue_capacity) {
      metrics_->queue_full->Increment();
      return;
    }
    queue_.push_back(std::move(pending));
  }
  cv_.notify_one();
}

bool EventRecorder::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [this] { return queue_.empty() && !busy_; });
}

void EventRecorder::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) {
      break;
    }
    Pending pending = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    write(pending);  // no lock held while talking to the API server
    lock.lock();
    busy_ = false;
    if (queue_.empty()) {
      idle_cv_.notify_all();
    }
  }
  busy_ = false;
  idle_cv_.notify_all();
}

bool EventRecorder::allow(const std::string& object_key) {
  if (buckets_.size() > 4 * options_.aggregation_cache_size) {
    // Forget objects whose bucket has refilled: they behave exactly like new ones.
    std::erase_if(buckets_, [](const auto& entry) { return entry.second->full(); });
  }
  auto& bucket = buckets_[object_key];
  if (!bucket) {
    bucket = std::make_unique<core::TokenBucket>(options_.qps, static_cast<int>(options_.burst),
                                                 options_.clock);
  }
  return bucket->tryAccept();
}

std::string EventRecorder::newEventName(const std::string& object_name) {
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         options_.clock->wallNow().time_since_epoch())
                         .count();
  return fmt::format("{}.{:016x}", object_name, static_cast<uint64_t>(nanos) + name_counter_++);
}

void EventRecorder::write(const Pending& p) {
  const ObjectReference& ref = p.object;
  const std::string object_key = fmt::format("{}/{}/{}/{}", ref.kind, ref.ns, ref.name, ref.uid);
  if (!allow(object_key)) {
    metrics_->rate_limited->Increment();
    return;
  }
  const std::string aggregate_key =
      fmt::format("{}\x1f{}\x1f{}\x1f{}", object_key, p.type, p.reason, p.message);
  const std::string timestamp = formatRfc3339(p.time);

  if (auto cached = cache_.find(aggregate_key); cached != cache_.end()) {
    Aggregate& agg = cached->second.first;
    const json patch = {{"count", agg.count + 1}, {"lastTimestamp", timestamp}};
    auto result =
        client_->patch(kube::kCoreEvent, agg.ns, agg.event_name, kube::PatchType::kMerge, patch);
    if (result.isOk()) {
      ++agg.count;
      lru_.splice(lru_.begin(), lru_, cached->second.second);
      metrics_->aggregated->Increment();
      return;
    }
    if (result.status().code() != core::StatusCode::kNotFound) {
      spdlog::warn("event recorder: updating Event {}/{}: {}", agg.ns, agg.event_name,
                   result.status().toString());
      metrics_->write_failed->Increment();
      return;
    }
    // The Event expired on the server: start a new one.
    lru_.erase(cached->second.second);
    cache_.erase(cached);
  }

  const std::string ns = ref.ns.empty() ? "default" : ref.ns;
  json involved = {{"kind", ref.kind}, {"name", ref.name}};
  if (!ref.api_version.empty()) {
    involved["apiVersion"] = ref.api_version;
  }
  if (!ref.ns.empty()) {
    involved["namespace"] = ref.ns;
  }
  if (!ref.uid.empty()) {
    involved["uid"] = ref.uid;
  }
  if (!ref.resource_version.empty()) {
    involved["resourceVersion"] = ref.resource_version;
  }
  const std::string name = newEventName(ref.name.empty() ? "event" : ref.name);
  const json event = {{"apiVersion", "v1"},
                      {"kind", "Event"},
                      {"metadata", {{"name", name}, {"namespace", ns}}},
                      {"involvedObject", involved},
                      {"type", p.type},
                      {"reason", p.reason},
                      {"message", p.message},
                      {"source", {{"component", options_.component}, {"host", options_.host}}},
                      {"reportingComponent", options_.component},
                      {"reportingInstance", options_.host},
                      {"firstTimestamp", timestamp},
                      {"lastTimestamp", timestamp},
                      {"count", 1}};
  auto created = client_->create(kube::kCoreEvent, ns, event);
  if (!created.isOk()) {
    spdlog::warn("event recorder: creating Event {}/{} ({} {}): {}", ns, name, p.reason, ref.name,
                 created.status().toString());
    metrics_->write_failed->Increment();
    return;
  }
  metrics_->created->Increment();
  lru_.push_front(aggregate_key);
  cache_[aggregate_key] = {Aggregate{name, ns, 1, timestamp}, lru_.begin()};
  while (cache_.size() > options_.aggregation_cache_size && !lru_.empty()) {
    cache_.erase(lru_.back());
    lru_.pop_back();
  }
}

}  // namespace novacron::runtime
