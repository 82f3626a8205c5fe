// What a failed live-migration call means, decided from the source domain (pure; used by the
// MigrationRunner, unit-tested on its own).
//
// virt::Connection::migrate() can fail although the move itself completed: when the source's
// libvirtd, or the node-daemon's connection to it, dies after QEMU switched the guest over, the
// call returns "End of file while reading data" or "client socket is closed" — and reporting that
// as Failed ("the guest keeps running on the source") leaves the VM bound to the source while the
// guest runs on the target, where its node-daemon then stops it as not bound there (found by the
// fault suite in depth, docs/reliability.md). So a failed call is reported as a failure only once
// the source domain shows it:
//   - running (or paused by anything but the migration) with no libvirt job left: a real failure,
//     the guest stays on the source;
//   - shut off with reason Migrated: the move completed, the guest runs on the target;
//   - libvirt not answering, or a job still running on the domain (libvirtd restarted and is still
//     cancelling it): not known yet — look again;
//   - paused by post-copy: the switch happened although the runner did not see it succeed; the
//     post-copy recovery takes over (postcopy.h: never restarted, only resumed);
//   - shut off for another reason, not defined here, or paused by the migration: libvirt lost track
//     (a libvirtd restarted mid-migration reports a migrated source as shut off, reason unknown):
//     only the target can tell (source_domain.h) — running there: the move completed; a domain
//     there that does not run (yet): look again; nothing there: a failure (a source paused by the
//     migration is then resumed where it is).
// Thread-safety: plain values and a pure function.
#pragma once

#include <optional>

#include "node-daemon/migration/source_domain.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node::migration {

enum class FailedCallVerdict {
  kFailed,     // the guest stays on the source: report the call's failure
  kMigrated,   // the source domain is shut off (Migrated): report success
  kWait,       // not known yet: observe again
  kAskTarget,  // only the target can tell: decide again with `target`
  kPostCopy,   // the source is in post-copy: recover as post-copy (postcopy.h)
};

struct FailedCallObservation {
  bool libvirt_answered = false;           // the lookup answered (found or not found)
  std::optional<virt::DomainInfo> source;  // the source domain when found
  bool job_running = false;                // libvirt still runs a job on it
  std::optional<TargetGuest> target;       // where the guest is on the target (once asked)
};

FailedCallVerdict decideFailedCall(const FailedCallObservation& o);

}  // namespace novacron::node::migration
