#include "controller/rebalance/rebalance_metrics.h"

#include <string>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

namespace novacron::controller::rebalance {

struct RebalanceMetrics::Impl {
  metrics::RegistryPtr registry;
  prometheus::Gauge& imbalance;
  prometheus::Gauge& allowed;
  prometheus::Gauge& proposed;
  prometheus::Counter& created;
  prometheus::Gauge& budget;
  prometheus::Gauge& paused;
  prometheus::Family<prometheus::Counter>& rounds;
  prometheus::Counter& errors;

  static prometheus::Gauge& gauge(prometheus::Registry& r, const char* name, const char* help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
  }

  explicit Impl(metrics::RegistryPtr r)
      : registry(std::move(r)),
        imbalance(gauge(*registry, "novacron_rebalance_imbalance_percent",
                        "The fleet's spread by the configured metric, percentage points")),
        allowed(gauge(*registry, "novacron_rebalance_allowed_imbalance_percent",
                      "rebalance.maxImbalancePercent")),
        proposed(gauge(*registry, "novacron_rebalance_proposed_migrations",
                       "Moves in the latest rebalancing plan")),
        created(prometheus::BuildCounter()
                    .Name("novacron_rebalance_migrations_created_total")
                    .Help("VMMigrations created by rebalancing")
                    .Register(*registry)
                    .Add({})),
        budget(gauge(*registry, "novacron_rebalance_budget_remaining",
                     "Rebalance migrations the hourly budget still allows")),
        paused(gauge(*registry, "novacron_rebalance_paused",
                     "1 while a Failed rebalance migration pauses rebalancing")),
        rounds(prometheus::BuildCounter()
                   .Name("novacron_rebalance_rounds_total")
                   .Help("Rebalancing rounds by state")
                   .Register(*registry)),
        errors(prometheus::BuildCounter()
                   .Name("novacron_rebalance_errors_total")
                   .Help("VMMigration creates that failed (retried next round)")
                   .Register(*registry)
                   .Add({})) {}
};

RebalanceMetrics::RebalanceMetrics(metrics::RegistryPtr registry)
    : impl_(std::make_unique<Impl>(registry ? std::move(registry) : metrics::defaultRegistry())) {}

RebalanceMetrics::~RebalanceMetrics() = default;

void RebalanceMetrics::round(const RoundDecision& d, double allowed_percent) {
  impl_->imbalance.Set(d.plan.spread_before);
  impl_->allowed.Set(allowed_percent);
  impl_->proposed.Set(static_cast<double>(d.plan.moves.size()));
  impl_->budget.Set(d.budget_remaining);
  impl_->paused.Set(d.state == RoundState::kPaused ? 1 : 0);
  impl_->rounds.Add({{"state", std::string(roundStateName(d.state))}}).Increment();
}

void RebalanceMetrics::created() {
  impl_->created.Increment();
}

void RebalanceMetrics::error() {
  impl_->errors.Increment();
}

}  // namespace novacron::controller::rebalance
