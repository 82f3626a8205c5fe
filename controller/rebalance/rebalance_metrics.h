// novacron_rebalance_* metrics (docs/rebalancing.md), set once per round by the Rebalancer:
//   novacron_rebalance_imbalance_percent           the fleet's spread now (percentage points)
//   novacron_rebalance_allowed_imbalance_percent   rebalance.maxImbalancePercent
//   novacron_rebalance_proposed_migrations         moves in the latest plan (either mode)
//   novacron_rebalance_migrations_created_total    VMMigrations created (Execute mode)
//   novacron_rebalance_budget_remaining            migrations the hourly budget still allows
//   novacron_rebalance_paused                      1 while a Failed rebalance migration pauses it
//   novacron_rebalance_rounds_total{state}         Planned | Waiting | QuietHours | Paused
//   novacron_rebalance_errors_total                failed creates (retried next round)
// Thread-safety: prometheus-cpp metrics are thread-safe.
#pragma once

#include <memory>

#include "controller/rebalance/round.h"
#include "lib/metrics/registry.h"

namespace novacron::controller::rebalance {

class RebalanceMetrics {
public:
  explicit RebalanceMetrics(metrics::RegistryPtr registry = nullptr);
  ~RebalanceMetrics();

  void round(const RoundDecision& decision, double allowed_percent);
  void created();
  void error();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace novacron::controller::rebalance
