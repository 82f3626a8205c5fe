#include "dev-apiserver/bookmark_schedule.h"

#include <algorithm>

namespace novacron::devapi {

BookmarkSchedule::BookmarkSchedule(Clock::time_point now, Clock::time_point deadline,
                                   std::chrono::milliseconds interval, int64_t start_revision)
    : deadline_(deadline), interval_(interval), start_revision_(start_revision) {
  due_ = nextAfter(now);
}

void BookmarkSchedule::observe(int64_t revision) {
  last_revision_ = std::max(last_revision_, revision);
}

std::optional<int64_t> BookmarkSchedule::fire(Clock::time_point now) {
  const bool was_pre_timeout = due_ && *due_ == deadline_ - kPreTimeout;
  due_ = was_pre_timeout ? std::nullopt : nextAfter(now);
  if (last_revision_ <= start_revision_) {
    return std::nullopt;
  }
  return last_revision_;
}

// kube's cacheWatcher.nextBookmarkTime: the next heartbeat, but no later than the pre-timeout
// point, and none once that point has passed.
std::optional<BookmarkSchedule::Clock::time_point> BookmarkSchedule::nextAfter(
    Clock::time_point now) const {
  const auto pre_timeout = deadline_ - kPreTimeout;
  const auto next = std::min(now + interval_, pre_timeout);
  if (next < now) {
    return std::nullopt;
  }
  return next;
}

}  // namespace novacron::devapi
