// HeartbeatTracker: decides whether a hypervisor's heartbeat Lease is fresh.
//
// Freshness is measured on the controller's own monotonic clock from the moment it OBSERVED the
// Lease change, not from the renewTime the node wrote: clocks of nodes and controller may
// disagree, and a controller that just became leader must not declare every node dead because
// it has not watched long enough (like Kubernetes' node lifecycle controller, it gives each lease
// a full timeout from first sight).
// Thread-safety: all methods are safe from any thread (a mutex guards the table).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "lib/core/clock.h"

namespace novacron::controller::health {

class HeartbeatTracker {
public:
  HeartbeatTracker(core::ClockPtr clock, std::chrono::milliseconds timeout)
      : clock_(std::move(clock)), timeout_(timeout) {}

  // Records the lease as currently seen (nullopt: no lease). Call on every look and from the Lease
  // informer's handler; only a change of `renewal` (e.g. the Lease's renewTime or resourceVersion)
  // counts as a heartbeat. Returns true when this heartbeat ends a stale period (the hypervisor
  // should be reconciled now rather than at its next scheduled look).
  bool observe(std::string_view hypervisor, const std::optional<std::string>& renewal);

  // True while the last observed heartbeat is younger than the timeout. A hypervisor never
  // observed counts as fresh for one timeout from its first observe() (grace after startup).
  bool fresh(std::string_view hypervisor) const;

  // Time until the hypervisor turns stale (zero if it already is): when to look again.
  std::chrono::milliseconds remaining(std::string_view hypervisor) const;

  void forget(std::string_view hypervisor);
  std::chrono::milliseconds timeout() const { return timeout_; }

private:
  struct Seen {
    std::optional<std::string> renewal;
    core::Clock::TimePoint since;  // when `renewal` was first observed
  };

  const core::ClockPtr clock_;
  const std::chrono::milliseconds timeout_;
  mutable std::mutex mu_;
  std::map<std::string, Seen, std::less<>> seen_;  // guarded by mu_
};

}  // namespace novacron::controller::health
