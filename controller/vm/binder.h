// Binder: turns a placement decision into a binding that can never overcommit a hypervisor or bind
// a VM twice, however many workers or controllers decide at once.
//
//   1. reserve(): add the VM's entry to the Hypervisor's ledger (status.allocations, with its
//      totals status.allocated in the same write; controller/ledger/ledger.h) with a JSON patch of
//      the status that tests the ledger and every placement input it was checked against
//      (controller/ledger/ledger_patch.h; a status PUT conditional on the resourceVersion when
//      the Hypervisor has no annotations or no status.allocations yet). A stored object without
//      status.allocations means the API server dropped the ledger (a CRD older than this
//      controller): FailedPrecondition, nothing is bound. The fit is re-checked against the very
//      ledger being written; on a conflict the Hypervisor is re-read live and the check repeated.
//      Only one of two racing reservations based on the same ledger can succeed.
//   2. bind(): write status.hypervisor (the binding: status subresource, which VM editors cannot
//      write) conditional on the VM's resourceVersion — a VM that someone else bound meanwhile
//      fails with kConflict — then mirror it into the label novacron.io/hypervisor, the
//      node-daemons' watch filter (labelFor()), adding the node-daemon's cleanup finalizer in
//      the same write. The node-daemon runs a VM only when status.hypervisor names its node; a
//      label alone starts nothing.
// Between 1 and 2 the ledger already counts the VM (over-counting is the safe direction); a crash
// there leaves a reservation that the next reconcile completes (PlacementState::decide() finds it)
// on exactly the same hypervisor, or that the ledger reconciler drops once the VM is confirmed
// bound elsewhere or gone. Such a reservation is completed whoever wrote it: since the ledger is in
// Hypervisor status, a node-daemon's token can write one too (docs/security.md, "Not enforced
// yet"). Reservations on one hypervisor from several workers at once are written together (group
// commit, reserveTogether()): the first caller writes its own entry and every entry queued while
// that write is on the wire goes in the next one, each re-checked in turn against the ledger with
// the entries before it. Without it, concurrent reservations on one hypervisor all tested the same
// ledger, one won and the others paid a conflict, a re-read and a new decision each, so a
// hypervisor took one reservation per API round trip (issue 15: 1,200 VMs on 3 hypervisors bound
// at 10 per second and hypervisor; more workers only added conflicts).
// Thread-safety: safe from any thread; the queues of reservations are guarded by lanes_mu_.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "controller/cache/cluster_cache.h"
#include "controller/ledger/ledger.h"
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

  // Reservations on `hypervisor` waiting for the write in progress there (for tests).
  size_t queuedReservations(const std::string& hypervisor);

  // Makes the label mirror status.hypervisor (set, changed or removed), conditional on the VM's
  // resourceVersion. Returns the stored VM, or `vm` when nothing needed to change or this very
  // label write, based on this very version, succeeded already (a stale cache: no 409 write).
  core::StatusOr<api::VirtualMachine> labelFor(const api::VirtualMachine& vm);
  // The VM behind `key` is gone: drop what labelFor() remembers of it.
  void forget(const std::string& key) { labelled_.forget(key); }

private:
  // One reservation waiting for, or in, a group write on its hypervisor.
  struct Request {
    const api::VirtualMachine* vm;
    const api::Hypervisor* hypervisor;  // the copy the caller decided on
    bool heartbeat_fresh;
    std::optional<api::Hypervisor>* latest;
    std::optional<core::StatusOr<api::Hypervisor>> result;  // set when done
  };
  // The reservations queued on one hypervisor, and whether one of their callers is writing.
  struct Lane {
    std::vector<Request*> queue;
    bool writing = false;
    std::condition_variable done;
    std::optional<api::Hypervisor> last;  // what the lane's previous write stored
  };
  // Writes the entries of `batch` (all for one hypervisor) in as few writes as the ledger allows
  // and sets each request's result; called by the one caller that writes for the lane. The base
  // is the newest of the batch's copies and `last`; returns what was stored, if anything.
  std::optional<api::Hypervisor> reserveTogether(const std::vector<Request*>& batch,
                                                 const std::optional<api::Hypervisor>& last,
                                                 int attempts);
  // A hypervisor with reservations added, and its ledger decoded (what was encoded into it).
  struct Candidate {
    api::Hypervisor hypervisor;
    std::shared_ptr<const ledger::Ledger> ledger;
    nlohmann::json allocations;  // status.allocations as the JSON its text was dumped from
  };
  // api::toJson() of the candidate (or of its status only), with status.allocations put in as
  // `allocations` rather than parsed back from its text: one pass less over hundreds of entries.
  static kube::Json encode(Candidate& candidate, bool status_only);
  // `current` with `entries` (its ledger, or the group's so far) and this VM's entry added;
  // nullopt when the entry is already there; kAborted when it does not fit. Works on the decoded
  // ledger: encoding a candidate and decoding it again cost two passes over hundreds of entries
  // per reservation (issue 15, B1x).
  core::StatusOr<std::optional<Candidate>> withEntry(const api::VirtualMachine& vm,
                                                     const api::Hypervisor& current,
                                                     const ledger::Ledger& entries,
                                                     bool heartbeat_fresh) const;

  kube::ClientPtr client_;
  const scheduler::Scheduler& scheduler_;
  runtime::PendingWrites labelled_;  // label writes the cache may not show yet
  std::mutex lanes_mu_;
  // guarded by lanes_mu_; hypervisor name -> its queue (while anyone reserves there)
  std::map<std::string, std::shared_ptr<Lane>> lanes_;
};

}  // namespace novacron::controller
