#include "node-daemon/migration/target_decide.h"

namespace novacron::node::migration {

bool storageCopyWanted(api::CopyStorage copy, bool target_root_shared, bool foreign_vm_dir) {
  if (foreign_vm_dir) {
    return false;
  }
  switch (copy) {
  case api::CopyStorage::kAlways:
    return true;
  case api::CopyStorage::kNever:
    return false;
  case api::CopyStorage::kAuto:
    return !target_root_shared;
  }
  return false;
}

bool targetReady(const api::VMMigration& mig) {
  return !needsTargetPreparation(mig.spec) ||
         api::isConditionTrue(mig.status.conditions, api::kConditionTargetPrepared);
}

void applyTargetStorage(virt::MigrateRequest& request,
                        const std::optional<api::MigrationTargetStorage>& target,
                        const std::string& vm_root, const std::string& image_root) {
  request.copy_storage = target && target->copy;
  request.rewrite_paths.clear();
  if (!request.copy_storage) {
    return;  // shared storage: the same paths on both hosts
  }
  if (!vm_root.empty() && !target->vmRoot.empty() && vm_root != target->vmRoot) {
    request.rewrite_paths.push_back({vm_root, target->vmRoot});
  }
  if (!image_root.empty() && !target->imageRoot.empty() && image_root != target->imageRoot) {
    request.rewrite_paths.push_back({image_root, target->imageRoot});
  }
}

TargetAction decideTarget(const TargetObservation& o) {
  if (!o.ours || !o.phase) {
    return TargetAction::kNone;
  }
  switch (*o.phase) {
  case api::MigrationPhase::kPreparing:
  case api::MigrationPhase::kMigrating:
    if (!o.needs_preparation || o.prepared || o.cancel) {
      return TargetAction::kNone;
    }
    return o.copy ? TargetAction::kPrepare : TargetAction::kReportShared;
  case api::MigrationPhase::kFailed:
  case api::MigrationPhase::kCancelled:
    // A marked folder is removed whatever the status says (seed 4038); otherwise the target
    // reports once, even with nothing to remove: a VMMigration deleted right after it failed
    // keeps the controller's finalizer until that report (issue 18, seed 9031).
    if (o.marker_present || (o.prepared && o.prepared_copy)) {
      return TargetAction::kCleanUp;
    }
    return o.needs_preparation && !o.cleaned_up ? TargetAction::kCleanUp : TargetAction::kNone;
  default:
    return TargetAction::kNone;
  }
}

}  // namespace novacron::node::migration
