// AssumedHypervisors: Hypervisors as this process last wrote or read them live, newer than the
// informer's copy until the informer catches up. Placement decisions made in between see our own
// reservations (kube-scheduler's "assume" step) instead of piling onto the same hypervisor.
// resourceVersions are opaque to clients, but every etcd-backed server hands out increasing
// integers; an unparsable one counts as oldest so the informer's copy wins.
// Thread-safety: all methods are safe from any thread (a mutex guards the table).
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "controller/cache/cluster_cache.h"

namespace novacron::controller {

class AssumedHypervisors {
public:
  // The newer of `cached` and the assumed copy; forgets the assumed copy once the cache caught up.
  HypervisorPtr freshest(const HypervisorPtr& cached);
  // Remembers `hypervisor` unless a newer copy is already assumed.
  void assume(api::Hypervisor hypervisor);

private:
  std::mutex mu_;
  std::map<std::string, HypervisorPtr> assumed_;  // guarded by mu_; name -> newer copy
};

}  // namespace novacron::controller
