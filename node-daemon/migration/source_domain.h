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
// An error when the target does not answer.
[[nodiscard]] core::StatusOr<TargetGuest> guestOnTarget(const ConnectTarget& connect,
                                                        const std::string& dest_uri,
                                                        const std::string& name);

}  // namespace novacron::node::migration
