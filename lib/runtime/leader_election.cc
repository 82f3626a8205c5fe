#include "lib/runtime/leader_election.h"

#include <ctime>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "lib/core/check.h"
#include "lib/kube/resource.h"

namespace novacron::runtime {
namespace {

using nlohmann::json;

// metav1.MicroTime: RFC 3339 with microseconds, UTC.
std::string formatMicroTime(std::chrono::system_clock::time_point time) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06d}Z", buf, micros % 1'000'000);
}

std::string stringAt(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t intAt(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

LeaderElector::LeaderElector(kube::ClientPtr client, LeaderElectionConfig config,
                             LeaderCallbacks callbacks)
    : client_(std::move(client)),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      clock_(config_.clock ? config_.clock : core::systemClock()) {
  NOVACRON_CHECK(!config_.lease_name.empty() && !config_.lease_namespace.empty(),
                 "leader election needs a lease namespace and name");
  NOVACRON_CHECK(!config_.identity.empty(), "leader election needs an identity");
  NOVACRON_CHECK(config_.renew_deadline < config_.lease_duration,
                 "leader election: renew_deadline must be shorter than lease_duration");
  NOVACRON_CHECK(config_.retry_period < config_.renew_deadline,
                 "leader election: retry_period must be shorter than renew_deadline");
  auto registry = config_.registry ? config_.registry : metrics::defaultRegistry();
  master_status_ = &prometheus::BuildGauge()
                        .Name("leader_election_master_status")
                        .Help("1 while this process holds the leader lease, 0 otherwise")
                        .Register(*registry)
                        .Add({{"name", config_.lease_name}});
  master_status_->Set(0);
}

LeaderElector::~LeaderElector() {
  stop();
  if (attempt_.joinable()) {
    attempt_.join();
  }
}

LeaderElector::Record LeaderElector::recordOf(const json& lease) {
  Record r;
  auto spec = lease.find("spec");
  if (spec == lease.end() || !spec->is_object()) {
    return r;
  }
  r.holder = stringAt(*spec, "holderIdentity");
  r.lease_duration_seconds = intAt(*spec, "leaseDurationSeconds");
  r.acquire_time = stringAt(*spec, "acquireTime");
  r.renew_time = stringAt(*spec, "renewTime");
  r.transitions = intAt(*spec, "leaseTransitions");
  return r;
}

json LeaderElector::specOf(const Record& r) const {
  json spec = {{"holderIdentity", r.holder},
               {"leaseDurationSeconds", r.lease_duration_seconds},
               {"leaseTransitions", r.transitions}};
  if (!r.acquire_time.empty()) {
    spec["acquireTime"] = r.acquire_time;
  }
  if (!r.renew_time.empty()) {
    spec["renewTime"] = r.renew_time;
  }
  return spec;
}

void LeaderElector::observe(const Record& record, core::Clock::TimePoint now) {
  std::string new_leader;
  {
    std::lock_guard lock(mu_);
    if (record == observed_) {
      return;
    }
    if (record.holder != observed_.holder) {
      new_leader = record.holder;
    }
    observed_ = record;
    observed_time_ = now;
  }
  if (!new_leader.empty() && callbacks_.on_new_leader) {
    callbacks_.on_new_leader(new_leader);
  }
}

bool LeaderElector::tryAcquireOrRenew() {
  const auto now = clock_->now();
  const std::string stamp = formatMicroTime(clock_->wallNow());
  const int64_t duration_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration).count();

  auto current = client_->get(kube::kLease, config_.lease_namespace, config_.lease_name);
  if (!current.isOk()) {
    if (current.status().code() != core::StatusCode::kNotFound) {
      spdlog::warn("leader election {}: reading lease: {}", config_.lease_name,
                   current.status().toString());
      return false;
    }
    Record mine{config_.identity, duration_seconds, stamp, stamp, 0};
    json lease = {
        {"apiVersion", "coordination.k8s.io/v1"},
        {"kind", "Lease"},
        {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
        {"spec", specOf(mine)}};
    auto created = client_->create(kube::kLease, config_.lease_namespace, lease);
    if (!created.isOk()) {
      return false;  // someone else created it first, or the server is unreachable
    }
    observe(mine, now);
    std::lock_guard lock(mu_);
    observed_resource_version_ = created->value("/metadata/resourceVersion"_json_pointer, "");
    last_renew_ = now;
    return true;
  }

  const Record old = recordOf(*current);
  observe(old, now);
  const std::string rv = current->value("/metadata/resourceVersion"_json_pointer, "");
  {
    std::lock_guard lock(mu_);
    const auto held_for = std::chrono::seconds(
        old.lease_duration_seconds > 0 ? old.lease_duration_seconds : duration_seconds);
    if (!old.holder.empty() && old.holder != config_.identity && observed_time_ + held_for > now) {
      return false;  // held by someone else and not expired by our clock
    }
  }

  Record mine = old;
  mine.holder = config_.identity;
  mine.lease_duration_seconds = duration_seconds;
  mine.renew_time = stamp;
  if (old.holder != config_.identity) {
    mine.acquire_time = stamp;
    mine.transitions = old.transitions + 1;
  }
  json next = *current;
  next["spec"] = specOf(mine);
  next["metadata"]["resourceVersion"] = rv;  // conditional: a stale view fails with kConflict
  auto updated = client_->update(kube::kLease, config_.lease_namespace, next);
  if (!updated.isOk()) {
    if (updated.status().code() != core::StatusCode::kConflict) {
      spdlog::warn("leader election {}: updating lease: {}", config_.lease_name,
                   updated.status().toString());
    }
    return false;
  }
  observe(mine, now);
  std::lock_guard lock(mu_);
  observed_resource_version_ = updated->value("/metadata/resourceVersion"_json_pointer, "");
  last_renew_ = now;
  return true;
}

bool LeaderElector::sleep(double jitter) {
  thread_local std::mt19937 rng(std::random_device{}());
  const double factor = 1.0 + std::uniform_real_distribution<double>(0.0, jitter)(rng);
  const auto wait =
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.retry_period * factor);
  std::unique_lock lock(mu_);
  return !clock_->waitFor(lock, cv_, wait, [this] { return stop_; });
}

void LeaderElector::setLeading(bool leading) {
  {
    std::lock_guard lock(mu_);
    leading_ = leading;
  }
  master_status_->Set(leading ? 1 : 0);
}

bool LeaderElector::isLeader() const {
  std::lock_guard lock(mu_);
  return leading_ && clock_->now() - last_renew_ < config_.renew_deadline;
}

std::string LeaderElector::leader() const {
  std::lock_guard lock(mu_);
  return observed_.holder;
}

void LeaderElector::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

core::Status LeaderElector::run() {
  auto stopped = [this] {
    std::lock_guard lock(mu_);
    return stop_;
  };
  // Acquire.
  while (true) {
    if (stopped()) {
      return core::okStatus();
    }
    if (tryAcquireOrRenew()) {
      break;
    }
    if (!sleep(1.2)) {
      return core::okStatus();
    }
  }
  spdlog::info("leader election {}: {} became leader", config_.lease_name, config_.identity);
  setLeading(true);
  std::stop_source work_stop;
  std::thread work;
  if (callbacks_.on_started_leading) {
    work = std::thread(
        [this, token = work_stop.get_token()] { callbacks_.on_started_leading(token); });
  }

  // Renew until stopped or the renew deadline passes without a successful renewal.
  bool lost = false;
  while (sleep(0.0)) {
    core::Clock::TimePoint last;
    {
      std::lock_guard lock(mu_);
      last = last_renew_;
    }
    if (renewBefore(last + config_.renew_deadline)) {
      continue;
    }
    {
      std::lock_guard lock(mu_);
      last = last_renew_;
    }
    if (clock_->now() - last >= config_.renew_deadline) {
      lost = true;
      break;
    }
  }
  setLeading(false);
  spdlog::log(lost ? spdlog::level::err : spdlog::level::info,
              "leader election {}: {} {} leadership", config_.lease_name, config_.identity,
              lost ? "lost" : "is giving up");
  if (lost && callbacks_.on_lost_leadership) {
    callbacks_.on_lost_leadership();
  }
  work_stop.request_stop();
  if (work.joinable()) {
    work.join();
  }
  if (!lost && config_.release_on_cancel) {
    release();
  }
  if (callbacks_.on_stopped_leading) {
    callbacks_.on_stopped_leading();
  }
  return lost ? core::abortedError("leadership of lease " + config_.lease_name + " lost")
              : core::okStatus();
}

bool LeaderElector::renewBefore(core::Clock::TimePoint deadline) {
  auto finished = [this] { return attempt_done_ || stop_; };
  {
    std::unique_lock lock(mu_);
    if (!attempt_done_ && !clock_->waitUntil(lock, cv_, deadline, finished)) {
      return false;  // the previous attempt still hangs
    }
    if (!attempt_done_) {
      return false;  // stopped
    }
  }
  if (attempt_.joinable()) {
    attempt_.join();
  }
  {
    std::lock_guard lock(mu_);
    attempt_done_ = false;
    attempt_ok_ = false;
  }
  attempt_ = std::thread([this] {
    const bool ok = tryAcquireOrRenew();
    {
      std::lock_guard lock(mu_);
      attempt_done_ = true;
      attempt_ok_ = ok;
    }
    cv_.notify_all();
  });
  std::unique_lock lock(mu_);
  clock_->waitUntil(lock, cv_, deadline, finished);
  if (!attempt_done_) {
    spdlog::warn("leader election {}: renewal still pending at the renew deadline",
                 config_.lease_name);
    return false;
  }
  return attempt_ok_;
}

void LeaderElector::release() {
  auto current = client_->get(kube::kLease, config_.lease_namespace, config_.lease_name);
  if (!current.isOk() || recordOf(*current).holder != config_.identity) {
    return;
  }
  Record released = recordOf(*current);
  released.holder.clear();
  released.lease_duration_seconds = 1;
  released.renew_time = formatMicroTime(clock_->wallNow());
  json next = *current;
  next["spec"] = specOf(released);
  auto updated = client_->update(kube::kLease, config_.lease_namespace, next);
  if (!updated.isOk()) {
    spdlog::warn("leader election {}: releasing lease: {}", config_.lease_name,
                 updated.status().toString());
  }
}

}  // namespace novacron::runtime
