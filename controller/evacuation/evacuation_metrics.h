// novacron_evacuation_vms{hypervisor,state}: the VMs of each hypervisor in maintenance by
// evacuation state (migrated, stopped, pending, blocked), from its status.evacuation. The series
// of a hypervisor go away when its maintenance is cleared.
// Thread-safety: safe from any thread (a mutex guards the series map).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "lib/api/hypervisor.h"
#include "lib/metrics/registry.h"

namespace novacron::controller::evacuation {

class EvacuationMetrics {
public:
  explicit EvacuationMetrics(metrics::RegistryPtr registry = nullptr);
  ~EvacuationMetrics();

  // nullopt: no evacuation (the hypervisor's series are removed).
  void set(const std::string& hypervisor, const std::optional<api::EvacuationStatus>& status);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace novacron::controller::evacuation
