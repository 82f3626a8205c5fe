#include "dev-apiserver/watch_hub.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace novacron::devapi {

WatchHub::WatchHub(EtcdClient& etcd, std::string prefix, size_t window)
    : etcd_(etcd), prefix_(std::move(prefix)), window_(window) {}

WatchHub::~WatchHub() {
  stop();
}

core::Status WatchHub::start() {
  NOVACRON_ASSIGN_OR_RETURN(int64_t rev, etcd_.currentRevision());
  {
    std::lock_guard<std::mutex> lock(mu_);
    base_rev_ = rev;
    latest_rev_ = rev;
  }
  thread_ = std::thread([this] { run(); });
  return core::okStatus();
}

void WatchHub::stop() {
  stopping_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (watch_) {
      watch_->cancel();
    }
  }
  cv_.notify_all();
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
    auto w = etcd_.watch(prefix_, prefixEnd(prefix_), from);
    if (!w.isOk()) {
      spdlog::warn("watch hub: {}; retrying", w.status().toString());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    EtcdWatch* watch = w->get();
    {
      std::lock_guard<std::mutex> lock(mu_);
      watch_ = std::move(*w);
      if (stopping_) {
        break;
      }
    }
    while (!stopping_) {
      auto batch = watch->next();
      if (!batch.isOk()) {
        if (batch.status().code() == core::StatusCode::kGone) {
          // Events were compacted away while we were disconnected: the window has a hole, so
          // start a new one; watchers with older cursors get closed and re-watch.
          spdlog::warn("watch hub: {}; resetting window", batch.status().toString());
          auto rev = etcd_.currentRevision();
          std::lock_guard<std::mutex> lock(mu_);
          first_seq_ += events_.size();
          events_.clear();
          if (rev.isOk()) {
            base_rev_ = *rev;
            latest_rev_ = *rev;
          }
        } else if (!stopping_) {
          spdlog::warn("watch hub: {}; reconnecting", batch.status().toString());
        }
        break;
      }
      std::vector<HubEventPtr> added;
      for (auto& e : *batch) {
        auto ev = std::make_shared<HubEvent>();
        ev->revision = e.kv.mod_revision;
        ev->is_delete = e.is_delete;
        ev->key = e.kv.key;
        ev->value = e.kv.value;
        if (e.prev_kv) {
          ev->prev_value = e.prev_kv->value;
          ev->has_prev = true;
          ev->prev_obj = nlohmann::json::parse(ev->prev_value, nullptr, false);
          if (ev->prev_obj.is_discarded()) {
            ev->prev_obj = nullptr;
          }
        }
        if (!ev->is_delete) {
          ev->obj = nlohmann::json::parse(ev->value, nullptr, false);
          if (ev->obj.is_discarded()) {
            ev->obj = nullptr;
          }
        }
        added.push_back(std::move(ev));
      }
      std::vector<std::function<void(const HubEvent&)>> subs;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& ev : added) {
          latest_rev_ = std::max(latest_rev_, ev->revision);
          events_.push_back(ev);
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
      }
      cv_.notify_all();
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
    Cursor& cursor, std::chrono::steady_clock::time_point deadline, int64_t* progress_rev) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, deadline, [&] {
    return stopping_.load() || first_seq_ + events_.size() > cursor.seq || cursor.seq < first_seq_;
  });
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
