// Post-copy decisions of a live migration, pure (no libvirt, no clock of their own), used by the
// MigrationRunner and unit-tested on their own:
//   - PostCopyTrigger: when a migration that allows post-copy (spec.options.postCopy.enabled) is
//     switched to it (virDomainMigrateStartPostCopy): after `afterIterations` completed pre-copy
//     passes, or — without that field — when pre-copy stalls (the remaining data has not reached a
//     new low for the stall window, which ends well before progressTimeoutSeconds would abort);
//   - decidePostCopyRecovery: what a failed migrate call means once the switch was asked for. After
//     the switch the guest's memory is split between the hosts: it is never restarted anywhere
//     (that would be a second copy with stale memory), only resumed with
//     VIR_MIGRATE_POSTCOPY_RESUME, and the migration stays non-terminal (the VM stays locked, so no
//     node-daemon touches either half) until that succeeds;
//   - postCopyCondition: the VMMigration's `PostCopy` condition for what the runner reports.
// Thread-safety: plain values and functions; a trigger is used by one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "lib/api/object_meta.h"
#include "lib/api/vm_migration.h"
#include "node-daemon/migration/source_domain.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node::migration {

// VMMigration condition written by the source node-daemon while and after post-copy runs:
// True/PostCopyActive, True/PostCopyCompleted, False/PostCopyFailed (paused on both sides,
// recovering, or paused on the target with the source gone), False/PostCopyGuestLost (terminal).
inline constexpr std::string_view kConditionPostCopy = "PostCopy";

struct PostCopyPolicy {
  bool enabled = false;
  std::optional<int64_t> after_iterations;  // completed pre-copy passes before switching
  std::chrono::milliseconds stall_window{10000};
};

// The policy of `options`: the stall window is a third of progressTimeoutSeconds, within 2..30 s.
PostCopyPolicy postCopyPolicyFor(const api::MigrationOptions& options);

class PostCopyTrigger {
public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit PostCopyTrigger(PostCopyPolicy policy) : policy_(policy) {}

  // Folds in the progress the ProgressTracker made of a sample at `now`; returns why the
  // migration should switch to post-copy now, or nullopt. Keeps answering while the condition
  // holds (the caller stops asking once the switch succeeded).
  std::optional<std::string> observe(const api::MigrationProgress& progress, TimePoint now);

private:
  PostCopyPolicy policy_;
  std::optional<int64_t> lowest_remaining_;
  TimePoint lowest_at_{};
};

// After the switch, a source domain shut off for another reason than Migrated (crashed, destroyed,
// or "unknown" from a libvirtd restarted mid-migration) cannot tell where the guest is: as for a
// failed pre-copy call (failed_call.h), the target is asked (source_domain.h) —
//   running there: the move completed (a restarted libvirtd forgot it; had the source's QEMU died
//     before every page arrived, nothing on the source could resume the guest anyway);
//   a domain there that does not run: the guest is paused on the target and cannot be resumed
//     without the source's QEMU: waited for (never restarted, the VM stays locked), and said so
//     in the PostCopy condition and the log, for an operator to decide;
//   nothing there: the guest is lost on both hosts: Failed/PostCopyGuestLost, terminal (the VM
//     is unlocked and may start again from its disks, like after a crash);
//   no answer: wait, never guess.
enum class PostCopyRecovery {
  kNotPostCopy,  // the switch never took effect: an ordinary failure, the guest runs on the source
  kCompleted,    // the source's domain is shut off (Migrated): the guest runs on the target
  kResume,       // paused on both sides by a failed post-copy: resume the migration
  kWait,         // post-copy still running, or the source's state is unknown: look again later
  kAskTarget,    // the source is shut off (not Migrated): decide again with `target`
  kLost,         // shut off here, nothing on the target: the guest is lost (terminal)
};

struct PostCopyFailure {
  bool switched = false;                   // startPostCopy succeeded (or this is a resume)
  std::optional<virt::DomainInfo> source;  // nullopt: the domain could not be read
  std::optional<TargetGuest> target;       // where the guest is on the target (once asked)
};

PostCopyRecovery decidePostCopyRecovery(const PostCopyFailure& failure);

// What the runner reports (PostCopy condition, log) after a failed call in post-copy: why the
// guest is where it is and what happens next. `target_error` is the target's error when it did not
// answer; `resume_attempts` counts resumes so far (kResume).
std::string postCopyFailureMessage(const PostCopyFailure& failure, PostCopyRecovery next,
                                   const std::string& call_error, const std::string& target_error,
                                   int resume_attempts);

// Pause before recovery attempt `attempt` (0-based): 1 s doubling to 60 s.
std::chrono::milliseconds resumeBackoff(int attempt);

// What the runner knows about post-copy for one job.
struct PostCopyStatus {
  bool active = false;     // the switch succeeded
  bool failed = false;     // the last migrate call failed after the switch; recovering
  bool completed = false;  // the job ended with the guest on the target
  bool lost = false;       // the guest is lost on both hosts (kLost): the job ended Failed
  int resume_attempts = 0;
  std::string message;
};

// The PostCopy condition for `status` (nullopt when post-copy never started).
std::optional<api::Condition> postCopyCondition(const PostCopyStatus& status,
                                                int64_t observed_generation);

}  // namespace novacron::node::migration
