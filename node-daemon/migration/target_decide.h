// The target's part of a VMMigration that moves disks (docs/migration.md, "copyStorage" and
// "Cold"), as pure decisions shared by both node-daemons:
//   - whether the source must wait for the target (condition TargetPrepared) before it starts;
//   - whether local disks are copied (copyStorage Always, or Auto when the target's VM root is not
//     shared with the source);
//   - what the target node-daemon does with a VMMigration labelled novacron.io/target-hypervisor
//     = itself: prepare (base images from its own image store, empty overlays at the paths the
//     domain will use), report shared storage, or remove what it prepared after an abort.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>

#include "lib/api/migration_target.h"
#include "lib/api/vm_migration.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node::migration {

// Condition TargetPrepared reasons.
inline constexpr std::string_view kReasonStoragePrepared = "StoragePrepared";
inline constexpr std::string_view kReasonSharedStorage = "SharedStorage";
inline constexpr std::string_view kReasonCleanedUp = api::kReasonTargetCleanedUp;
inline constexpr std::string_view kReasonPreparing = "Preparing";

// The source waits for TargetPrepared=True unless nothing on the target needs preparing: a live
// migration with copyStorage Never (shared storage, as before this handshake existed).
using api::needsTargetPreparation;

// Whether the target copies disks: Never → no; Always → yes; Auto → when the target's VM root is
// not shared (node-daemon --shared-vm-root). Never when the VM's folder is already there and the
// target did not make it: the two hosts then see the same files, and copying would overwrite the
// disk the guest runs on.
bool storageCopyWanted(api::CopyStorage copy, bool target_root_shared, bool foreign_vm_dir);

// The source may start once the target said it is ready (or nothing needs preparing).
bool targetReady(const api::VMMigration& mig);

// The part of the source's libvirt request that moves disks: with a target that prepared local
// disks, an incremental copy (only the overlays cross the wire) and, when the roots differ, the
// domain XML with this node's roots rewritten to the target's. Otherwise no copy.
void applyTargetStorage(virt::MigrateRequest& request,
                        const std::optional<api::MigrationTargetStorage>& target,
                        const std::string& vm_root, const std::string& image_root);

enum class TargetAction {
  kNone,
  kPrepare,       // make the VM's disks here, then TargetPrepared=True/StoragePrepared
  kReportShared,  // nothing to make: TargetPrepared=True/SharedStorage
  // The migration failed or was cancelled: remove what we prepared, then report
  // TargetPrepared=False/CleanedUp (also when there was nothing to remove: the controller's
  // finalizer waits for that report before a deleted VMMigration goes).
  kCleanUp,
};

struct TargetObservation {
  bool ours = false;  // status.targetHypervisor is this node
  std::optional<api::MigrationPhase> phase;
  bool needs_preparation = false;  // needsTargetPreparation(spec)
  bool copy = false;               // storageCopyWanted(...) for this node
  bool prepared = false;           // TargetPrepared=True
  bool prepared_copy = false;      // ... and status.targetStorage.copy: we made disks
  bool cancel = false;             // spec.cancel or deletion
  // A folder of the VM here carries this migration's marker: we made it, whatever the status
  // says. The status may not say so: TargetPrepared is written after the disks are made, and
  // that write fails when the migration failed meanwhile (a conflict) or the API server is
  // unreachable; the folder must still go (issue 18, fault suite seed 4038).
  bool marker_present = false;
  // TargetPrepared=False/CleanedUp (api::targetCleanedUp): reported already.
  bool cleaned_up = false;
};

TargetAction decideTarget(const TargetObservation& o);

}  // namespace novacron::node::migration
