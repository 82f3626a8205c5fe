// VmReconciler: places unbound VirtualMachines and keeps the controller's part of every VM's
// status (docs/architecture.md, "Who writes what"): status.hypervisor, status.allocated, the
// Scheduled and HypervisorUnreachable conditions, phase while unbound (Pending / Stopped for
// Halted) or unreachable (Unknown), and Ready while the node-daemon cannot (not scheduled,
// hypervisor unreachable). Phases the node-daemon reports (Starting, Running, Stopped, Failed, ...)
// are never overwritten, except by Unknown while the hypervisor is unreachable.
//
// Failover: VMs of an unreachable hypervisor stay bound to it. Only with failover policy Fenced,
// and only when fencing is confirmed (the Hypervisor object is deleted, or an admin set the
// annotation novacron.io/fenced=true), is a VM unbound so that it is placed again.
// Events: Scheduled, FailedScheduling, HypervisorUnreachable, FailingOver, and Started / Stopped /
// Failed when the node-daemon's reported phase changes.
// Each reconcile observes (the cache, once), decides (vm_decision.h, pure) and acts; status is
// written only when it changed, so reconciling twice in a row writes nothing the second time.
// Thread-safety: reconcile() may run concurrently for different keys (the workqueue never hands
// one key to two workers).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "controller/cache/cluster_cache.h"
#include "controller/config/config.h"
#include "controller/health/heartbeat_tracker.h"
#include "controller/scheduler/scheduler.h"
#include "controller/scheduler_metrics.h"
#include "controller/vm/binder.h"
#include "controller/vm/placement_state.h"
#include "controller/vm/vm_decision.h"
#include "lib/core/clock.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/runtime/controller.h"
#include "lib/runtime/event_recorder.h"

namespace novacron::controller {

struct VmReconcilerDeps {
  kube::ClientPtr client;
  std::shared_ptr<const ClusterCache> cache;
  std::shared_ptr<health::HeartbeatTracker> heartbeats;
  std::shared_ptr<SchedulerMetrics> metrics;       // may be null
  std::shared_ptr<runtime::EventRecorder> events;  // may be null
  core::ClockPtr clock = core::systemClock();
  config::ControllerConfig config;
};

class VmReconciler {
public:
  explicit VmReconciler(VmReconcilerDeps deps);

  // key: "namespace/name".
  core::StatusOr<runtime::ReconcileResult> reconcile(const std::string& key);

  // The unbound VMs a capacity change may concern: being decided now, or found unschedulable (or
  // failed) and waiting for a retry. A VM not reconciled yet, or queued again, sees the change
  // anyway. The hypervisor reconciler enqueues these when capacity appears, instead of every
  // unbound VM per hypervisor event (issue 15, B3).
  std::vector<std::string> waitingForCapacity() const;

private:
  core::StatusOr<runtime::ReconcileResult> reconcileDeleting(const api::VirtualMachine& vm);
  core::StatusOr<runtime::ReconcileResult> reconcileUnbound(const api::VirtualMachine& vm);
  // An unbound VM an evacuation had stopped gets its runStrategy back (evacuation_decide.h).
  core::Status restoreAfterEvacuationStop(const api::VirtualMachine& vm, api::RunStrategy to);
  // One observe-decide-act pass for an unbound VM. `lost_race`: set when the reservation lost
  // to a concurrent one (the ledger changed under it); the fresher ledger is assumed already.
  core::StatusOr<runtime::ReconcileResult> placeOnce(const api::VirtualMachine& vm,
                                                     core::Clock::TimePoint start, bool* lost_race);
  core::StatusOr<runtime::ReconcileResult> reconcileBound(const api::VirtualMachine& vm);

  // Observe: the cache (and heartbeat tracker), once per reconcile.
  DeletingFacts observeDeleting(const api::VirtualMachine& vm) const;
  // Observe and decide for an unbound VM: the placement state lends its views to the pure decide
  // step (vm_decision.h) for the length of the call.
  UnboundDecision decidePlacement(const api::VirtualMachine& vm);
  BoundFacts observeBound(const api::VirtualMachine& vm) const;
  bool heartbeatFresh(const std::string& hypervisor) const;

  // Act and report.
  // True: released now (and reported); false: the VM was gone already.
  core::StatusOr<bool> releaseFinalizer(const api::VirtualMachine& vm,
                                        const DeletingDecision& decision);
  void reportOrphan(const DeletingDecision& decision);
  core::Status labelForCleanup(const api::VirtualMachine& vm, const std::string& node);
  core::StatusOr<runtime::ReconcileResult> bind(const api::VirtualMachine& vm,
                                                const UnboundDecision& decision,
                                                core::Clock::TimePoint start, bool* lost_race);
  core::Status reserve(const api::VirtualMachine& vm, const std::string& hypervisor);
  core::Status failOver(const api::VirtualMachine& vm, const BoundDecision& decision);
  core::Status writeStatus(const api::VirtualMachine& vm, const api::VirtualMachineStatus& status);
  void emit(const api::VirtualMachine& vm, const std::vector<VmEvent>& events);
  void phaseEvents(const api::VirtualMachine& vm);
  void recordAttempt(std::string_view result, core::Clock::TimePoint start);

  VmReconcilerDeps deps_;
  scheduler::Scheduler scheduler_;
  Binder binder_;
  PlacementState placement_;
  // Observe, decide and assume run under it, one VM at a time, so that each decision sees the
  // reservations of the decisions before it (placement_.reserving()); the writes run in parallel.
  std::mutex decide_mu_;

  void setWaiting(const std::string& key, bool waiting);

  mutable std::mutex mu_;
  std::map<std::string, std::string> last_phase_;  // guarded by mu_; key -> phase last seen
  std::set<std::string> waiting_;                  // guarded by mu_; waitingForCapacity()
};

}  // namespace novacron::controller
