// Names of the NovaCron API: group, version, kinds, plurals, well-known labels, finalizers,
// condition types, and the enumerations used in specs and statuses with their wire spellings.
//
// Every enum E here has `std::string_view toString(E)` and `std::optional<E> fromString<E>(text)`
// (exact, case-sensitive match of the wire spelling), and `enumValues<E>()` lists all wire
// spellings in declaration order (the CRD schema enums are checked against these in tests).
// Thread-safety: constants and pure functions only.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace novacron::api {

inline constexpr std::string_view kGroup = "novacron.io";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "novacron.io/v1alpha1";

inline constexpr std::string_view kVirtualMachineKind = "VirtualMachine";
inline constexpr std::string_view kVMMigrationKind = "VMMigration";
inline constexpr std::string_view kHypervisorKind = "Hypervisor";

inline constexpr std::string_view kVirtualMachinePlural = "virtualmachines";
inline constexpr std::string_view kVMMigrationPlural = "vmmigrations";
inline constexpr std::string_view kHypervisorPlural = "hypervisors";

// Set by the controller on a VirtualMachine bound to a hypervisor (value: the Hypervisor name,
// which is the Kubernetes node name), as a mirror of status.hypervisor. It is only the
// node-daemon's watch filter: the binding itself is status.hypervisor, which VM editors cannot
// write, and a VM runs on a node only when status.hypervisor names it (docs/security.md).
inline constexpr std::string_view kHypervisorLabel = "novacron.io/hypervisor";
// Set on a VMMigration (value: the VM name) so migrations of one VM can be listed by selector.
inline constexpr std::string_view kVmNameLabel = "novacron.io/vm";
// Set by the controller on a VMMigration when it enters Migrating (value: the source Hypervisor):
// the source node-daemon's watch selector.
inline constexpr std::string_view kSourceHypervisorLabel = "novacron.io/source-hypervisor";
// Set together with it (value: the target Hypervisor): the target node-daemon's watch selector (it
// prepares local disks before the source starts, and removes them after an abort).
inline constexpr std::string_view kTargetHypervisorLabel = "novacron.io/target-hypervisor";
// Set on a VMMigration the controller created (value: "evacuation"); unset on users' migrations.
// Migrations with this label wait behind users' ones for a limit slot
// (controller/migration/decide.h).
inline constexpr std::string_view kInitiatorLabel = "novacron.io/initiator";
inline constexpr std::string_view kInitiatorEvacuation = "evacuation";
// Set together with it on an evacuation VMMigration (value: the Hypervisor in maintenance).
inline constexpr std::string_view kEvacuatingHypervisorLabel = "novacron.io/evacuating-hypervisor";
// Set by the controller on a VirtualMachine it stopped for an evacuation (evictionStrategy None;
// value: the runStrategy it had), so clearing maintenance gives the VM its runStrategy back.
inline constexpr std::string_view kEvacuationStoppedAnnotation = "novacron.io/evacuation-stopped";
// The well-known Kubernetes topology label on a Hypervisor: migration targets in the source's zone
// are preferred (controller/scheduler/target_preference.h).
inline constexpr std::string_view kZoneLabel = "topology.kubernetes.io/zone";

// Held by the node-daemon while a VM has node-side resources (libvirt domain, disks) on its node.
inline constexpr std::string_view kNodeCleanupFinalizer = "novacron.io/node-cleanup";
// Set to "true" on a VirtualMachine to pause its domain; remove (or "false") to resume.
inline constexpr std::string_view kPausedAnnotation = "novacron.io/paused";
// Set to "true" on a Hypervisor by an administrator to confirm the host is fenced (powered off or
// isolated): the controller may then fail its VMs over, and its node-daemon destroys its domains
// and stays away until the annotation is removed (docs/security.md).
inline constexpr std::string_view kFencedAnnotation = "novacron.io/fenced";
// Set to "true" on a VirtualMachine being deleted whose hypervisor is fenced or gone: the
// controller then releases the node-daemon's finalizer itself (the disks on that node are
// abandoned).
inline constexpr std::string_view kForceDeleteAnnotation = "novacron.io/force-delete";
// Set by the controller on a VirtualMachine it fails over from a fenced or deleted hypervisor: the
// node that still holds the VM's old domain and disks (and granted its novacron.io/node-cleanup
// finalizer). Deleting an unbound VM releases that finalizer only while this node is fenced or
// gone.
inline constexpr std::string_view kResourcesOnAnnotation = "novacron.io/node-resources-on";
// Set by the controller on a VMMigration together with spec.cancel when it aborts the migration
// for a reason of its own ("ColdMigrationTimeout: ..."): the source node-daemon then reports the
// abort as Failed with this text as failureReason instead of Cancelled.
inline constexpr std::string_view kAbortReasonAnnotation = "novacron.io/abort-reason";
// Held by the controller while it has cluster-side bookkeeping for an object (ledger, migration).
inline constexpr std::string_view kControllerFinalizer = "novacron.io/controller";

