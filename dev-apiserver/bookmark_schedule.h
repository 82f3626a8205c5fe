// BookmarkSchedule: when a watch with allowWatchBookmarks gets a BOOKMARK and which
// resourceVersion it carries, decided as kube-apiserver's watch cache (the cacher) decides:
//   - a bookmark is due every `interval` (kube: one minute) and once 2 s before the watch's
//     deadline; a watch shorter than that gets no pre-timeout bookmark;
//   - it carries the revision of the last change to the resource the server has seen (any
//     namespace, any selector: the cacher is per resource), and is dropped unless that revision is
//     newer than the revision the watch started from. A watch that sees no change to its resource
//     therefore gets no bookmark at all.
// Pure logic over time points the caller passes in, so it is unit-tested without waiting.
//
// Thread-safety: none; one instance belongs to one watch's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace novacron::devapi {

class BookmarkSchedule {
public:
  using Clock = std::chrono::steady_clock;
  // kube-apiserver sends its last bookmark this long before a watch's deadline.
  static constexpr std::chrono::seconds kPreTimeout{2};

  BookmarkSchedule(Clock::time_point now, Clock::time_point deadline,
                   std::chrono::milliseconds interval, int64_t start_revision);

  // When the next bookmark is due; nullopt when none is left.
  std::optional<Clock::time_point> due() const { return due_; }
  // A change to the watched resource at `revision` (whether or not it matched the selectors).
  void observe(int64_t revision);
  // Call once `now` >= due(): the revision to send, or nullopt when the bookmark is dropped.
  // Schedules the next one either way.
  std::optional<int64_t> fire(Clock::time_point now);

private:
  std::optional<Clock::time_point> nextAfter(Clock::time_point now) const;

  const Clock::time_point deadline_;
  const std::chrono::milliseconds interval_;
  const int64_t start_revision_;
  int64_t last_revision_ = 0;
  std::optional<Clock::time_point> due_;
};

}  // namespace novacron::devapi
