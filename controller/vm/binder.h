// Binder: turns a placement decision into a binding that can never overcommit a hypervisor or bind
// a VM twice, however many workers or controllers decide at once.
//
//   1. reserve(): add the VM's entry to the Hypervisor's ledger (annotation, see
//      controller/ledger/ledger.h) with a JSON patch that tests the ledger and every placement
//      input it was checked against (controller/ledger/ledger_patch.h; a PUT conditional on the
//      resourceVersion for the very first entry). The fit is re-checked against the very ledger
//      being written; on a conflict the Hypervisor is re-read live and the check repeated. Only
//      one of two racing reservations based on the same ledger can succeed.
//   2. bind(): write status.hypervisor (the binding: status subresource, which VM editors cannot
//      write) conditional on the VM's resourceVersion — a VM that someone else bound meanwhile
//      fails with kConflict — then mirror it into the label novacron.io/hypervisor, the
//      node-daemons' watch filter (labelFor()), adding the node-daemon's cleanup finalizer in
//      the same write. The node-daemon runs a VM only when status.hypervisor names its node; a
//      label alone starts nothing.
// Between 1 and 2 the ledger already counts the VM (over-counting is the safe direction); a crash
// there leaves a reservation that the next reconcile completes (findReservation()) on exactly the
// same hypervisor, or that the ledger reconciler drops once the VM is confirmed bound elsewhere or
// gone.
// Thread-safety: stateless apart from the client; safe from any thread.
#pragma once

#include <optional>
#include <string>

#include "controller/cache/cluster_cache.h"
#include "controller/scheduler/scheduler.h"
#include "lib/api/hypervisor.h"
#include "lib/api/virtual_machine.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/runtime/pending_writes.h"

namespace novacron::controller {

class Binder {
public:
  Binder(kube::ClientPtr client, const scheduler::Scheduler& scheduler)
      : client_(std::move(client)), scheduler_(scheduler) {}

  // Reserves capacity for `vm` on `hypervisor` (the copy the decision was based on) and returns
  // the Hypervisor as stored. OK also when the ledger already holds this VM. On a conflict the
  // Hypervisor is re-read: if only fields other than the ledger changed (the node-daemon's status)
  // the write is retried; if the ledger changed (another reservation) kConflict is returned and
  // `*latest` holds the live object, so the caller decides again with it (placing on a stale
  // view would skew the policy, though never overcommit). kAborted when it does not fit any
  // more, kNotFound when it is gone. `heartbeat_fresh` feeds the Ready filter of the re-check.
  core::StatusOr<api::Hypervisor> reserve(const api::VirtualMachine& vm,
                                          const api::Hypervisor& hypervisor, bool heartbeat_fresh,
                                          std::optional<api::Hypervisor>* latest = nullptr,
                                          int attempts = 4);

  // Writes `bound` (vm's status with status.hypervisor set, plus whatever else the caller puts in
  // the status) through the status subresource conditional on vm's resourceVersion, then sets
  // the label. Returns the stored VM. If the label write fails the binding stands and the error
  // is returned; the next reconcile repairs the label (labelFor()).
  core::StatusOr<api::VirtualMachine> bind(const api::VirtualMachine& vm,
                                           const api::VirtualMachineStatus& bound);

  // Makes the label mirror status.hypervisor (set, changed or removed), conditional on the VM's
  // resourceVersion. Returns the stored VM, or `vm` when nothing needed to change or this very
  // label write, based on this very version, succeeded already (a stale cache: no 409 write).
  core::StatusOr<api::VirtualMachine> labelFor(const api::VirtualMachine& vm);
  // The VM behind `key` is gone: drop what labelFor() remembers of it.
  void forget(const std::string& key) { labelled_.forget(key); }

private:
  // `current` with this VM's ledger entry added, nullopt when it is already there; kAborted when
  // it does not fit.
  core::StatusOr<std::optional<api::Hypervisor>> withEntry(const api::VirtualMachine& vm,
                                                           const api::Hypervisor& current,
                                                           bool heartbeat_fresh) const;

  kube::ClientPtr client_;
  const scheduler::Scheduler& scheduler_;
  runtime::PendingWrites labelled_;  // label writes the cache may not show yet
};

// The hypervisor already holding a reservation for this VM (same uid), smallest name first;
// fenced hypervisors are skipped. nullopt when there is none.
std::optional<std::string> findReservation(const ClusterCache& cache,
                                           const api::VirtualMachine& vm);

}  // namespace novacron::controller
