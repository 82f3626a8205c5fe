// The scheduler's own view of the world: plain structs, independent of the API types, so the
// placement logic can be tested and benchmarked without an API server. controller/vm/ builds these
// from Hypervisor and VirtualMachine objects (see placement_inputs.h there).
// Thread-safety: plain values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/scheduler/resources.h"

namespace novacron::controller::scheduler {

// A hypervisor's own overcommit ratios; nullopt: the scheduler's configured default for it.
struct OvercommitOverrides {
  std::optional<Ratio> cpu;
  std::optional<Ratio> memory;

  friend bool operator==(const OvercommitOverrides&, const OvercommitOverrides&) = default;
};

struct HypervisorView {
  std::string name;
  std::map<std::string, std::string> labels;
  bool ready = false;          // Ready condition is True (heartbeat fresh)
  bool unschedulable = false;  // spec.unschedulable (cordoned)
  bool maintenance = false;    // spec.maintenance
  // status.allocatable (or capacity when allocatable is unset): host resources minus the host
  // reservation, before any overcommit.
  Resources capacity;
  Resources allocated;  // the capacity ledger: everything bound or reserved here
  // status.allocatable.storage (or capacity.storage): disk space for VM disks, no overcommit.
  // Unset when the node-daemon does not report it: disk space is not checked there.
  std::optional<int64_t> storage_capacity_bytes;
  // spec.overcommit, per resource; each unset field uses SchedulerOptions::default_overcommit.
  // Scheduler::effectiveCapacityOf applies the ratio to capacity exactly once.
  OvercommitOverrides overcommit;
  // antiAffinityGroup of every VM bound or reserved here (one entry per VM; order irrelevant).
  std::vector<std::string> anti_affinity_groups;
};

struct VmRequest {
  Resources resources;
  std::map<std::string, std::string> hypervisor_selector;  // all must match the labels
  std::string anti_affinity_group;                         // empty: none
  std::string pinned_hypervisor;                           // empty: any
};

}  // namespace novacron::controller::scheduler
