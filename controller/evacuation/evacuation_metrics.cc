#include "controller/evacuation/evacuation_metrics.h"

#include <array>

#include <prometheus/gauge.h>

namespace novacron::controller::evacuation {
namespace {

constexpr std::array<const char*, 4> kStates = {"migrated", "stopped", "pending", "blocked"};

}  // namespace

struct EvacuationMetrics::Impl {
  metrics::RegistryPtr registry;
  prometheus::Family<prometheus::Gauge>& vms;
  std::mutex mu;
  std::map<std::string, std::array<prometheus::Gauge*, 4>> series;  // guarded by mu

  explicit Impl(metrics::RegistryPtr r)
      : registry(std::move(r)),
        vms(prometheus::BuildGauge()
                .Name("novacron_evacuation_vms")
                .Help("VMs of a hypervisor in maintenance by evacuation state (migrated, stopped, "
                      "pending, blocked)")
                .Register(*registry)) {}
};

EvacuationMetrics::EvacuationMetrics(metrics::RegistryPtr registry)
    : impl_(std::make_unique<Impl>(registry ? std::move(registry) : metrics::defaultRegistry())) {}

EvacuationMetrics::~EvacuationMetrics() = default;

void EvacuationMetrics::set(const std::string& hypervisor,
                            const std::optional<api::EvacuationStatus>& status) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->series.find(hypervisor);
  if (!status) {
    if (it != impl_->series.end()) {
      for (prometheus::Gauge* g : it->second) {
        impl_->vms.Remove(g);
      }
      impl_->series.erase(it);
    }
    return;
  }
  if (it == impl_->series.end()) {
    std::array<prometheus::Gauge*, 4> gauges{};
    for (std::size_t i = 0; i < kStates.size(); ++i) {
      gauges[i] = &impl_->vms.Add({{"hypervisor", hypervisor}, {"state", kStates[i]}});
    }
    it = impl_->series.emplace(hypervisor, gauges).first;
  }
  const std::array<double, 4> values = {
      static_cast<double>(status->migrated), static_cast<double>(status->stopped),
      static_cast<double>(status->pending), static_cast<double>(status->blocked.size())};
  for (std::size_t i = 0; i < values.size(); ++i) {
    it->second[i]->Set(values[i]);
  }
}

}  // namespace novacron::controller::evacuation
