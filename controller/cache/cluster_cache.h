// ClusterCache: the read side of the controller. Reconcilers read the cluster only through this
// interface (cached, possibly stale, never modified: snapshots are shared_ptr<const T>) and write
// only through kube::Client with resourceVersion preconditions. The production implementation sits
// on lib/runtime informers (informer_cluster_cache.h); tests use a simple in-memory one.
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/api/hypervisor.h"
#include "lib/api/virtual_machine.h"
#include "lib/api/vm_migration.h"

namespace novacron::controller {

using HypervisorPtr = std::shared_ptr<const api::Hypervisor>;
using VirtualMachinePtr = std::shared_ptr<const api::VirtualMachine>;
using VMMigrationPtr = std::shared_ptr<const api::VMMigration>;

// What the controller needs from a heartbeat Lease (coordination.k8s.io/v1, namespace
// novacron-node-lease, name = Hypervisor name): a value that changes on every renewal.
struct LeaseSnapshot {
  std::string resource_version;
  std::string renew_time;  // spec.renewTime as written by the node-daemon
};

// Which Hypervisors changed (added, updated, deleted) since a cursor; see hypervisorChanges().
struct HypervisorChanges {
  uint64_t cursor = 0;  // pass it to the next call
  // Unset: not known (first call, a cursor too old, or a cache that does not keep a log): look at
  // every Hypervisor.
  std::optional<std::vector<std::string>> names;
};

class ClusterCache {
public:
  virtual ~ClusterCache() = default;

  // True once every watched collection has been listed; never act on absence before that.
  virtual bool synced() const = 0;

  virtual std::vector<HypervisorPtr> hypervisors() const = 0;
  virtual HypervisorPtr hypervisor(std::string_view name) const = 0;
  // The names of the Hypervisors changed after `cursor` (0: unknown, or a cursor returned by an
  // earlier call), so that a consumer keeping state per Hypervisor (PlacementState) re-reads only
  // those instead of every Hypervisor per decision. A change is reported only once the cache
  // holds it: reading hypervisor(name) after this call sees it (or a later one). The default
  // knows nothing: every call says "look at all of them".
  virtual HypervisorChanges hypervisorChanges(uint64_t cursor) const {
    (void)cursor;
    return {};
  }

  // key: "namespace/name".
  virtual VirtualMachinePtr vm(std::string_view key) const = 0;
  // VMs whose label novacron.io/hypervisor equals `hypervisor`.
  virtual std::vector<VirtualMachinePtr> vmsOn(std::string_view hypervisor) const = 0;
  // Every VM without that label (the scheduler's queue).
  virtual std::vector<VirtualMachinePtr> unboundVms() const = 0;

  // Every VMMigration (all namespaces), and one by "namespace/name".
  virtual std::vector<VMMigrationPtr> migrations() const = 0;
  virtual VMMigrationPtr migration(std::string_view key) const = 0;

  virtual std::optional<LeaseSnapshot> heartbeat(std::string_view hypervisor) const = 0;
};

// "namespace/name" of an object.
std::string vmKey(const api::VirtualMachine& vm);

}  // namespace novacron::controller
