#include "dev-apiserver/watch_hub.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace novacron::devapi {

WatchHub::WatchHub(EtcdClient& etcd, std::string prefix, size_t window)
    : etcd_(etcd), prefix_(std::move(prefix)), window_(window) {}

WatchHub::~WatchHub() {
  stop();
}

namespace {

nlohmann::json parseValue(const std::string& value) {
  auto obj = nlohmann::json::parse(value, nullptr, false);
  return obj.is_discarded() ? nlohmann::json() : obj;
}

}  // namespace

core::Status WatchHub::start() {
  NOVACRON_RETURN_IF_ERROR(relist());
  thread_ = std::thread([this] { run(); });
  return core::okStatus();
}

core::Status WatchHub::relist() {
  NOVACRON_ASSIGN_OR_RETURN(RangeResult all, etcd_.range(prefix_, prefixEnd(prefix_)));
  std::unordered_map<std::string, HubValuePtr> values;
  values.reserve(all.kvs.size());
  for (auto& kv : all.kvs) {
    values.emplace(std::move(kv.key), std::make_shared<const HubValue>(
                                          HubValue{parseValue(kv.value), kv.mod_revision}));
  }
  std::lock_guard<std::mutex> lock(mu_);
  first_seq_ += events_.size();
  events_.clear();
  base_rev_ = all.revision;
  latest_rev_ = all.revision;
  watched_ = std::move(values);
  written_.clear();
  started_ = true;
  wakeAllLocked();  // cursors before the new window are gone: tell their watchers now
  return core::okStatus();
}

void WatchHub::wakeAllLocked() {
  cv_.notify_all();
  for (auto& [prefix, waiters] : waiters_) {
    ++wakeups_[prefix];
    for (auto& w : waiters.members) {
      w->woken = true;
      w->cv.notify_one();
    }
  }
}

bool WatchHub::laggingLocked(uint64_t cursor_seq) const {
  return cursor_seq < first_seq_ || first_seq_ + events_.size() - cursor_seq > window_ / 2;
}

bool WatchHub::concerns(const std::string& prefix, const Interest* interest, const HubEvent& ev) {
  return ev.key.compare(0, prefix.size(), prefix) == 0 && (interest == nullptr || (*interest)(ev));
}

HubValuePtr WatchHub::cached(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_) {
    return nullptr;
  }
  HubValuePtr best;
  if (auto it = watched_.find(key); it != watched_.end()) {
    best = it->second;
  }
  if (auto it = written_.find(key); it != written_.end()) {
    if (!best || it->second->mod_revision > best->mod_revision) {
      best = it->second;
    }
  }
  return best;
}

void WatchHub::wrote(const std::string& key, nlohmann::json obj, int64_t mod_revision) {
  auto value = std::make_shared<const HubValue>(HubValue{std::move(obj), mod_revision});
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_ || mod_revision <= latest_rev_) {
    return;  // the watch already delivered it (or something newer)
  }
  auto& slot = written_[key];
  if (!slot || slot->mod_revision < mod_revision) {
    slot = std::move(value);
  }
}

