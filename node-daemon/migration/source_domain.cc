#include "node-daemon/migration/source_domain.h"

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

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

// Connects to the target and looks the domain up (blocking: run on guestOnTarget's worker).
core::StatusOr<TargetGuest> askTarget(const ConnectTarget& connect, const std::string& dest_uri,
                                      const std::string& name) {
  NOVACRON_ASSIGN_OR_RETURN(virt::ConnectionPtr target, connect(dest_uri));
  NOVACRON_ASSIGN_OR_RETURN(std::optional<virt::DomainInfo> domain, lookup(*target, name));
  if (!domain || domain->state == virt::DomainState::kShutOff) {
    return TargetGuest::kAbsent;
  }
  return domain->state == virt::DomainState::kRunning ? TargetGuest::kRunning
                                                      : TargetGuest::kPresent;
}

// Questions asked of each target and not answered yet (their workers blocked in a hung libvirtd),
// per target URI: one hung target must not keep the others from being asked.
class UnansweredQuestions {
public:
  // False when `uri` already has kMaxUnansweredTargetQuestions open.
  bool reserve(const std::string& uri) {
    std::lock_guard lock(mu_);
    int& open = open_[uri];
    if (open >= kMaxUnansweredTargetQuestions) {
      return false;
    }
    ++open;
    return true;
  }
  void release(const std::string& uri) {
    std::lock_guard lock(mu_);
    if (--open_[uri] <= 0) {
      open_.erase(uri);
    }
  }

private:
  std::mutex mu_;
  std::map<std::string, int> open_;  // guarded by mu_
};

// Never destroyed: a detached worker may still release its question during static destruction.
UnansweredQuestions& unansweredQuestions() {
  static auto* questions = new UnansweredQuestions();
  return *questions;
}

}  // namespace

core::StatusOr<SourceDomain> observeSourceDomain(virt::Connection& conn, const std::string& name) {
  SourceDomain out;
  NOVACRON_ASSIGN_OR_RETURN(out.domain, lookup(conn, name));
  if (!out.domain || !out.domain->active) {
    return out;  // an inactive domain runs no job
  }
  auto job = conn.jobStats(name);
  if (!job.isOk() && (job.status().code() == core::StatusCode::kUnavailable ||
                      job.status().code() == core::StatusCode::kDeadlineExceeded)) {
    return job.status();  // libvirt did not answer: whether a job runs is not known
  }
  // An answer that is not a job (the driver cannot report jobs, the domain stopped meanwhile) is
  // "no job": libvirt's test driver, for one, never runs or reports any.
  out.job_running = job.isOk() && (job->type == virt::JobType::kBounded ||
                                   job->type == virt::JobType::kUnbounded);
  if (!out.job_running) {
    NOVACRON_ASSIGN_OR_RETURN(out.domain, lookup(conn, name));  // as it is after any job ended
  }
  return out;
}

core::StatusOr<TargetGuest> guestOnTarget(const ConnectTarget& connect, const std::string& dest_uri,
                                          const std::string& name,
                                          std::chrono::milliseconds timeout) {
  if (!connect) {
    return core::failedPreconditionError("no connection to migration targets is configured");
  }
  if (!unansweredQuestions().reserve(dest_uri)) {
    return core::deadlineExceededError(std::to_string(kMaxUnansweredTargetQuestions) +
                                       " earlier questions to the migration target " + dest_uri +
                                       " are still unanswered; not asking it again yet");
  }
  struct Answer {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<core::StatusOr<TargetGuest>> guest;  // guarded by mu
  };
  auto answer = std::make_shared<Answer>();
  std::thread([answer, connect, dest_uri, name] {
    core::StatusOr<TargetGuest> guest = askTarget(connect, dest_uri, name);
    unansweredQuestions().release(dest_uri);
    std::lock_guard lock(answer->mu);
    answer->guest = std::move(guest);
    answer->cv.notify_all();
  }).detach();
  std::unique_lock lock(answer->mu);
  if (!answer->cv.wait_for(lock, timeout, [&] { return answer->guest.has_value(); })) {
    spdlog::warn("node-daemon: the migration target {} did not answer within {} ms", dest_uri,
                 timeout.count());
    return core::deadlineExceededError("the migration target " + dest_uri +
                                       " did not answer within " + std::to_string(timeout.count()) +
                                       " ms");
  }
  return std::move(*answer->guest);
}

}  // namespace novacron::node::migration