// Condition types (metav1.Condition.type); docs/api.md says who sets each and what it means.
//   VirtualMachine: Ready, Scheduled, Migratable, Migrating, HypervisorUnreachable, Valid.
//   VMMigration:    Progressing, Succeeded.
//   Hypervisor:     Ready, Schedulable, KVMAvailable, Evacuating, Evacuated.
inline constexpr std::string_view kConditionReady = "Ready";
inline constexpr std::string_view kConditionScheduled = "Scheduled";
inline constexpr std::string_view kConditionMigratable = "Migratable";
// VirtualMachine, controller: True/Migrating while status.activeMigration is set (the message names
// the VMMigration and the target); False/Succeeded|Failed|Cancelled after it.
inline constexpr std::string_view kConditionMigrating = "Migrating";
inline constexpr std::string_view kConditionHypervisorUnreachable = "HypervisorUnreachable";
// False when the spec fails validate() (reason InvalidSpec, message lists every field error).
inline constexpr std::string_view kConditionValid = "Valid";
inline constexpr std::string_view kConditionSchedulable = "Schedulable";
inline constexpr std::string_view kConditionKvmAvailable = "KVMAvailable";
// Hypervisor, controller, while spec.maintenance is set (controller/evacuation/): Evacuating
// True while VMs are still to leave, Evacuated True once none is left to move.
inline constexpr std::string_view kConditionEvacuating = "Evacuating";
inline constexpr std::string_view kConditionEvacuated = "Evacuated";
// VMMigration: True while data is moving, False (reason Succeeded/Failed/Cancelled) when done.
inline constexpr std::string_view kConditionProgressing = "Progressing";
inline constexpr std::string_view kConditionSucceeded = "Succeeded";
// VMMigration, target node-daemon: True when the target is ready for the source to start (reason
// StoragePrepared: local disks made, copy them along; SharedStorage: nothing to copy); False
// (reason CleanedUp) once it removed what it prepared after a failed or cancelled migration.
inline constexpr std::string_view kConditionTargetPrepared = "TargetPrepared";

// metav1.Condition.status
enum class ConditionStatus { kTrue, kFalse, kUnknown };

// VirtualMachine.spec.runStrategy
enum class RunStrategy { kAlways, kRerunOnFailure, kManual, kHalted, kOnce };
// VirtualMachine.spec.firmware
enum class Firmware { kBios, kUefi };
// VirtualMachine.spec.disks[].bus
enum class DiskBus { kVirtio, kSata };
// VirtualMachine.spec.networks[].type
enum class NetworkType { kNat, kBridge };
// VirtualMachine.spec.evictionStrategy
enum class EvictionStrategy { kLiveMigrate, kLiveMigrateIfPossible, kShutdown, kNone };
// VirtualMachine.status.phase
enum class VirtualMachinePhase {
  kPending,
  kScheduling,
  kScheduled,
  kStarting,
  kRunning,
  kPaused,
  kStopping,
  kStopped,
  kMigrating,
  kFailed,
  kUnknown,
};

// VMMigration.spec.mode
enum class MigrationMode { kLive, kCold };
// VMMigration.spec.options.compression
enum class MigrationCompression { kNone, kXbzrle, kZstd };
// VMMigration.spec.options.copyStorage
enum class CopyStorage { kAuto, kAlways, kNever };
// VMMigration.status.phase
enum class MigrationPhase {
  kPending,
  kScheduling,
  kPreparing,
  kMigrating,
  kFinalizing,
  kSucceeded,
  kFailed,
  kCancelled,
  // spec.dryRun only: the controller chose a target and waits for the source node-daemon's dirty
  // rate measurement; then Planned (terminal) with status.plan filled. Nothing moves.
  kPlanning,
  kPlanned,
};
// VMMigration status.plan.forecast.strategy / status.forecast.strategy: how the live migration
// reaches its switch-over (controller/migration/forecast.h).
enum class MigrationStrategy { kPreCopy, kAutoConverge, kPostCopy };

// Hypervisor.status.virtualization
enum class Virtualization { kKvm, kEmulated };

std::string_view toString(ConditionStatus value);
std::string_view toString(RunStrategy value);
std::string_view toString(Firmware value);
std::string_view toString(DiskBus value);
std::string_view toString(NetworkType value);
std::string_view toString(EvictionStrategy value);
std::string_view toString(VirtualMachinePhase value);
std::string_view toString(MigrationMode value);
std::string_view toString(MigrationCompression value);
std::string_view toString(CopyStorage value);
std::string_view toString(MigrationPhase value);
std::string_view toString(MigrationStrategy value);
std::string_view toString(Virtualization value);

// fromString<E>("Running") -> E::kRunning; nullopt for anything else.
template <typename E>
std::optional<E> fromString(std::string_view text);
// All wire spellings of E, in declaration order.
template <typename E>
std::span<const std::string_view> enumValues();

// True for the terminal migration phases (Succeeded, Failed, Cancelled, Planned).
bool isTerminal(MigrationPhase phase);

#define NOVACRON_API_DECLARE_ENUM(E)                     \
  template <>                                            \
  std::optional<E> fromString<E>(std::string_view text); \
  template <>                                            \
  std::span<const std::string_view> enumValues<E>();
NOVACRON_API_DECLARE_ENUM(ConditionStatus)
NOVACRON_API_DECLARE_ENUM(RunStrategy)
NOVACRON_API_DECLARE_ENUM(Firmware)
NOVACRON_API_DECLARE_ENUM(DiskBus)
NOVACRON_API_DECLARE_ENUM(NetworkType)
NOVACRON_API_DECLARE_ENUM(EvictionStrategy)
NOVACRON_API_DECLARE_ENUM(VirtualMachinePhase)
NOVACRON_API_DECLARE_ENUM(MigrationMode)
NOVACRON_API_DECLARE_ENUM(MigrationCompression)
NOVACRON_API_DECLARE_ENUM(CopyStorage)
NOVACRON_API_DECLARE_ENUM(MigrationPhase)
NOVACRON_API_DECLARE_ENUM(MigrationStrategy)
NOVACRON_API_DECLARE_ENUM(Virtualization)
#undef NOVACRON_API_DECLARE_ENUM

}  // namespace novacron::api
