#include "controller/migration/target_cleanup.h"

namespace novacron::controller::migration {

TargetCleanup decideTargetCleanup(const TargetCleanupFacts& f) {
  using api::MigrationPhase;
  if (f.dry_run || !f.needs_preparation || f.target.empty()) {
    return TargetCleanup::kNotNeeded;
  }
  if (f.outcome != MigrationPhase::kFailed && f.outcome != MigrationPhase::kCancelled) {
    // Succeeded: the target's files are the VM's disks now. Not terminal: the source has the
    // next move, the finalizer waits for it anyway.
    return TargetCleanup::kNotNeeded;
  }
  const MigrationPhase recorded = f.recorded.value_or(MigrationPhase::kPending);
  if (recorded == MigrationPhase::kPending || recorded == MigrationPhase::kScheduling) {
    // Ended before Migrating (as read, and the finalizer's removal is conditional on the version
    // read): the target prepares nothing before it sees Migrating.
    return TargetCleanup::kNotNeeded;
  }
  if (f.cleaned_up) {
    return TargetCleanup::kDone;
  }
  if (!f.target_exists || f.target_fenced) {
    return TargetCleanup::kOrphaned;
  }
  return TargetCleanup::kWait;
}

}  // namespace novacron::controller::migration
