// Rebalancer: the opt-in rebalancing loop (docs/rebalancing.md). Every rebalance.interval, once
// the informer caches synced, it observes hypervisors, bound VMs and VMMigrations from the cache,
// decides with decideRound() (round.h: pure) and acts:
//   Propose: an Event RebalanceProposed on each VM the plan would move, a log line per move;
//   Execute: creates each VMMigration (labelled novacron.io/initiator=rebalance, deterministic
//            name: AlreadyExists means an earlier round made it) and an Event
//            RebalanceMigrationCreated on the VM;
//   Paused:  a Warning Event RebalancePaused on the Failed migration.
// Every round logs one summary line and sets the novacron_rebalance_* metrics. It holds no state
// between rounds that matters: the budget and cooldowns are read back from the API each round.
// Runs only while the controller leads (ControllerApp starts and stops it).
// Thread-safety: start/stop from one thread; runOnce() from one thread at a time.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "controller/cache/cluster_cache.h"
#include "controller/config/config.h"
#include "controller/health/heartbeat_tracker.h"
#include "controller/rebalance/planner.h"
#include "controller/rebalance/rebalance_metrics.h"
#include "controller/rebalance/round.h"
#include "lib/core/clock.h"
#include "lib/kube/client.h"
#include "lib/runtime/event_recorder.h"

namespace novacron::controller::rebalance {

struct RebalancerDeps {
  kube::ClientPtr client;
  std::shared_ptr<const ClusterCache> cache;
  std::shared_ptr<const health::HeartbeatTracker> heartbeats;
  std::shared_ptr<runtime::EventRecorder> events;
  core::ClockPtr clock;
  config::ControllerConfig config;  // rebalance, and the scheduler's overcommit defaults
  std::shared_ptr<RebalanceMetrics> metrics;
};

// The planner's options from the configuration (the selector was checked when it was parsed).
PlannerOptions plannerOptionsFor(const config::ControllerConfig& config);

class Rebalancer {
public:
  explicit Rebalancer(RebalancerDeps deps);
  ~Rebalancer();
  Rebalancer(const Rebalancer&) = delete;
  Rebalancer& operator=(const Rebalancer&) = delete;

  // Starts the loop thread; does nothing when rebalance.enabled is false.
  void start();
  void stop();

  // One round: observe, decide, act. The caller makes sure the cache has synced.
  RoundDecision runOnce();

private:
  RoundInput observe() const;
  void act(const RoundDecision& decision);
  void loop();

  RebalancerDeps deps_;
  PlannerOptions options_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace novacron::controller::rebalance
