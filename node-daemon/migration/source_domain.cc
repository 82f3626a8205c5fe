#include "node-daemon/migration/source_domain.h"

namespace novacron::node::migration {
namespace {

// The domain, or nullopt when it is not defined here; an error when libvirt does not answer.
core::StatusOr<std::optional<virt::DomainInfo>> lookup(virt::Connection& conn,
                                                       const std::string& name) {
  auto info = conn.lookupByName(name);
  if (info.isOk()) {
    return std::optional<virt::DomainInfo>(std::move(info).value());
  }
  if (info.status().code() == core::StatusCode::kNotFound) {
    return std::optional<virt::DomainInfo>();
  }
  return info.status();
}

}  // namespace

core::StatusOr<SourceDomain> observeSourceDomain(virt::Connection& conn, const std::string& name) {
  SourceDomain out;
  NOVACRON_ASSIGN_OR_RETURN(out.domain, lookup(conn, name));
  if (!out.domain || !out.domain->active) {
    return out;  // an inactive domain runs no job
  }
  NOVACRON_ASSIGN_OR_RETURN(virt::JobStats job, conn.jobStats(name));
  out.job_running = job.type == virt::JobType::kBounded || job.type == virt::JobType::kUnbounded;
  if (!out.job_running) {
    NOVACRON_ASSIGN_OR_RETURN(out.domain, lookup(conn, name));  // as it is after any job ended
  }
  return out;
}

core::StatusOr<TargetGuest> guestOnTarget(const ConnectTarget& connect, const std::string& dest_uri,
                                          const std::string& name) {
  if (!connect) {
    return core::failedPreconditionError("no connection to migration targets is configured");
  }
  NOVACRON_ASSIGN_OR_RETURN(virt::ConnectionPtr target, connect(dest_uri));
  NOVACRON_ASSIGN_OR_RETURN(std::optional<virt::DomainInfo> domain, lookup(*target, name));
  if (!domain || domain->state == virt::DomainState::kShutOff) {
    return TargetGuest::kAbsent;
  }
  return domain->state == virt::DomainState::kRunning ? TargetGuest::kRunning
                                                      : TargetGuest::kPresent;
}

}  // namespace novacron::node::migration
