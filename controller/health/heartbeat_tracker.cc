#include "controller/health/heartbeat_tracker.h"

namespace novacron::controller::health {

bool HeartbeatTracker::observe(std::string_view hypervisor,
                               const std::optional<std::string>& renewal) {
  std::lock_guard lock(mu_);
  const auto now = clock_->now();
  auto it = seen_.find(hypervisor);
  if (it == seen_.end()) {
    seen_.emplace(std::string(hypervisor), Seen{renewal, now});
    return false;
  }
  if (renewal && renewal != it->second.renewal) {
    const bool was_stale = now - it->second.since >= timeout_;
    it->second = Seen{renewal, now};
    return was_stale;
  }
  return false;
}

bool HeartbeatTracker::fresh(std::string_view hypervisor) const {
  return remaining(hypervisor) > std::chrono::milliseconds(0);
}

std::chrono::milliseconds HeartbeatTracker::remaining(std::string_view hypervisor) const {
  std::lock_guard lock(mu_);
  auto it = seen_.find(hypervisor);
  if (it == seen_.end()) {
    return timeout_;
  }
  auto age =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_->now() - it->second.since);
  return age >= timeout_ ? std::chrono::milliseconds(0) : timeout_ - age;
}

void HeartbeatTracker::forget(std::string_view hypervisor) {
  std::lock_guard lock(mu_);
  auto it = seen_.find(hypervisor);
  if (it != seen_.end()) {
    seen_.erase(it);
  }
}

}  // namespace novacron::controller::health
