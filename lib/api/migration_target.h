// What the controller and the target node-daemon agree on about the target's part of a
// VMMigration (docs/migration.md, "copyStorage"): when the target has something to prepare, and
// how it reports that it removed what it prepared. The controller's finalizer on a deleted
// VMMigration waits for that report (controller/migration/target_cleanup.h), so both sides must
// read the status the same way.
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "lib/api/vm_migration.h"

namespace novacron::api {

// Condition TargetPrepared=False with this reason: the target removed what it prepared for a
// failed or cancelled migration, or found nothing of it to remove.
inline constexpr std::string_view kReasonTargetCleanedUp = "CleanedUp";

// The target prepares something (and so has something to clean up) unless the migration is a live
// one with copyStorage Never (shared storage, as before the target handshake existed).
inline bool needsTargetPreparation(const VMMigrationSpec& spec) {
  return spec.mode == MigrationMode::kCold || spec.options.copyStorage != CopyStorage::kNever;
}

// TargetPrepared=False/CleanedUp: the target reported that nothing of this migration is left on it.
inline bool targetCleanedUp(const VMMigrationStatus& status) {
  const Condition* c = findCondition(status.conditions, kConditionTargetPrepared);
  return c && c->status == ConditionStatus::kFalse && c->reason == kReasonTargetCleanedUp;
}

}  // namespace novacron::api
