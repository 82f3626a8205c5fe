// EventRecorder: records Kubernetes Events (core/v1) about objects, like client-go's recorder.
//
// - Never blocks the caller: event() puts the event on a bounded in-memory queue and returns; a
//   background thread writes it. When the queue is full the event is dropped (counted in
//   novacron_events_dropped_total{reason="queue_full"}).
// - Aggregates repeats: an event with the same involved object, type, reason and message as one
//   recorded before (within the cache) updates that Event's count and lastTimestamp with a merge
//   patch instead of creating a new Event. If that Event is gone (expired), a new one is created.
// - Rate-limited per involved object (client-go's spam filter): a token bucket of `burst` events
//   refilled at `qps`; events beyond it are dropped (reason="rate_limited").
// Event names are "<object name>.<16 hex digits>", unique per recorder.
// Thread-safety: event() and flush() are safe from any thread. Destruction stops the writer
// thread; events still queued are dropped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "lib/core/clock.h"
#include "lib/core/token_bucket.h"
#include "lib/kube/client.h"
#include "lib/metrics/registry.h"

namespace novacron::runtime {

struct ObjectReference {
  std::string api_version;
  std::string kind;
  std::string ns;
  std::string name;
  std::string uid;
  std::string resource_version;

  // Builds a reference from an object's apiVersion, kind and metadata.
  static ObjectReference fromObject(const nlohmann::json& object);
};

struct EventRecorderOptions {
  std::string component;  // source.component / reportingComponent, e.g. "novacron-controller"
  std::string host;       // source.host / reportingInstance, e.g. the node or pod name
  core::ClockPtr clock = core::systemClock();
  metrics::RegistryPtr registry;  // nullptr = metrics::defaultRegistry()
  size_t queue_capacity = 1000;
  size_t aggregation_cache_size = 4096;  // distinct (object, reason, message) remembered
  double qps = 1.0 / 300.0;              // per-object refill: one event per 5 minutes ...
  int burst = 25;                        // ... after a burst of 25, as client-go
};

class EventRecorder {
public:
  EventRecorder(kube::ClientPtr client, EventRecorderOptions options);
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // `type` is "Normal" or "Warning"; `reason` CamelCase ("Scheduled", "MigrationFailed").
  void event(const ObjectReference& object, std::string_view type, std::string_view reason,
             std::string_view message);
  void event(const nlohmann::json& object, std::string_view type, std::string_view reason,
             std::string_view message) {
    event(ObjectReference::fromObject(object), type, reason, message);
  }

  // Blocks until every event queued so far was written (or dropped), at most `timeout`. Returns
  // false on timeout. For tests and orderly shutdown.
  bool flush(std::chrono::milliseconds timeout);

private:
  struct Pending {
    ObjectReference object;
    std::string type;
    std::string reason;
    std::string message;
    std::chrono::system_clock::time_point time;
  };
  struct Aggregate {
    std::string event_name;
    std::string ns;
    int64_t count = 0;
    std::string first_timestamp;
  };
  struct Metrics;

  void run();
  void write(const Pending& pending);
  bool allow(const std::string& object_key);
  std::string newEventName(const std::string& object_name);

  const kube::ClientPtr client_;
  const EventRecorderOptions options_;
  std::unique_ptr<Metrics> metrics_;

  std::mutex mu_;
  std::condition_variable cv_;       // wakes the writer: new event or stop
  std::condition_variable idle_cv_;  // wakes flush(): queue emptied and nothing in flight
  std::deque<Pending> queue_;        // guarded by mu_
  bool busy_ = false;                // guarded by mu_; the writer is writing an event
  bool stop_ = false;                // guarded by mu_

  // Writer-thread only (no lock): aggregation LRU and per-object buckets.
  std::list<std::string> lru_;  // most recent first
  std::unordered_map<std::string, std::pair<Aggregate, std::list<std::string>::iterator>> cache_;
  std::unordered_map<std::string, std::unique_ptr<core::TokenBucket>> buckets_;
  uint64_t name_counter_ = 0;

  std::thread thread_;  // last: starts after everything above is initialised
};

}  // namespace novacron::runtime
