// WatchHub: one etcd watch over /registry/ feeding every API watch in the process. It keeps a
// bounded window of recent events; each API watcher reads the window through its own cursor, so
// 1,000 watchers cost one etcd stream. A watcher whose resourceVersion predates the window falls
// back to its own etcd watch (see ApiServer), and a watcher that falls behind the window is closed
// (clients re-watch from their last resourceVersion, as with kube-apiserver's watch cache).
//
// Thread-safety: all methods are thread-safe. Subscribers run on the hub's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "dev-apiserver/etcd_client.h"
#include "lib/core/status.h"

namespace novacron::devapi {

struct HubEvent {
  int64_t revision = 0;
  bool is_delete = false;
  std::string key;
  std::string value;       // the new value (empty for deletes)
  std::string prev_value;  // the previous value (empty if none)
  bool has_prev = false;
  nlohmann::json obj;       // parsed value (null for deletes or unparsable values)
  nlohmann::json prev_obj;  // parsed prev_value (null if none)
  // Watch lines already rendered from this event, by form (see ApiServer::watchObjects), so
  // 1,000 watchers of one type serialize an event once.
  mutable std::mutex render_mu;
  mutable std::map<std::string, std::string> rendered;  // guarded by render_mu
};

using HubEventPtr = std::shared_ptr<const HubEvent>;

class WatchHub {
public:
  WatchHub(EtcdClient& etcd, std::string prefix, size_t window);
  ~WatchHub();

  core::Status start();
  void stop();

  struct Cursor {
    uint64_t seq = 0;
  };
  // A cursor positioned after revision `rev`; nullopt if the window no longer covers it.
  std::optional<Cursor> cursorAfter(int64_t rev);

  // Waits until events past the cursor exist, `deadline` passes or the hub stops. Returns the new
  // events and advances the cursor; kGone if the window overran the cursor (the watcher was too
  // slow); kCancelled when stopped.
  // `progress_rev` receives a revision up to which the caller has now seen every event.
  core::StatusOr<std::vector<HubEventPtr>> waitNext(Cursor& cursor,
                                                    std::chrono::steady_clock::time_point deadline,
                                                    int64_t* progress_rev);

  // The newest revision the hub has seen (all events up to it are in the window or before it).
  int64_t latestRevision() const;

  // Called on the hub thread for every event, in order.
  void subscribe(std::function<void(const HubEvent&)> fn);

  // Blocks until the hub has seen revision `rev` or the timeout passes; true if seen.
  bool waitForRevision(int64_t rev, std::chrono::milliseconds timeout);

private:
  void run();

  EtcdClient& etcd_;
  const std::string prefix_;
  const size_t window_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::deque<HubEventPtr> events_;
  uint64_t first_seq_ = 0;  // sequence number of events_.front()
  int64_t base_rev_ = 0;    // the window holds every event with revision > base_rev_
  int64_t latest_rev_ = 0;
  std::unique_ptr<EtcdWatch> watch_;
  std::vector<std::function<void(const HubEvent&)>> subscribers_;
};

}  // namespace novacron::devapi
