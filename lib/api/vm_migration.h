// VMMigration (novacron.io/v1alpha1, namespaced): a request to move one VirtualMachine to another
// Hypervisor, and the record of how that went. Spec written by users (or the controller when it
// evacuates a hypervisor); status written by the controller and the source node-daemon.
//
// Conventions as in virtual_machine.h: defaulted fields are plain values, other optional fields are
// std::optional and omitted when unset.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "lib/api/unknown_fields.h"

namespace novacron::api {

inline constexpr int64_t kDefaultMaxDowntimeMs = 300;
inline constexpr int64_t kDefaultCompletionTimeoutPerGiBSeconds = 150;
inline constexpr int64_t kDefaultProgressTimeoutSeconds = 150;
inline constexpr int64_t kMaxBandwidthMiBps = 100000;
inline constexpr int64_t kMaxDowntimeMs = 60000;
inline constexpr int32_t kMaxPostCopyAfterIterations = 100;
inline constexpr int64_t kMaxMigrationTimeoutSeconds = 86400;

struct PostCopyOptions {
  bool enabled = false;
  // Switch to post-copy after this many pre-copy iterations (default: when pre-copy stalls).
  std::optional<int32_t> afterIterations;
  UnknownFields unknownFields;
  bool operator==(const PostCopyOptions&) const = default;
};

struct MigrationOptions {
  std::optional<int64_t> bandwidthMiBps;  // unset = unlimited
  int64_t maxDowntimeMs = kDefaultMaxDowntimeMs;
  bool autoConverge = false;
  std::optional<PostCopyOptions> postCopy;
  MigrationCompression compression = MigrationCompression::kNone;
  CopyStorage copyStorage = CopyStorage::kAuto;
  // The migration fails when it runs longer than this many seconds per GiB of guest memory.
  int64_t completionTimeoutPerGiBSeconds = kDefaultCompletionTimeoutPerGiBSeconds;
  // The migration fails when the remaining data has not shrunk for this many seconds.
  int64_t progressTimeoutSeconds = kDefaultProgressTimeoutSeconds;
  bool tls = false;
  UnknownFields unknownFields;
  bool operator==(const MigrationOptions&) const = default;
};

struct VMMigrationSpec {
  std::string vmName;                           // a VirtualMachine in the same namespace
  std::optional<std::string> targetHypervisor;  // unset: the scheduler picks
  MigrationMode mode = MigrationMode::kLive;
  MigrationOptions options;
  bool cancel = false;  // deleting the VMMigration cancels it too
  // Plan only (docs/migration.md, "Plans"): nothing moves, nothing is reserved, no limit is
  // counted; status.plan is filled and the migration ends in phase Planned.
  bool dryRun = false;
  UnknownFields unknownFields;
  bool operator==(const VMMigrationSpec&) const = default;
};

struct MigrationProgress {
  int32_t percent = 0;  // 0..100; never goes backwards
  std::optional<int64_t> dataTotalBytes;
  std::optional<int64_t> dataProcessedBytes;
  std::optional<int64_t> dataRemainingBytes;
  std::optional<int64_t> dirtyRateBytesPerSecond;
  std::optional<int64_t> iteration;  // pre-copy pass (libvirt memory_iteration)
  std::optional<int64_t> etaSeconds;
  std::optional<int64_t> downtimeMs;  // measured at the end
  std::optional<int64_t> elapsedMs;   // libvirt's total time of the completed job
  UnknownFields unknownFields;
  bool operator==(const MigrationProgress&) const = default;
};

// What the target node-daemon prepared (written by it with condition TargetPrepared): its roots,
// so the source can rewrite the domain's file paths for the target (the layout below the roots is
// the same on every node, node-daemon/storage/paths.h), and whether local disks are copied.
struct MigrationTargetStorage {
  bool copy = false;      // the target made local disks: copy the source's along
  std::string vmRoot;     // the target node-daemon's --vm-root
  std::string imageRoot;  // its --image-root
  UnknownFields unknownFields;
  bool operator==(const MigrationTargetStorage&) const = default;
};

// A forecast of a live migration (controller/migration/forecast.h), from the guest's memory, the
// disks to copy, its dirty rate and the bandwidth. Written by the controller: in status.plan of a
// dry run, and in status.forecast of a real migration when it starts (next to the measured
// progress, so the forecast's error shows).
struct MigrationForecast {
  int64_t totalMs = 0;     // data starts moving .. the guest runs on the target
  int64_t downtimeMs = 0;  // the switch-over pause
  int64_t iterations = 0;  // pre-copy passes
  int64_t bytesToSend = 0;
  MigrationStrategy strategy = MigrationStrategy::kPreCopy;
  MigrationCompression compression = MigrationCompression::kNone;
  bool converges = false;  // within spec.options.completionTimeoutPerGiBSeconds
  std::string verdict;     // for humans: "will converge ..." / "will not converge ..."
  // The inputs the model used.
  int64_t dirtyRateBytesPerSecond = 0;
  int64_t bandwidthBytesPerSecond = 0;
  UnknownFields unknownFields;
  bool operator==(const MigrationForecast&) const = default;
};

// Free resources on the target once the VM would be there: its schedulable capacity (allocatable
// with overcommit) minus everything bound or reserved there minus this VM.
struct PlanCapacity {
  int64_t cpus = 0;
  int64_t memoryBytes = 0;
  std::optional<int64_t> storageBytes;  // unset when the target reports no disk space
  UnknownFields unknownFields;
  bool operator==(const PlanCapacity&) const = default;
};

// status.plan of a dry run (spec.dryRun). The controller writes the target, capacity, CPU and
// byte figures, then the forecast; the source node-daemon writes the dirty rate measurement.
struct MigrationPlan {
  // controller
  std::optional<std::string> targetHypervisor;
  std::optional<std::string> targetReason;  // why this target
  std::optional<PlanCapacity> targetCapacityAfter;
  bool cpuCompatible = true;
  std::optional<std::string> cpuCompatibility;  // what the target lacks, when incompatible
  int64_t memoryBytes = 0;                      // guest memory
  int64_t diskBytes = 0;                        // local disks copied along (copyStorage)
  int64_t bandwidthBytesPerSecond = 0;          // what the forecast assumes
  std::optional<std::string> bandwidthSource;   // where that figure comes from
  // source node-daemon
  std::optional<int64_t> dirtyRateBytesPerSecond;
  std::optional<Timestamp> dirtyRateMeasuredTime;
  std::optional<std::string> dirtyRateError;  // the measurement failed; the forecast assumes 0
  // controller, once the measurement is in
  std::optional<MigrationForecast> forecast;
  UnknownFields unknownFields;
  bool operator==(const MigrationPlan&) const = default;
};

struct VMMigrationStatus {
  std::optional<MigrationPhase> phase;
  std::optional<std::string> sourceHypervisor;
  std::optional<std::string> targetHypervisor;
  // host or host:port of the target for migration traffic (the target Hypervisor's
  // spec.migration.address, resolved by the controller so the source node-daemon needs no
  // Hypervisor read).
  std::optional<std::string> targetAddress;
  std::optional<Timestamp> startTime;
  std::optional<Timestamp> completionTime;
  std::optional<MigrationProgress> progress;
  std::optional<MigrationTargetStorage> targetStorage;
  std::optional<int64_t> observedGeneration;
  std::vector<Condition> conditions;
  std::optional<std::string> failureReason;
  std::optional<MigrationPlan> plan;          // spec.dryRun only
  std::optional<MigrationForecast> forecast;  // real migrations: the forecast it started with
  UnknownFields unknownFields;
  bool operator==(const VMMigrationStatus&) const = default;
};

struct VMMigration {
  ObjectMeta metadata;
  VMMigrationSpec spec;
  VMMigrationStatus status;
  UnknownFields unknownFields;
  bool operator==(const VMMigration&) const = default;
};

}  // namespace novacron::api
