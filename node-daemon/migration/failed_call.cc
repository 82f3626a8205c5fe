#include "node-daemon/migration/failed_call.h"

namespace novacron::node::migration {

FailedCallVerdict decideFailedCall(const FailedCallObservation& o) {
  if (!o.libvirt_answered) {
    return FailedCallVerdict::kWait;
  }
  if (!o.source) {
    if (!o.target_running) {
      return FailedCallVerdict::kAskTarget;
    }
    return *o.target_running ? FailedCallVerdict::kMigrated : FailedCallVerdict::kFailed;
  }
  if (o.source->state == virt::DomainState::kShutOff &&
      o.source->shutoff_reason == virt::ShutoffReason::kMigrated) {
    return FailedCallVerdict::kMigrated;
  }
  if (o.job_running) {
    return FailedCallVerdict::kWait;
  }
  const bool paused_by_migration = o.source->state == virt::DomainState::kPaused &&
                                   (o.source->paused_reason == virt::PausedReason::kMigration ||
                                    o.source->paused_reason == virt::PausedReason::kPostcopy ||
                                    o.source->paused_reason == virt::PausedReason::kPostcopyFailed);
  if (o.source->state == virt::DomainState::kRunning ||
      (o.source->state == virt::DomainState::kPaused && !paused_by_migration)) {
    return FailedCallVerdict::kFailed;  // the guest is here
  }
  if (!o.target_running) {
    return FailedCallVerdict::kAskTarget;
  }
  if (*o.target_running) {
    return FailedCallVerdict::kMigrated;
  }
  return paused_by_migration ? FailedCallVerdict::kWait : FailedCallVerdict::kFailed;
}

}  // namespace novacron::node::migration
