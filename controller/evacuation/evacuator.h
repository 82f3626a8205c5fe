// Evacuator: the I/O side of a Hypervisor's evacuation (evacuation_decide.h has the policy). The
// Hypervisor reconciler calls it once per reconcile: it observes the hypervisor's VMs and the
// migrations that concern them from the cache, decides, carries the plan out (creates evacuation
// VMMigrations, stops VMs with evictionStrategy None, gives them their runStrategy back and
// removes evacuation VMMigrations when maintenance is cleared) and returns the status part
// (status.evacuation, conditions Evacuating/Evacuated) for the reconciler's one status write.
// Every write is idempotent: a create of an existing name is success, VM writes carry the
// resourceVersion they were based on. Each action logs one line and records an Event on the
// Hypervisor; novacron_evacuation_vms{hypervisor,state} follows status.evacuation.
// Thread-safety: reconcile() may run concurrently for different hypervisors.
#pragma once

#include <chrono>
#include <memory>

#include "controller/cache/cluster_cache.h"
#include "controller/evacuation/evacuation_decide.h"
#include "controller/evacuation/evacuation_metrics.h"
#include "lib/api/hypervisor.h"
#include "lib/core/clock.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/runtime/event_recorder.h"

namespace novacron::controller::evacuation {

// What an evacuation looks at of a VM.
VmFacts vmFacts(const api::VirtualMachine& vm);

struct EvacuatorDeps {
  kube::ClientPtr client;
  std::shared_ptr<const ClusterCache> cache;
  std::shared_ptr<runtime::EventRecorder> events;  // may be null
  std::shared_ptr<EvacuationMetrics> metrics;      // may be null
  core::ClockPtr clock = core::systemClock();
};

class Evacuator {
public:
  explicit Evacuator(EvacuatorDeps deps) : deps_(std::move(deps)) {}

  // Acts for `hv` (as stored) and applies status.evacuation and the conditions to `desired` (the
  // status the reconciler is about to write). Returns how long until it should look again
  // without a change (zero: only on a change).
  core::StatusOr<std::chrono::seconds> reconcile(const api::Hypervisor& hv,
                                                 api::HypervisorStatus& desired);

  // What decideEvacuation() gets for `hv` from the cache (exposed for tests).
  EvacuationInput observe(const api::Hypervisor& hv) const;

private:
  core::Status createMigration(const api::Hypervisor& hv, const CreateMigration& c);
  core::Status changeVm(const api::Hypervisor& hv, const VmChange& c);
  core::Status removeMigration(const api::Hypervisor& hv, const DeleteMigration& d);
  void applyStatus(const api::Hypervisor& hv, const EvacuationPlan& plan,
                   api::HypervisorStatus& desired);
  void event(const api::Hypervisor& hv, std::string_view type, std::string_view reason,
             const std::string& message);

  EvacuatorDeps deps_;
};

}  // namespace novacron::controller::evacuation