void WatchHub::stop() {
  stopping_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (watch_) {
      watch_->cancel();
    }
    wakeAllLocked();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void WatchHub::subscribe(std::function<void(const HubEvent&)> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.push_back(std::move(fn));
}

void WatchHub::run() {
  while (!stopping_) {
    int64_t from;
    {
      std::lock_guard<std::mutex> lock(mu_);
      from = latest_rev_ + 1;
    }
    // No prev_kv: the previous value of every key is in watched_.
    auto w = etcd_.watch(prefix_, prefixEnd(prefix_), from, /*prev_kv=*/false);
    if (!w.isOk()) {
      spdlog::warn("watch hub: {}; retrying", w.status().toString());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    EtcdWatch* watch = w->get();
    std::unique_ptr<EtcdWatch> previous;  // ended; destroyed (a gRPC call's teardown) unlocked
    {
      std::lock_guard<std::mutex> lock(mu_);
      previous = std::move(watch_);
      watch_ = std::move(*w);
      if (stopping_) {
        break;
      }
    }
    previous.reset();
    while (!stopping_) {
      auto batch = watch->next();
      if (!batch.isOk()) {
        if (batch.status().code() == core::StatusCode::kGone) {
          // Events were compacted away while we were disconnected: the window has a hole, so
          // start a new one (and list every value again); watchers with older cursors get
          // closed and re-watch.
          spdlog::warn("watch hub: {}; resetting window", batch.status().toString());
          if (auto s = relist(); !s.isOk()) {
            spdlog::warn("watch hub: relisting: {}", s.toString());
          }
        } else if (!stopping_) {
          spdlog::warn("watch hub: {}; reconnecting", batch.status().toString());
        }
        break;
      }
      // A value this process wrote at exactly this revision is already parsed (wrote()).
      std::vector<HubValuePtr> known(batch->size());
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (size_t i = 0; i < batch->size(); ++i) {
          const WatchEvent& e = (*batch)[i];
          if (auto it = written_.find(e.kv.key); !e.is_delete && it != written_.end() &&
                                                 it->second->mod_revision == e.kv.mod_revision) {
            known[i] = it->second;
          }
        }
      }
      std::vector<std::shared_ptr<HubEvent>> parsed;
      parsed.reserve(batch->size());
      for (size_t i = 0; i < batch->size(); ++i) {
        WatchEvent& e = (*batch)[i];
        auto ev = std::make_shared<HubEvent>();
        ev->revision = e.kv.mod_revision;
        ev->is_delete = e.is_delete;
        ev->key = std::move(e.kv.key);
        if (known[i]) {
          ev->cur = std::move(known[i]);
        } else if (!ev->is_delete) {
          ev->cur =
              std::make_shared<const HubValue>(HubValue{parseValue(e.kv.value), e.kv.mod_revision});
        }
        parsed.push_back(std::move(ev));
      }
      std::vector<HubEventPtr> added;
      added.reserve(parsed.size());
      std::vector<std::function<void(const HubEvent&)>> subs;
      std::vector<std::shared_ptr<Waiter>> wake;  // the watchers these events concern
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& ev : parsed) {
          // The previous value, and the store moved on (only this thread changes watched_).
          auto it = watched_.find(ev->key);
          if (it != watched_.end()) {
            ev->prev = it->second;
            ev->has_prev = true;
            if (ev->is_delete) {
              watched_.erase(it);
            } else {
              it->second = ev->cur;
            }
          } else if (!ev->is_delete) {
            watched_.emplace(ev->key, ev->cur);
          }
          if (auto mine = written_.find(ev->key);
              mine != written_.end() &&
              (ev->is_delete || mine->second->mod_revision <= ev->revision)) {
            written_.erase(mine);
          }
          latest_rev_ = std::max(latest_rev_, ev->revision);
          events_.push_back(ev);
          added.push_back(std::move(ev));
        }
        while (events_.size() > window_) {
          int64_t dropped = events_.front()->revision;
          // Drop whole revisions so base_rev_ stays exact.
          while (!events_.empty() && events_.front()->revision == dropped) {
            events_.pop_front();
            ++first_seq_;
          }
          base_rev_ = dropped;
        }
        subs = subscribers_;
        for (auto& [prefix, waiters] : waiters_) {
          bool any = false;
          for (auto& waiter : waiters.members) {
            if (waiter->woken) {
              continue;
            }
            bool wants = laggingLocked(waiter->cursor_seq);
            for (size_t i = 0; i < added.size() && !wants; ++i) {
              wants = concerns(prefix, waiter->interest, *added[i]);
            }
            if (wants) {
              waiter->woken = true;
              wake.push_back(waiter);
              any = true;
            }
          }
          if (any) {
            ++wakeups_[prefix];
          }
        }
      }
      cv_.notify_all();
      for (const auto& waiter : wake) {
        waiter->cv.notify_one();
      }
      for (auto& ev : added) {
        for (auto& fn : subs) {
          fn(*ev);
        }
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    watch_.reset();
  }
}

int WatchHub::waitersOn(const std::string& prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = waiters_.find(prefix);
  return it == waiters_.end() ? 0 : static_cast<int>(it->second.members.size());
}

uint64_t WatchHub::wakeupsOf(const std::string& prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = wakeups_.find(prefix);
  return it == wakeups_.end() ? 0 : it->second;
}

std::optional<WatchHub::Cursor> WatchHub::cursorAfter(int64_t rev) {
  std::lock_guard<std::mutex> lock(mu_);
  if (rev < base_rev_) {
    return std::nullopt;
  }
  auto it = std::upper_bound(events_.begin(), events_.end(), rev,
                             [](int64_t r, const HubEventPtr& e) { return r < e->revision; });
  return Cursor{first_seq_ + static_cast<uint64_t>(it - events_.begin())};
}

core::StatusOr<std::vector<HubEventPtr>> WatchHub::waitNext(
    Cursor& cursor, std::chrono::steady_clock::time_point deadline, int64_t* progress_rev,
    const std::string& prefix, const Interest& interest) {
  std::unique_lock<std::mutex> lock(mu_);
  auto me = std::make_shared<Waiter>();
  me->interest = interest ? &interest : nullptr;
  me->cursor_seq = cursor.seq;
  // Events past the cursor already (they came while the caller handled the last ones) are
  // returned now if one of them would have woken it (its prefix and interest, or half a window
  // behind). Otherwise it sleeps until such an event comes, as if it had been waiting all along:
  // under a steady stream of others' events a selective watcher would never sleep. What it gets
  // when it returns is still every event past its cursor.
  bool ready = laggingLocked(cursor.seq);
  for (size_t i = static_cast<size_t>(cursor.seq - first_seq_); !ready && i < events_.size(); ++i) {
    ready = concerns(prefix, me->interest, *events_[i]);
  }
  if (!ready) {
    std::vector<std::shared_ptr<Waiter>>& members = waiters_[prefix].members;
    members.push_back(me);
    me->cv.wait_until(lock, deadline, [&] { return stopping_.load() || me->woken; });
    std::vector<std::shared_ptr<Waiter>>& now = waiters_[prefix].members;
    now.erase(std::find(now.begin(), now.end(), me));
    if (now.empty()) {
      waiters_.erase(prefix);
    }
  }
  if (stopping_) {
    return core::cancelledError("server stopping");
  }
  if (cursor.seq < first_seq_) {
    return core::goneError("watcher fell behind the event window");
  }
  std::vector<HubEventPtr> out;
  size_t idx = static_cast<size_t>(cursor.seq - first_seq_);
  for (size_t i = idx; i < events_.size() && out.size() < 2048; ++i) {
    out.push_back(events_[i]);
  }
  cursor.seq += out.size();
  if (cursor.seq == first_seq_ + events_.size()) {
    *progress_rev = latest_rev_;
  } else {
    *progress_rev = out.empty() ? base_rev_ : out.back()->revision - 1;
  }
  return out;
}

int64_t WatchHub::latestRevision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_rev_;
}

bool WatchHub::waitForRevision(int64_t rev, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return stopping_.load() || latest_rev_ >= rev; }) &&
         latest_rev_ >= rev;
}

}  // namespace novacron::devapi
