// observeSourceDomain: the source domain of a migration as one consistent observation — whether
// libvirt still runs a job on it, and its state once no job runs — for the two places that decide
// what a migration did from the domain: the runner after a failed call (failed_call.h) and the
// source reconciler after a node-daemon restart (decideSource).
//
// Two reads are not one instant: a domain read as running, whose job then ends before the job is
// read, has moved by then. So when no job runs the domain is read again, and that second state is
// the answer (no job starts in between: only this node-daemon starts them). When libvirt does not
// answer either read (Unavailable, DeadlineExceeded), the error is returned: "no job seen" is never
// guessed from a read libvirt did not answer (a definite refusal, e.g. a driver that cannot report
// jobs, is "no job")
// (a node-daemon restarted during a libvirtd restart reported a migration that completed as lost,
// and the only running guest was then stopped on the target: docs/reliability.md).
// Thread-safety: as the connection's.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "lib/core/statusor.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node::migration {

struct SourceDomain {
  std::optional<virt::DomainInfo> domain;  // nullopt: not defined on this node
  bool job_running = false;                // libvirt runs a job on it (bounded or unbounded)
};

[[nodiscard]] core::StatusOr<SourceDomain> observeSourceDomain(virt::Connection& conn,
                                                               const std::string& name);

// Where the guest is on the target: its domain `name` in the libvirtd at `dest_uri` (opened with
// `connect`, the connection cold migrations use). Asked only when the source cannot tell — its
// domain shut off for another reason than Migrated, gone, or still paused by the migration: a
// libvirtd restarted mid-migration forgets that the job completed (the fault suite in depth: a
// source shut off with reason "unknown" while the guest ran on the target was reported lost,
// started again on the source, and ran twice).
enum class TargetGuest {
  kRunning,  // the guest runs there: the move completed
  kPresent,  // a domain exists there but does not run (the paused incoming domain, before or
             // during libvirt's finish step): not decided yet
  kAbsent,   // no domain there, or a shut-off one: the guest is not there
};
using ConnectTarget = std::function<core::StatusOr<virt::ConnectionPtr>(const std::string& uri)>;
// How long the target may take to answer (connect and lookup together).
inline constexpr std::chrono::milliseconds kTargetAnswerTimeout{std::chrono::seconds(10)};
// At most this many questions to one target (by URI) may still be unanswered (their workers blocked
// in a hung libvirtd); a further one to it is DeadlineExceeded at once, so a target that hangs for
// hours does not pile up threads, and other targets are still asked.
inline constexpr int kMaxUnansweredTargetQuestions = 4;
// An error when the target does not answer: its error, or DeadlineExceeded after `timeout` (real
// time: it bounds a remote libvirtd). Opening a libvirt connection has no deadline of its own
// (keepalive starts only once it is open), and a hung target libvirtd blocked the runner's confirm
// loop and the source reconciler for good; so `connect` and the lookup run on a detached worker
// that owns copies of everything it uses, and a late answer is dropped. Callers treat an error as
// "cannot tell" (no verdict), never as "not there".
[[nodiscard]] core::StatusOr<TargetGuest> guestOnTarget(
    const ConnectTarget& connect, const std::string& dest_uri, const std::string& name,
    std::chrono::milliseconds timeout = kTargetAnswerTimeout);

}  // namespace novacron::node::migration
