// The VM reconciler's decide step (docs/architecture.md, "How a reconciler is written"): pure
// functions from what the reconciler observed to what it should write — the controller's part of
// the VM's status (docs/architecture.md, "Who writes what"), the binding, the label and the events.
// They never call the API server; vm_reconciler.cc observes, calls them, and acts.
// The only input besides their arguments is the clock, read for condition transition times.
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "controller/config/config.h"
#include "controller/scheduler/scheduler.h"
#include "lib/api/virtual_machine.h"
#include "lib/core/clock.h"

namespace novacron::controller {

// An event to record about the VM once the write it belongs to succeeded.
struct VmEvent {
  std::string type;  // "Normal" or "Warning"
  std::string reason;
  std::string message;
  bool operator==(const VmEvent&) const = default;
};

// --- unbound VMs ---

struct UnboundFacts {
  // The hypervisor already holding this VM's reservation (PlacementState's index: same uid,
  // smallest name, not fenced), if any.
  std::optional<std::string> reservation;
  // The hypervisors to choose from when there is no reservation (order = scheduler's order); not
  // owned (PlacementState lends its views for the length of one decision). Null: none.
  const scheduler::HypervisorSource* hypervisors = nullptr;
  // Where the scheduler starts looking (PlacementState rotates it between decisions).
  std::size_t start = 0;
};

struct UnboundDecision {
  enum class Action {
    kWriteStatus,      // halted or unschedulable: write `status` if it changed
    kReserveAndBind,   // reserve on `hypervisor`, then bind with `status`
    kCompleteBinding,  // the reservation exists: bind with `status`
  };
  Action action = Action::kWriteStatus;
  std::string hypervisor;            // the target of a binding
  api::VirtualMachineStatus status;  // the status to write (for a binding: the bound status)
  std::vector<VmEvent> events;       // after the write succeeded
  std::optional<std::chrono::seconds> retry_after;  // look again without any cluster change
  std::string explanation;   // the scheduler's explanation, for logs and metrics
  std::size_t examined = 0;  // hypervisors the scheduler looked at (0: it did not run)
};

// How long an unschedulable VM waits before it is tried again without any cluster change.
inline constexpr std::chrono::seconds kUnschedulableRetry{20};

// Halted VMs are not placed; otherwise a reservation is completed, or the scheduler picks a
// hypervisor, or the VM stays Scheduling with Scheduled=False/Unschedulable and the explanation.
UnboundDecision decideUnbound(const api::VirtualMachine& vm, const UnboundFacts& facts,
                              const scheduler::Scheduler& scheduler, const core::Clock& clock);

// The status a binding to `hypervisor` writes: status.hypervisor, status.allocated, phase
// Scheduled (unless the node-daemon already reports one) and Scheduled=True.
api::VirtualMachineStatus boundStatus(const api::VirtualMachine& vm, const std::string& hypervisor,
                                      const core::Clock& clock);

// --- bound VMs ---

struct BoundFacts {
  std::string hypervisor;  // status.hypervisor (non-empty)
  std::string label;       // the label novacron.io/hypervisor as it is
  bool hypervisor_exists = true;
  bool fenced = false;  // the Hypervisor carries novacron.io/fenced=true
  bool heartbeat_fresh = true;
  config::FailoverPolicy failover = config::FailoverPolicy::kNone;
  std::chrono::milliseconds heartbeat_timeout{40000};
};

struct BoundDecision {
  enum class Action {
    kFailover,     // write `status` (unbound) through the status subresource, then the label
    kRepairLabel,  // put the label back to status.hypervisor; nothing else this pass
    kWriteStatus,  // write `status` if it changed
  };
  Action action = Action::kWriteStatus;
  api::VirtualMachineStatus status;
  std::vector<VmEvent> events;  // after the write succeeded
  std::string why;              // for the log
};

BoundDecision decideBound(const api::VirtualMachine& vm, const BoundFacts& facts,
                          const core::Clock& clock);

// --- VMs being deleted ---

struct DeletingFacts {
  std::string bound;  // status.hypervisor, empty when unbound
  std::string label;
  bool has_node_finalizer = false;  // novacron.io/node-cleanup
  bool hypervisor_exists = true;
  bool hypervisor_fenced = false;
  bool force_delete = false;  // annotation novacron.io/force-delete=true
  // The failover policy is Fenced: a fence confirms the node's domains are gone.
  bool failover_fenced = false;
  std::string vm_key;  // namespace/name (uid), for the orphan report
  // Unbound VMs: the node its failover left the domain and disks on
  // (novacron.io/node-resources-on, or the label a cut-off failover left).
  std::string resources_on;
  bool resources_on_exists = true;
  bool resources_on_fenced = false;
};

struct DeletingDecision {
  bool repair_label = false;       // the node-daemon must still see the VM to clean up
  bool release_finalizer = false;  // nobody else will: the node is fenced or gone, and forced
  std::vector<VmEvent> events;     // WaitingForNode now; ForceDeleted after the release
  // A released VM whose disks stay on a fenced or gone node: the orphan to report on that
  // Hypervisor (if it still exists) once the release succeeded.
  std::optional<VmEvent> orphan_event;
  std::string orphan_on;
  // An unbound VM whose old node is live again: label it for that node, whose node-daemon then
  // cleans up an unbound VM being deleted (node-daemon/vm/reconciler.cc) and releases its
  // finalizer.
  std::string label_for_cleanup;
};

// A bound VM on a fenced or gone node is released on request (novacron.io/force-delete), or
// with failover policy Fenced, where the fence is the confirmation failover acts on (like the pod
// GC force-deleting the terminating pods of an out-of-service node). An unbound VM still holding
// the node's finalizer was failed over from a fenced or gone node: its finalizer is released while
// that node is still fenced or gone — never for a live node. Released without force-delete, the
// disks left on a fenced node are reported as orphans.
DeletingDecision decideDeleting(const DeletingFacts& facts);

// --- phase events ---

// The event for the node-daemon's phase change from `previous` (empty: first sight, no event):
// Stopped and Failed; Running is the node-daemon's own "Started" Event.
std::optional<VmEvent> phaseEvent(const std::string& previous, const api::VirtualMachine& vm);

}  // namespace novacron::controller
