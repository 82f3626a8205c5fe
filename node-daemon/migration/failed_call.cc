#include "node-daemon/migration/failed_call.h"

namespace novacron::node::migration {

FailedCallVerdict decideFailedCall(const FailedCallObservation& o) {
  if (!o.libvirt_answered) {
    return FailedCallVerdict::kWait;
  }
  if (!o.source) {
    return FailedCallVerdict::kFailed;
  }
  if (o.source->state == virt::DomainState::kShutOff &&
      o.source->shutoff_reason == virt::ShutoffReason::kMigrated) {
    return FailedCallVerdict::kMigrated;
  }
  if (o.job_running) {
    return FailedCallVerdict::kWait;
  }
  if (o.source->state == virt::DomainState::kPaused &&
      (o.source->paused_reason == virt::PausedReason::kMigration ||
       o.source->paused_reason == virt::PausedReason::kPostcopy ||
       o.source->paused_reason == virt::PausedReason::kPostcopyFailed)) {
    return FailedCallVerdict::kWait;
  }
  return FailedCallVerdict::kFailed;
}

}  // namespace novacron::node::migration
