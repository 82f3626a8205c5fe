#include "node-daemon/migration/postcopy.h"

#include <algorithm>

namespace novacron::node::migration {

PostCopyPolicy postCopyPolicyFor(const api::MigrationOptions& options) {
  PostCopyPolicy p;
  p.enabled = options.postCopy && options.postCopy->enabled;
  if (p.enabled) {
    p.after_iterations = options.postCopy->afterIterations;
  }
  const int64_t third_ms = options.progressTimeoutSeconds * 1000 / 3;
  p.stall_window = std::chrono::milliseconds(std::clamp<int64_t>(third_ms, 2000, 30000));
  return p;
}

std::optional<std::string> PostCopyTrigger::observe(const api::MigrationProgress& progress,
                                                    TimePoint now) {
  if (!policy_.enabled) {
    return std::nullopt;
  }
  if (policy_.after_iterations) {
    // libvirt's memory_iteration counts the pass in progress (1 during the first): N passes
    // are complete once it exceeds N.
    if (progress.iteration && *progress.iteration > *policy_.after_iterations) {
      return "after " + std::to_string(*policy_.after_iterations) + " pre-copy iterations";
    }
    return std::nullopt;
  }
  if (!progress.dataRemainingBytes) {
    return std::nullopt;  // libvirt has not sized the job yet
  }
  const int64_t remaining = *progress.dataRemainingBytes;
  if (!lowest_remaining_ || remaining < *lowest_remaining_) {
    lowest_remaining_ = remaining;
    lowest_at_ = now;
    return std::nullopt;
  }
  if (now - lowest_at_ >= policy_.stall_window) {
    return "pre-copy stalled (remaining data has not shrunk for " +
           std::to_string(
               std::chrono::duration_cast<std::chrono::seconds>(policy_.stall_window).count()) +
           " s)";
  }
  return std::nullopt;
}

PostCopyRecovery decidePostCopyRecovery(const PostCopyFailure& failure) {
  if (!failure.switched) {
    return PostCopyRecovery::kNotPostCopy;
  }
  if (!failure.source) {
    return PostCopyRecovery::kWait;  // never guess: a wrong guess starts or loses a copy
  }
  const virt::DomainInfo& d = *failure.source;
  if (d.state == virt::DomainState::kShutOff &&
      d.shutoff_reason == virt::ShutoffReason::kMigrated) {
    return PostCopyRecovery::kCompleted;
  }
  if (d.state == virt::DomainState::kPaused &&
      d.paused_reason == virt::PausedReason::kPostcopyFailed) {
    return PostCopyRecovery::kResume;
  }
  if (d.state == virt::DomainState::kRunning) {
    // The source's vCPUs run again: the switch had not happened when the job failed (libvirt
    // resumes the source only while the target has not started), so pre-copy rules apply.
    return PostCopyRecovery::kNotPostCopy;
  }
  if (d.state == virt::DomainState::kShutOff) {
    // Not Migrated (above): crashed, destroyed, or a restarted libvirtd that forgot the outcome.
    if (!failure.target) {
      return PostCopyRecovery::kAskTarget;
    }
    switch (*failure.target) {
    case TargetGuest::kRunning:
      return PostCopyRecovery::kCompleted;
    case TargetGuest::kPresent:
      return PostCopyRecovery::kWait;  // paused there: never restarted, reported
    case TargetGuest::kAbsent:
      return PostCopyRecovery::kLost;
    }
  }
  return PostCopyRecovery::kWait;
}

namespace {

std::string_view shutoffReasonName(virt::ShutoffReason reason) {
  switch (reason) {
  case virt::ShutoffReason::kShutdown:
    return "shutdown";
  case virt::ShutoffReason::kDestroyed:
    return "destroyed";
  case virt::ShutoffReason::kCrashed:
    return "crashed";
  case virt::ShutoffReason::kMigrated:
    return "migrated";
  case virt::ShutoffReason::kSaved:
    return "saved";
  case virt::ShutoffReason::kFailed:
    return "failed";
  case virt::ShutoffReason::kFromSnapshot:
    return "from snapshot";
  case virt::ShutoffReason::kDaemon:
    return "daemon";
  case virt::ShutoffReason::kUnknown:
    break;
  }
  return "unknown";
}

}  // namespace

std::string postCopyFailureMessage(const PostCopyFailure& failure, PostCopyRecovery next,
                                   const std::string& call_error, const std::string& target_error,
                                   int resume_attempts) {
  const std::string failed = "post-copy failed (" + call_error + "): ";
  const bool shut_off = failure.source && failure.source->state == virt::DomainState::kShutOff;
  if (shut_off && next != PostCopyRecovery::kCompleted) {
    const std::string here = failed + "the source domain is shut off (reason " +
                             std::string(shutoffReasonName(failure.source->shutoff_reason)) +
                             ") after the switch, so the pages still on the source are gone; ";
    if (next == PostCopyRecovery::kLost) {
      return here +
             "the target does not hold the guest either: the guest is lost (the VM may start "
             "again from its disks)";
    }
    if (failure.target == TargetGuest::kPresent) {
      return here +
             "the guest is paused on the target and cannot be resumed without the source; it is "
             "never restarted: the VM stays locked until an operator decides (docs/migration.md, "
             "Post-copy)";
    }
    return here + "waiting for the target to tell where the guest is (" +
           (target_error.empty() ? std::string("not asked") : target_error) + ")";
  }
  return failed + "the guest is paused on both hosts and is never restarted from the source; " +
         (next == PostCopyRecovery::kResume
              ? "resuming the migration (attempt " + std::to_string(resume_attempts) + ")"
              : "waiting for libvirt's post-copy job to settle");
}

std::chrono::milliseconds resumeBackoff(int attempt) {
  const int shift = std::clamp(attempt, 0, 6);
  return std::min(std::chrono::milliseconds(1000 << shift), std::chrono::milliseconds(60000));
}

std::optional<api::Condition> postCopyCondition(const PostCopyStatus& status,
                                                int64_t observed_generation) {
  if (!status.active && !status.failed) {
    return std::nullopt;
  }
  api::Condition c;
  c.type = std::string(kConditionPostCopy);
  c.observedGeneration = observed_generation;
  c.message = status.message;
  if (status.lost) {
    c.status = api::ConditionStatus::kFalse;
    c.reason = "PostCopyGuestLost";
  } else if (status.failed && !status.completed) {
    c.status = api::ConditionStatus::kFalse;
    c.reason = "PostCopyFailed";
  } else {
    c.status = api::ConditionStatus::kTrue;
    c.reason = status.completed ? "PostCopyCompleted" : "PostCopyActive";
  }
  return c;
}

}  // namespace novacron::node::migration
