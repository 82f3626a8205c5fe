// Hypervisor (novacron.io/v1alpha1, cluster-scoped; name = Kubernetes node name): one per KVM node.
// Spec written by operators (cordon, maintenance, overcommit, migration settings); status written
// by the node-daemon (facts about the host, heartbeat) and the controller (capacity ledger,
// Schedulable). docs/api.md lists which component writes which field.
//
// Conventions as in virtual_machine.h.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "lib/api/quantity.h"
#include "lib/api/unknown_fields.h"

namespace novacron::api {

inline constexpr int32_t kDefaultMaxInboundMigrations = 2;
inline constexpr int32_t kDefaultMaxOutboundMigrations = 2;
inline constexpr double kMaxCpuOvercommit = 16.0;
inline constexpr double kMaxMemoryOvercommit = 4.0;
inline constexpr int32_t kMaxConcurrentMigrations = 16;  // maxInbound / maxOutbound

// Per-hypervisor overcommit ratios, applied once, by the controller's scheduler: the schedulable
// limit is status.allocatable * ratio. An unset field (no schema default) means "the controller's
// configured scheduler.defaultOvercommit for that resource" (cpu 4, memory 1 unless configured).
struct Overcommit {
  std::optional<double> cpu;     // vCPUs per allocatable host CPU; 1..16
  std::optional<double> memory;  // guest memory per allocatable host byte; 1..4
  UnknownFields unknownFields;
  bool operator==(const Overcommit&) const = default;
};

struct HypervisorMigrationSpec {
  // host or host:port other hypervisors use to reach this one for migration traffic; unset: the
  // node's InternalIP.
  std::optional<std::string> address;
  int32_t maxInbound = kDefaultMaxInboundMigrations;    // 0..16
  int32_t maxOutbound = kDefaultMaxOutboundMigrations;  // 0..16
  UnknownFields unknownFields;
  bool operator==(const HypervisorMigrationSpec&) const = default;
};

struct HypervisorSpec {
  bool unschedulable = false;  // cordon: no new VMs are placed here
  bool maintenance = false;    // evacuate VMs per their evictionStrategy; implies unschedulable
  std::optional<Overcommit> overcommit;
  std::optional<HypervisorMigrationSpec> migration;
  UnknownFields unknownFields;
  bool operator==(const HypervisorSpec&) const = default;
};

struct HypervisorResources {
  int32_t cpus = 0;
  Quantity memory;
  // Disk space of the node's VM root (the filesystem VM disks are created in); unset when the
  // node-daemon does not report it (then the scheduler does not check disk space there).
  std::optional<Quantity> storage;
  UnknownFields unknownFields;
  bool operator==(const HypervisorResources&) const = default;
};

// The capacity ledger: the sum over VMs bound to this hypervisor (recomputed by the controller).
struct HypervisorAllocated {
  int32_t cpus = 0;
  Quantity memory;
  int32_t vms = 0;
  std::optional<Quantity> storage;  // sum of the VMs' counted disk sizes (unset when zero)
  UnknownFields unknownFields;
  bool operator==(const HypervisorAllocated&) const = default;
};

struct ActiveMigrations {
  int32_t inbound = 0;
  int32_t outbound = 0;
  UnknownFields unknownFields;
  bool operator==(const ActiveMigrations&) const = default;
};

// A VM that an evacuation cannot move, and why (controller/evacuation/).
struct EvacuationBlocker {
  std::string vm;      // namespace/name
  std::string reason;  // CamelCase: InsufficientCapacity, NotLiveMigratable, Cancelled, ...
  std::optional<std::string> message;
  UnknownFields unknownFields;
  bool operator==(const EvacuationBlocker&) const = default;
};

// Progress of the evacuation while spec.maintenance is set (controller). total = migrated +
// stopped + pending + blocked.size().
struct EvacuationStatus {
  int32_t total = 0;
  int32_t migrated = 0;  // moved away by an evacuation VMMigration
  int32_t stopped = 0;   // stopped and left here (evictionStrategy None)
  int32_t pending = 0;   // still to move or stop (migration queued or running, VM stopping)
  std::vector<EvacuationBlocker> blocked;
  UnknownFields unknownFields;
  bool operator==(const EvacuationStatus&) const = default;
};

// Migration throughput measured from this hypervisor to `target` (controller, from the last
// Succeeded VMMigration between them: data sent / migration time).
struct MigrationBandwidth {
  std::string target;
  int64_t bytesPerSecond = 0;
  std::optional<Timestamp> observedTime;
  UnknownFields unknownFields;
  bool operator==(const MigrationBandwidth&) const = default;
};

struct HypervisorStatus {
  std::optional<HypervisorResources> capacity;     // node-daemon: host cpus and memory
  std::optional<HypervisorResources> allocatable;  // node-daemon: capacity - host reservation
  std::optional<HypervisorAllocated> allocated;    // controller: the ledger's totals
  // controller: the capacity ledger itself, status.allocations (a list, one entry per VM bound or
  // reserved here; controller/ledger/ledger.h), kept as its compact JSON text: the controller
  // decodes it once per version (controller/ledger/ledger_memo.h), everything else passes it on
  // untouched. Written together with `allocated`, so the totals never lag behind the ledger.
  std::optional<std::string> allocations;
  std::optional<std::string> cpuModel;
  std::vector<std::string> cpuFeatures;
  std::optional<Virtualization> virtualization;
  std::optional<std::string> libvirtVersion;
  std::optional<std::string> qemuVersion;
  std::optional<int64_t> observedGeneration;
  std::vector<Condition> conditions;
  std::optional<Timestamp> lastHeartbeatTime;
  std::optional<ActiveMigrations> activeMigrations;
  std::optional<EvacuationStatus> evacuation;          // controller
  std::vector<MigrationBandwidth> migrationBandwidth;  // controller; one entry per target
  UnknownFields unknownFields;
  bool operator==(const HypervisorStatus&) const = default;
};

struct Hypervisor {
  ObjectMeta metadata;
  HypervisorSpec spec;
  HypervisorStatus status;
  UnknownFields unknownFields;
  bool operator==(const Hypervisor&) const = default;
};

// True when an administrator confirmed the host fenced (annotation novacron.io/fenced=true).
bool isFenced(const Hypervisor& hypervisor);

// "2/8" and "3Gi/16Gi" as shown in the printer columns (status.summary, computed on encode from
// allocated and allocatable; empty when either is unset). allocatable excludes overcommit, so with
// a ratio above 1 the allocated side may exceed it (e.g. "20/16" at cpu ratio 4).
std::string cpuSummary(const HypervisorStatus& status);
std::string memorySummary(const HypervisorStatus& status);
// Bytes in the largest binary unit with at most one decimal ("8.6Gi", "128Mi", "512").
std::string readableBytes(int64_t bytes);

}  // namespace novacron::api
