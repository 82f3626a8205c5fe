// Reflector: keeps a local view of one resource in step with the API server (client-go's
// Reflector, kube-rs's watcher), feeding a sink with what it sees.
//
//   Listing   list (paged) at the latest version; the sink gets replace(all items, version).
//   Watching  watch from the last version seen, bookmarks on; every ADDED/MODIFIED/DELETED goes to
//             the sink's apply(); BOOKMARKs only move the version forward.
//   a watch that ends normally (server timeout or restart) is resumed from the last version;
//   a watch that delivers nothing, not even a bookmark, for watch_idle_timeout is presumed dead
//   (a half-open connection) and restarted like a failed one;
//   410 Gone (from watch() or as an ERROR event: the version was compacted) → Listing again;
//   any other failure → Backoff (core::ExponentialBackoff, reset after a healthy watch), then
//   resume the watch (or list again if no list has succeeded yet).
//   Stopped   after stop().
// The state is observable (state(), a gauge novacron_reflector_state{resource,state}) for tests
// and dashboards; counters novacron_reflector_lists_total and
// novacron_reflector_watch_restarts_total{reason} count the transitions.
//
// Threads: start() runs the loop on the reflector's own thread; the sink is called from that
// thread or from the watch's thread, but never concurrently and always in server order.
// Thread-safety: start/stop/state/lastSyncResourceVersion are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/core/backoff.h"
#include "lib/core/status.h"
#include "lib/kube/client.h"
#include "lib/kube/resource.h"
#include "lib/metrics/registry.h"

namespace novacron::runtime {

enum class ReflectorState { kIdle, kListing, kWatching, kBackoff, kStopped };
std::string_view reflectorStateName(ReflectorState state);  // "Idle", "Listing", ...

class ReflectorSink {
public:
  virtual ~ReflectorSink() = default;
  // A (re)list, delivered page by page so that no more than one page of JSON is alive at a time
  // (50,000 objects as JSON trees take about ten times what their decoded copies do; the
  // reflector hands over one item per page, as the client parses them: kube::listItems):
  // listPage() for each page in server order (`first` on the first page of a list), then
  // listDone() with the list's resourceVersion: objects that were in no page of this list are
  // gone. A list that fails before listDone() has applied the pages delivered so far (each object
  // in them is a real state of it) and removes nothing; the next list starts with `first` again.
  virtual void listPage(std::vector<nlohmann::json>&& items, bool first) = 0;
  virtual void listDone(const std::string& resource_version) = 0;
  // One watch event (kAdded, kModified or kDeleted).
  virtual void apply(kube::WatchEventType type, nlohmann::json&& object) = 0;
};

struct ReflectorOptions {
  std::string ns;  // "" = all namespaces (or a cluster-scoped resource)
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;  // list page size; 0 = unpaged
  // The server ends each watch after about this long (randomised x1..x2 like client-go).
  std::chrono::seconds watch_timeout{300};
  // A watch silent this long is restarted. Bookmarks come only while the resource changes (as on
  // kube-apiserver), so a quiet resource's watch is restarted about this often; harmless.
  std::chrono::milliseconds watch_idle_timeout{std::chrono::minutes(3)};
  core::BackoffPolicy backoff{std::chrono::milliseconds(800), std::chrono::seconds(30), 2.0, 0.2};
  metrics::RegistryPtr registry;  // nullptr = metrics::defaultRegistry()
};

class Reflector {
public:
  Reflector(kube::ClientPtr client, kube::ResourceType resource, ReflectorSink& sink,
            ReflectorOptions options = {});
  ~Reflector();  // stop()
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  void start();
  // Ends the current watch or backoff and joins the loop thread; idempotent.
  void stop();

  ReflectorState state() const { return state_.load(); }
  // The version of the last list, event or bookmark seen ("" before the first list).
  std::string lastSyncResourceVersion() const;
  // Number of successful lists (1 after the initial list; grows on every relist).
  int listCount() const { return lists_.load(); }
  const kube::ResourceType& resource() const { return resource_; }

private:
  struct Metrics;

  void run();
  core::Status listOnce();
  // Runs one watch to its end and returns how it ended (see kube::WatchHandle::wait()).
  core::Status watchOnce(bool& saw_events);
  void setState(ReflectorState state);
  // Sleeps for the next backoff delay unless stopped first; returns false if stopped.
  bool backoff(core::ExponentialBackoff& backoff);
  void setResourceVersion(std::string rv);

  const kube::ClientPtr client_;
  const kube::ResourceType resource_;
  ReflectorSink& sink_;
  const ReflectorOptions options_;
  std::unique_ptr<Metrics> metrics_;

  std::atomic<ReflectorState> state_{ReflectorState::kIdle};
  std::atomic<int> lists_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;            // wakes backoff sleeps on stop
  bool stop_ = false;                     // guarded by mu_
  kube::WatchHandle* current_ = nullptr;  // guarded by mu_; the open watch, to stop it
  std::string resource_version_;          // guarded by mu_
  std::thread thread_;
};

}  // namespace novacron::runtime
