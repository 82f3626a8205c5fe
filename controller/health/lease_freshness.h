// heartbeatFresh(): whether a hypervisor's heartbeat is fresh, as every controller reconciler asks
// it — note the Lease as currently cached (HeartbeatTracker::observe), then ask the tracker.
// Thread-safety: as HeartbeatTracker and ClusterCache (safe from any thread).
#pragma once

#include <string>

#include "controller/cache/cluster_cache.h"
#include "controller/health/heartbeat_tracker.h"

namespace novacron::controller::health {

inline bool heartbeatFresh(HeartbeatTracker& tracker, const ClusterCache& cache,
                           const std::string& hypervisor) {
  auto lease = cache.heartbeat(hypervisor);
  tracker.observe(hypervisor, lease ? std::optional<std::string>(lease->renew_time + "@" +
                                                                 lease->resource_version)
                                    : std::nullopt);
  return tracker.fresh(hypervisor);
}

}  // namespace novacron::controller::health
