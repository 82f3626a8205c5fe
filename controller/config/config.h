// ControllerConfig: everything the controller can be told through its configuration file (in a
// cluster, a ConfigMap mounted as a file). Parsing is strict: unknown keys, wrong types and values
// out of range are InvalidArgument errors naming the field ("scheduler.policy: must be BinPack or
// Spread, got \"Packed\""), all problems at once, so a bad ConfigMap fails loudly at startup.
//
// Example (every key optional; these are the defaults):
//   scheduler:
//     policy: BinPack            # BinPack | Spread
//     defaultOvercommit:         # per resource unset in a Hypervisor's spec.overcommit; 3 dp
//       cpu: 4
//       memory: 1
//     percentageOfHypervisorsToScore: 0  # 0..100; 0 = adaptive (kube-scheduler's rule): a
//                                        # decision stops looking once this share of the fleet
//                                        # (at least 100) is feasible; 100 = score every one
//   hypervisorHealth:
//     heartbeatTimeout: 40s      # Lease older than this -> Hypervisor Ready=Unknown
//     failover: None             # None | Fenced (restart elsewhere only once fencing is confirmed)
//   workers:
//     vm: 16                     # reservations on one hypervisor are written together, so more
//                                # workers do not race (tests/bench/README.md, third pass)
//     hypervisor: 2
//     migration: 2
//   migrations:
//     maxParallel: 5             # migrations past Pending in the whole cluster (1..1000); the
//                                # per-hypervisor limits are Hypervisor spec.migration
//     sourceTimeout: 60s         # a silent source node-daemon is asked to abort after this
//                                # (plus progressTimeoutSeconds while it heartbeats), and the
//                                # migration fails after this much more (docs/migration.md)
//     coldTimeout: 1h            # a Cold migration still running after this is aborted and
//                                # ends Failed/ColdMigrationTimeout (1m..24h)
//   leaderElection:
//     enabled: true
//     namespace: novacron-system
//     leaseName: novacron-controller
//     leaseDuration: 15s
//     renewDeadline: 10s
//     retryPeriod: 2s
//   server:
//     bindAddress: 0.0.0.0:8080  # /metrics, /healthz, /readyz
//   rebalance:                   # docs/rebalancing.md; off unless enabled
//     enabled: false
//     mode: Propose              # Propose (Events, metrics, log) | Execute (creates VMMigrations)
//     metric: MemoryMaxMin       # MemoryMaxMin | MemoryStdDev | CpuMaxMin | CpuStdDev
//     maxImbalancePercent: 20    # allowed spread in percentage points (1..100)
//     budgetPerHour: 10          # rebalance migrations created in any hour (0..1000)
//     budgetPerNodePerHour: 2    # ...per hypervisor, as source or target (0..1000)
//     cooldown: 1h               # a VM moves at most once within this
//     quietHours: []             # UTC windows, e.g. ["22:00-06:00"]: nothing new starts inside
//     excludeNamespaces: []
//     excludeSelector: ""        # label selector; matching VMs never move
//     interval: 5m               # one planning round this often (10s..24h)
// Durations are Go-style: "500ms", "40s", "1m30s", "2h".
// Thread-safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "controller/rebalance/rebalance_config.h"
#include "controller/scheduler/resources.h"
#include "controller/scheduler/scheduler.h"
#include "lib/core/statusor.h"

namespace novacron::controller::config {

enum class FailoverPolicy {
  kNone,    // VMs of an unreachable hypervisor stay there, phase Unknown, until it comes back
  kFenced,  // ...unless the Hypervisor is deleted or marked fenced; then they are rescheduled
};

std::string_view failoverPolicyName(FailoverPolicy policy);

struct SchedulerConfig {
  scheduler::Policy policy = scheduler::Policy::kBinPack;
  scheduler::OvercommitRatios default_overcommit;  // cpu 4, memory 1
  int percentage_to_score = 0;  // scheduler::SchedulerOptions::percentage_to_score
};

struct HealthConfig {
  std::chrono::milliseconds heartbeat_timeout{std::chrono::seconds(40)};
  FailoverPolicy failover = FailoverPolicy::kNone;
};

struct WorkerConfig {
  int vm = 16;
  int hypervisor = 2;
  int migration = 2;
};

inline constexpr int kMaxParallelMigrations = 1000;

struct MigrationsConfig {
  int max_parallel = 5;  // cluster-wide, phases Scheduling..Finalizing
  std::chrono::milliseconds source_timeout{std::chrono::seconds(60)};  // 1s..1h
  std::chrono::milliseconds cold_timeout{std::chrono::hours(1)};       // 1m..24h
};

struct LeaderElectionConfig {
  bool enabled = true;
  std::string namespace_ = "novacron-system";
  std::string lease_name = "novacron-controller";
  std::chrono::milliseconds lease_duration{std::chrono::seconds(15)};
  std::chrono::milliseconds renew_deadline{std::chrono::seconds(10)};
  std::chrono::milliseconds retry_period{std::chrono::seconds(2)};
};

struct ServerConfig {
  std::string bind_address = "0.0.0.0:8080";
};

struct ControllerConfig {
  SchedulerConfig scheduler;
  HealthConfig health;
  WorkerConfig workers;
  MigrationsConfig migrations;
  LeaderElectionConfig leader_election;
  ServerConfig server;
  rebalance::RebalanceConfig rebalance;
};

// Parses YAML text (empty text gives the defaults) and validates the result.
core::StatusOr<ControllerConfig> parseConfig(std::string_view yaml);
// Reads and parses a file; NotFound if it does not exist.
core::StatusOr<ControllerConfig> loadConfigFile(const std::string& path);
// Cross-field checks (also run by parseConfig): ranges, leaseDuration > renewDeadline >
// retryPeriod.
core::Status validateConfig(const ControllerConfig& config);

// "40s", "1m30s", "500ms", "2h" -> milliseconds; InvalidArgument otherwise (no sign, no bare
// numbers: a duration without a unit is ambiguous).
core::StatusOr<std::chrono::milliseconds> parseDuration(std::string_view text);
// Decimal ratio with at most three decimals ("1.5", "4", "0.75") -> thousandths.
core::StatusOr<scheduler::Ratio> parseRatio(std::string_view text);

}  // namespace novacron::controller::config
