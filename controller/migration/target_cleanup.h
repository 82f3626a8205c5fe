// decideTargetCleanup(): whether the controller's finalizer on a VMMigration being deleted waits
// for the target node-daemon (docs/migration.md, "Deleting a VMMigration"), as a pure function.
//
// A target that prepared disks for a migration removes them once it sees the migration Failed or
// Cancelled (node-daemon/migration/target_decide.h), and reports TargetPrepared=False/CleanedUp —
// also when it found nothing to remove. It watches VMMigrations, not folders: a VMMigration that
// is gone before the target saw its end leaves the folder behind for good (issue 18, fault suite
// seed 9031: an evacuation deleted its failed migration one second after the failure). So the
// finalizer stays until that report, while the target can still make it: its Hypervisor exists
// and is not fenced (the rule the VM finalizer follows for a node's resources, vm_decision.h). A
// fenced or deleted target is not waited for: the migration goes, and what the target may have
// prepared is a reported orphan (warn log, Event OrphanedTargetDisks, a metric).
// Thread-safety: pure function.
#pragma once

#include <optional>
#include <string>

#include "lib/api/vm_migration.h"

namespace novacron::controller::migration {

struct TargetCleanupFacts {
  bool dry_run = false;
  bool needs_preparation = false;  // api::needsTargetPreparation(spec)
  // The novacron.io/target-hypervisor label: the node-daemon that watches this migration as its
  // target (set before the migration enters Migrating). Empty: no target ever saw it.
  std::string target;
  std::optional<api::MigrationPhase> recorded;  // status.phase as stored
  // The terminal phase this deletion ends the migration with (nullopt: not terminal yet).
  std::optional<api::MigrationPhase> outcome;
  bool cleaned_up = false;  // api::targetCleanedUp(status)
  bool target_exists = false;
  bool target_fenced = false;
};

enum class TargetCleanup {
  kNotNeeded,  // nothing of it can be on a target: release the finalizer
  kDone,       // the target reported TargetPrepared=False/CleanedUp: release
  // The target is live and has not reported yet: keep the finalizer, and write the terminal
  // status although the object is being deleted (the target acts on the phase it reads).
  kWait,
  kOrphaned,  // the target is fenced or gone: release, and report what may be left there
};

TargetCleanup decideTargetCleanup(const TargetCleanupFacts& facts);

}  // namespace novacron::controller::migration
