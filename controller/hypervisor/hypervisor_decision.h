// The Hypervisor reconciler's decide step: pure functions from a Hypervisor (as stored, with its
// ledger) and the heartbeat's freshness to the controller's part of its status
// (docs/architecture.md, "Who writes what"): status.allocations (the ledger, where the object has
// none in status yet) and status.allocated (its totals), Ready only
// for heartbeat timeout and resumption (Unknown/HeartbeatTimeout, True/HeartbeatResumed), and
// Schedulable. Every other status field is the node-daemon's and passes through unchanged.
// The only input besides their arguments is the clock, read for condition transition times.
// Thread-safety: pure functions.
#pragma once

#include <chrono>

#include "lib/api/hypervisor.h"
#include "lib/core/clock.h"

namespace novacron::controller {

struct HypervisorHealthFacts {
  bool heartbeat_fresh = true;
  std::chrono::milliseconds heartbeat_timeout{40000};
};

// The status the controller wants `hv` to have. Equal to hv.status when nothing needs writing.
api::HypervisorStatus decideHypervisorStatus(const api::Hypervisor& hv,
                                             const HypervisorHealthFacts& health,
                                             const core::Clock& clock);

}  // namespace novacron::controller
