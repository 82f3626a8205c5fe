// HypervisorReconciler: per Hypervisor, keeps the capacity ledger and the health the controller
// owns (docs/architecture.md, "Who writes what").
//   - Ledger: recomputed level-triggered from the VMs bound to the hypervisor (ledger.h); entries
//     are dropped only after a live read of the VM confirms it is gone or bound elsewhere.  The
//     ledger (status.allocations) and its totals (status.allocated {cpus, memory, vms}) are
//     written together, in one status write conditional on the Hypervisor's resourceVersion.
//   - Health: a heartbeat Lease (namespace novacron-node-lease, name = hypervisor) not renewed
//     within the timeout sets Ready=Unknown (reason HeartbeatTimeout) and enqueues the
//     hypervisor's VMs (they get HypervisorUnreachable, phase Unknown); a renewed Lease sets Ready
//     back to True.
//     Schedulable=False while cordoned, in maintenance, fenced or not Ready.
//   - Maintenance: cordon, and evacuate every VM by its evictionStrategy through evacuation
//     VMMigrations (controller/evacuation/evacuator.h); status.evacuation and the conditions
//     Evacuating/Evacuated go out in the same status write as the rest.
// Each reconcile observes (cache, heartbeat; live reads only before a ledger write: of the
// Hypervisor, which the cache may hold older than the VMs, and of a VM whose entry would go),
// decides (ledger::planLedger, hypervisor_decision.h; pure) and writes only what changed.
// Thread-safety: reconcile() may run concurrently for different keys.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "controller/cache/cluster_cache.h"
#include "controller/config/config.h"
#include "controller/evacuation/evacuator.h"
#include "controller/health/heartbeat_tracker.h"
#include "controller/ledger/ledger.h"
#include "controller/scheduler_metrics.h"
#include "lib/core/clock.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/runtime/controller.h"
#include "lib/runtime/event_recorder.h"

namespace novacron::controller {

struct HypervisorReconcilerDeps {
  kube::ClientPtr client;
  std::shared_ptr<const ClusterCache> cache;
  std::shared_ptr<health::HeartbeatTracker> heartbeats;
  std::shared_ptr<SchedulerMetrics> metrics;       // may be null
  std::shared_ptr<runtime::EventRecorder> events;  // may be null
  core::ClockPtr clock = core::systemClock();
  config::ControllerConfig config;
  // Enqueues a VM key ("namespace/name") for the VM reconciler.
  std::function<void(const std::string&)> enqueue_vm;
  std::shared_ptr<evacuation::EvacuationMetrics> evacuation_metrics;  // may be null
  // The unbound VMs to enqueue when capacity appears (VmReconciler::waitingForCapacity()); unset:
  // every unbound VM in the cache. With thousands of pending VMs and hypervisors, "every unbound
  // VM per hypervisor event" was O(hypervisors x VMs) at a controller's start (issue 15, B3).
  std::function<std::vector<std::string>()> waiting_vms;
};

class HypervisorReconciler {
public:
  explicit HypervisorReconciler(HypervisorReconcilerDeps deps)
      : deps_(std::move(deps)),
        evacuator_(evacuation::EvacuatorDeps{deps_.client, deps_.cache, deps_.events,
                                             deps_.evacuation_metrics, deps_.clock}) {}

  // key: the Hypervisor name.
  core::StatusOr<runtime::ReconcileResult> reconcile(const std::string& name);

private:
  // A heartbeat freshness change since the last look (first sight counts as one).
  struct HealthChange {
    bool transitioned = false;
    bool became_stale = false;  // fresh -> stale of a hypervisor seen before
  };
  // The ledger as written (or as it was when nothing needed writing).
  struct LedgerOutcome {
    api::Hypervisor stored;
    bool freed = false;  // fewer VMs than before: pending VMs may fit now
    // The ledger holds entries of VMs not bound here (reservations in flight, or stale ones).
    bool unbound_entries = false;
  };

  // How soon a ledger holding entries of VMs not bound here is looked at again.
  static constexpr std::chrono::milliseconds kLedgerRecheck{2000};

  void forget(const std::string& name);
  bool observeHeartbeat(const std::string& name);
  HealthChange noteHealth(const api::Hypervisor& hv, bool fresh);
  void reportUnreachableCount();

  // `live`: `hv` was just read from the API server (else it is the cache's copy, which is read
  // again live before a ledger write).
  core::StatusOr<LedgerOutcome> reconcileLedger(const api::Hypervisor& hv, bool live = false);
  api::Hypervisor dropLegacyLedger(const api::Hypervisor& hv);
  ledger::LedgerPlan planLedgerFromCache(const api::Hypervisor& hv, const ledger::Ledger& current,
                                         const std::vector<VirtualMachinePtr>& bound);
  core::Status confirmRemovals(const api::Hypervisor& hv, ledger::LedgerPlan& plan);
  void enqueueVmsOn(const std::string& name);
  void enqueueUnbound();

  HypervisorReconcilerDeps deps_;
  evacuation::Evacuator evacuator_;
  std::mutex mu_;
  std::map<std::string, bool> last_fresh_;  // guarded by mu_
  int64_t stale_count_ = 0;                 // guarded by mu_; entries of last_fresh_ false
};

}  // namespace novacron::controller
