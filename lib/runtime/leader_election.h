// LeaderElector: leader election on a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection package does it.
//
// Algorithm (every write is an update conditional on the Lease's resourceVersion, so two
// candidates can never both win the same round):
//   - acquire: every retry_period, read the Lease. It is free if it does not exist (create it),
//     has no holder, or its record has not changed for lease_duration as measured on OUR clock
//     since we first saw that record (no trust in other machines' clocks). Then write ourselves
//     as holder (leaseTransitions+1 when the holder changes).
//   - lead: on_started_leading(stop_token) runs on its own thread; every retry_period the Lease is
//     renewed (renewTime). If no renewal succeeded for renew_deadline (API server unreachable,
//     process paused, lease taken), leadership is LOST: the stop token is triggered, the elector
//     waits for on_started_leading to return, then calls on_stopped_leading and run() returns.
//   - every renewal is bounded by the renew deadline: it runs on a helper thread and the renew
//     loop waits for it only until last successful renewal + renew_deadline, so a request that
//     hangs (a client timeout longer than the lease, a half-open connection) cannot keep us
//     believing we lead after another candidate may have acquired. A hung attempt is left to
//     finish on its own; no new one starts until it did. (Wire a client whose per-request
//     timeout is <= renew_deadline, as controller/main.cc does, so hung attempts end too.)
//   - isLeader() is true only while the last successful renewal is younger than renew_deadline,
//     so a process resumed after a long pause (SIGSTOP) does not believe it still leads even
//     before its renew loop has noticed. Since renew_deadline < lease_duration, the old leader
//     stops believing before any other candidate can acquire.
//   - stop(): ends the work the same way; with release_on_cancel the Lease is then released
//     (holder cleared, leaseDurationSeconds 1) so another candidate takes over at once.
// Time comes from config.clock (monotonic for expiry, wall for the timestamps written), and the
// waits between attempts (retry_period) are waits on that clock.
// Metric: leader_election_master_status{name} (1 while leading).
// Thread-safety: run() on one thread; stop(), isLeader(), leader() from any thread. Callbacks
// must return promptly once the stop token fires.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>
#include <prometheus/gauge.h>

#include "lib/core/clock.h"
#include "lib/core/status.h"
#include "lib/kube/client.h"
#include "lib/metrics/registry.h"

namespace novacron::runtime {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per candidate, e.g. "<hostname>_<uuid>"
  std::chrono::milliseconds lease_duration{std::chrono::seconds(15)};
  std::chrono::milliseconds renew_deadline{std::chrono::seconds(10)};
  std::chrono::milliseconds retry_period{std::chrono::seconds(2)};
  bool release_on_cancel = true;
  core::ClockPtr clock;           // default core::systemClock()
  metrics::RegistryPtr registry;  // default metrics::defaultRegistry()
};

struct LeaderCallbacks {
  // Runs on its own thread while we lead; must return soon after `stop` is requested.
  std::function<void(std::stop_token stop)> on_started_leading;
  // Called after on_started_leading returned, when leadership ended (lost or stopped).
  std::function<void()> on_stopped_leading;
  // Called at once when leadership is LOST (not on stop()), on run()'s thread, before waiting for
  // on_started_leading to return: that wait is only as short as the work's slowest request, so
  // this is where a process bounds its exit (core::ExitDeadline; issue 18). Must return promptly.
  std::function<void()> on_lost_leadership;
  // Called when the observed holder changes (including to ourselves).
  std::function<void(const std::string& identity)> on_new_leader;
};

class LeaderElector {
public:
  // Crashes on an invalid config (renew_deadline must be < lease_duration, retry_period <
  // renew_deadline, names set): a programming error, caught by the first test.
  LeaderElector(kube::ClientPtr client, LeaderElectionConfig config, LeaderCallbacks callbacks);
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Blocks: acquires the lease, leads until leadership is lost or stop() is called, then returns.
  // Returns OK after stop(), kAborted when leadership was lost.
  core::Status run();
  void stop();

  bool isLeader() const;
  // The holder last observed in the Lease ("" if none).
  std::string leader() const;

  // One acquire-or-renew attempt (exposed for tests). True when we hold the lease afterwards.
  bool tryAcquireOrRenew();

private:
  struct Record {
    std::string holder;
    int64_t lease_duration_seconds = 0;
    std::string acquire_time;
    std::string renew_time;
    int64_t transitions = 0;
    bool operator==(const Record&) const = default;
  };

  static Record recordOf(const nlohmann::json& lease);
  nlohmann::json specOf(const Record& record) const;
  void observe(const Record& record, core::Clock::TimePoint now);
  void setLeading(bool leading);
  // Waits retry_period (jittered) unless stopped; returns false when stopped.
  bool sleep(double jitter);
  void release();
  // Runs tryAcquireOrRenew() on attempt_ and waits for it until `deadline` (or stop()). False if it
  // failed, or was still running at the deadline.
  bool renewBefore(core::Clock::TimePoint deadline);

  const kube::ClientPtr client_;
  const LeaderElectionConfig config_;
  const LeaderCallbacks callbacks_;
  const core::ClockPtr clock_;
  prometheus::Gauge* master_status_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  bool stop_ = false;                       // guarded by mu_
  bool leading_ = false;                    // guarded by mu_
  core::Clock::TimePoint last_renew_{};     // guarded by mu_; start of the last successful write
  Record observed_;                         // guarded by mu_
  core::Clock::TimePoint observed_time_{};  // guarded by mu_
  std::string observed_resource_version_;   // guarded by mu_
  bool attempt_done_ = true;                // guarded by mu_
  bool attempt_ok_ = false;                 // guarded by mu_
  std::thread attempt_;  // the last renewal attempt; used by run()'s thread, joined in ~
};

}  // namespace novacron::runtime
