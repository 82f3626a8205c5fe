// WatchHub: one etcd watch over /registry/ feeding every API watch in the process. It keeps a
// bounded window of recent events; each API watcher reads the window through its own cursor, so
// 1,000 watchers cost one etcd stream. A watcher whose resourceVersion predates the window falls
// back to its own etcd watch (see ApiServer), and a watcher that falls behind the window is closed
// (clients re-watch from their last resourceVersion, as with kube-apiserver's watch cache).
//
// Like kube-apiserver's watch cache it also keeps the current value of every key (listed once at
// start, then updated from the events), so the etcd watch needs no prev_kv (etcd would read the
// previous revision of every changed key from its backend) and a write can start from the cached
// copy instead of reading etcd first (cached(); the write itself stays a Txn on the mod_revision,
// so a stale copy costs a failed Txn, never a lost update). ApiServer also records its own
// successful writes here (wrote()), so a client's next write to the same key finds its previous
// one even before the watch delivered it.
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
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "dev-apiserver/etcd_client.h"
#include "lib/core/status.h"

namespace novacron::devapi {

// One stored value of a key, parsed (null JSON when unparsable).
struct HubValue {
  nlohmann::json obj;
  int64_t mod_revision = 0;
};
using HubValuePtr = std::shared_ptr<const HubValue>;

struct HubEvent {
  int64_t revision = 0;
  bool is_delete = false;
  std::string key;
  HubValuePtr cur;   // the new value (null for deletes)
  HubValuePtr prev;  // the previous value (null if none)
  bool has_prev = false;
  // Parsed new value (null for deletes or unparsable values) and previous value (null if none).
  const nlohmann::json& obj() const { return cur ? cur->obj : null(); }
  const nlohmann::json& prevObj() const { return prev ? prev->obj : null(); }
  static const nlohmann::json& null() {
    static const nlohmann::json kNull;
    return kNull;
  }
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

  // Which events a waiting watcher would send on: the hub wakes it only for those.
  using Interest = std::function<bool(const HubEvent&)>;

  // Waits until events past the cursor exist, `deadline` passes or the hub stops. Returns the new
  // events and advances the cursor; kGone if the window overran the cursor (the watcher was too
  // slow); kCancelled when stopped.
  // `progress_rev` receives a revision up to which the caller has now seen every event.
  // `prefix`: the caller only cares about keys starting with it, so it is woken only by those
  // (and by the deadline); what it gets is still every event past the cursor, of any key.
  // `interest` (optional): of those, only the events it returns true for wake the caller (a
  // node-daemon's watch of its own VMs is not woken by every other VM's change); it runs on the
  // hub's thread with the hub's lock held, while the caller waits, so it must be quick and must
  // not call the hub. A caller that is not woken for half the window is woken anyway, so the
  // events it does not care about never push it out of the window.
  core::StatusOr<std::vector<HubEventPtr>> waitNext(Cursor& cursor,
                                                    std::chrono::steady_clock::time_point deadline,
                                                    int64_t* progress_rev,
                                                    const std::string& prefix = "",
                                                    const Interest& interest = {});

  // For tests (a targeted wake-up is only observable from inside the hub): the watchers waiting in
  // waitNext() for `prefix` now, and how often the hub woke the watchers of `prefix` so far (for
  // an event, a stop or a new window). An event's wake-ups are counted before its subscribers
  // run, so a subscriber that saw the event sees its wake-ups counted.
  int waitersOn(const std::string& prefix) const;
  uint64_t wakeupsOf(const std::string& prefix) const;

  // The newest revision the hub has seen (all events up to it are in the window or before it).
  int64_t latestRevision() const;

  // Called on the hub thread for every event, in order.
  void subscribe(std::function<void(const HubEvent&)> fn);

  // Blocks until the hub has seen revision `rev` or the timeout passes; true if seen.
  bool waitForRevision(int64_t rev, std::chrono::milliseconds timeout);

  // The newest value of `key` this hub knows (from the watch or from wrote()); null when it knows
  // none (absent, or the hub is not started). It may be older than etcd's: writers compare the
  // mod_revision in etcd and fall back to a read there.
  HubValuePtr cached(const std::string& key) const;
  // A write of `key` committed at obj's revision `mod_revision` (before its watch event arrives).
  void wrote(const std::string& key, nlohmann::json obj, int64_t mod_revision);

private:
  void run();
  // Lists every key under the prefix into watched_ and resets the window to the list's revision.
  core::Status relist();

  EtcdClient& etcd_;
  const std::string prefix_;
  const size_t window_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  // A watcher waiting in waitNext(). One condition variable for all of them woke every watcher
  // thread (60-80 with 20 node-daemons) on every event, and they all took mu_ the hub thread
  // needs for the next one: under load the hub fell seconds behind etcd (issue 15, B1 at 1,000
  // VMs). Then an event woke the watchers of its kind (key prefix): still every node-daemon's
  // watch of VMs for every VM's change (issue 15, B1x). Now each waiter has its own condition
  // variable and is woken only by the events it is interested in.
  struct Waiter {
    std::condition_variable cv;
    const Interest* interest = nullptr;  // null: every event under the prefix
    uint64_t cursor_seq = 0;             // where the waiter's cursor stands
    bool woken = false;                  // guarded by mu_
  };
  // The waiters of one key prefix.
  struct Waiters {
    std::vector<std::shared_ptr<Waiter>> members;
  };
  // Wakes every waiter (stop, a new window). Called with mu_ held.
  void wakeAllLocked();
  // The one rule for waking a waiter, used by the hub's dispatch and by waitNext() for the events
  // already pending: a cursor half a window behind (or out of it) wakes it whatever the events...
  bool laggingLocked(uint64_t cursor_seq) const;
  // ... and so does an event under its prefix that its interest (null: any) takes.
  static bool concerns(const std::string& prefix, const Interest* interest, const HubEvent& ev);

  mutable std::mutex mu_;                    // guards everything below
  std::condition_variable cv_;               // waitForRevision()
  std::map<std::string, Waiters> waiters_;   // key prefix -> watchers waiting
  std::map<std::string, uint64_t> wakeups_;  // key prefix -> wake-ups sent
  std::deque<HubEventPtr> events_;
  uint64_t first_seq_ = 0;  // sequence number of events_.front()
  int64_t base_rev_ = 0;    // the window holds every event with revision > base_rev_
  int64_t latest_rev_ = 0;
  std::unique_ptr<EtcdWatch> watch_;
  bool started_ = false;
  // Every key's value as of latest_rev_ (the hub thread's view: events take prev from here).
  std::unordered_map<std::string, HubValuePtr> watched_;
  // Values this process wrote that the watch has not delivered yet (dropped once it has).
  std::unordered_map<std::string, HubValuePtr> written_;
  std::vector<std::function<void(const HubEvent&)>> subscribers_;
};

}  // namespace novacron::devapi
