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
  return PostCopyRecovery::kWait;
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
  if (status.failed && !status.completed) {
    c.status = api::ConditionStatus::kFalse;
    c.reason = "PostCopyFailed";
  } else {
    c.status = api::ConditionStatus::kTrue;
    c.reason = status.completed ? "PostCopyCompleted" : "PostCopyActive";
  }
  return c;
}

}  // namespace novacron::node::migration
