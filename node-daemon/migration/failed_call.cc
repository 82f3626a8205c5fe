#include "node-daemon/migration/failed_call.h"

namespace novacron::node::migration {
namespace {

// The source cannot tell: the target's answer decides (wait until there is one).
FailedCallVerdict byTarget(const FailedCallObservation& o) {
  if (!o.target) {
    return FailedCallVerdict::kAskTarget;
  }
  switch (*o.target) {
  case TargetGuest::kRunning:
    return FailedCallVerdict::kMigrated;
  case TargetGuest::kPresent:
    return FailedCallVerdict::kWait;
  case TargetGuest::kAbsent:
    break;
  }
  return FailedCallVerdict::kFailed;
}

}  // namespace

FailedCallVerdict decideFailedCall(const FailedCallObservation& o) {
  if (!o.libvirt_answered) {
    return FailedCallVerdict::kWait;
  }
  if (!o.source) {
    return byTarget(o);
  }
  const virt::DomainInfo& d = *o.source;
  if (d.state == virt::DomainState::kShutOff &&
      d.shutoff_reason == virt::ShutoffReason::kMigrated) {
    return FailedCallVerdict::kMigrated;
  }
  if (o.job_running) {
    return FailedCallVerdict::kWait;
  }
  if (d.state == virt::DomainState::kPaused &&
      (d.paused_reason == virt::PausedReason::kPostcopy ||
       d.paused_reason == virt::PausedReason::kPostcopyFailed)) {
    return FailedCallVerdict::kPostCopy;
  }
  const bool paused_by_migration =
      d.state == virt::DomainState::kPaused && d.paused_reason == virt::PausedReason::kMigration;
  if (d.state == virt::DomainState::kRunning ||
      (d.state == virt::DomainState::kPaused && !paused_by_migration)) {
    return FailedCallVerdict::kFailed;  // the guest is here
  }
  return byTarget(o);
}

}  // namespace novacron::node::migration
