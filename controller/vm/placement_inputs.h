// Adapters from API objects to the scheduler's input structs, and the VM facts the ledger uses.
//
// Capacity rule (docs/architecture.md, "Who writes what"): the node-daemon reports
// status.allocatable = capacity - host reservation, with no overcommit. The schedulable limit is
// allocatable (or capacity when allocatable is missing) * ratio, per resource, where the ratio is
// spec.overcommit.<resource> when set and the controller's scheduler.defaultOvercommit.<resource>
// otherwise; the scheduler applies it exactly once.
// Thread-safety: thread-safe; pure functions, except that ledgers are decoded through a
// process-wide memo (controller/ledger/ledger_memo.h) that never changes what they return.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "controller/ledger/ledger.h"
#include "controller/scheduler/inputs.h"
#include "lib/api/hypervisor.h"
#include "lib/api/virtual_machine.h"
#include "lib/core/statusor.h"

namespace novacron::controller {

using api::isFenced;
using api::kFencedAnnotation;

// The ledger stored on the hypervisor (empty when it has none yet), decoded once per
// version of the hypervisor (controller/ledger/ledger_memo.h) and shared: for reading.
core::StatusOr<std::shared_ptr<const ledger::Ledger>> sharedLedgerOf(
    const api::Hypervisor& hypervisor);
// The same, as a copy to change.
core::StatusOr<ledger::Ledger> ledgerOf(const api::Hypervisor& hypervisor);
// Tells the memo that `stored` (an object just written) holds `ledger`, when its ledger text is
// `written_text`, the encoding of `ledger` that was sent; otherwise (the server changed it) does
// nothing, and the next look decodes it.
void rememberLedger(const api::Hypervisor& stored, std::string_view written_text,
                    std::shared_ptr<const ledger::Ledger> ledger);
// How many ledgers the process's memo has decoded so far (tests: what a path costs).
uint64_t ledgerDecodes();

// `heartbeat_fresh`: from the HeartbeatTracker. A hypervisor whose ledger is corrupt is
// reported unschedulable (never as empty, which would invite overcommit).
scheduler::HypervisorView hypervisorView(const api::Hypervisor& hypervisor, bool heartbeat_fresh);
// The same with `entries` as its ledger instead of the one stored on it (a candidate).
scheduler::HypervisorView hypervisorView(const api::Hypervisor& hypervisor,
                                         const ledger::Ledger& entries, bool heartbeat_fresh);

scheduler::VmRequest vmRequest(const api::VirtualMachine& vm);

// The disk space a VM is charged on its hypervisor's VM root: the sizes of its emptyDisks. Disks
// from images (their size is the image's, known only on the node once downloaded) and cloud-init
// seeds (tiny) are not counted; docs/api.md, Hypervisor status.allocatable.storage.
int64_t countedDiskBytes(const api::VirtualMachineSpec& spec);

// The hypervisor a VM is bound to, or empty: status.hypervisor, which only the controller writes
// (through the status subresource, out of reach of VM editors). docs/security.md.
std::string boundHypervisor(const api::VirtualMachine& vm);
// The label novacron.io/hypervisor (the node-daemons' watch filter), or empty. It mirrors
// boundHypervisor(); the controller repairs it when someone changes it.
std::string hypervisorLabel(const api::VirtualMachine& vm);

ledger::VmFacts vmFacts(const api::VirtualMachine& vm);

// Which of two copies of a Hypervisor is newer: resourceVersions are opaque to clients, but every
// etcd-backed server hands out increasing integers; an unparsable one counts as oldest (-1).
int64_t resourceVersionNumber(const std::string& resource_version);

}  // namespace novacron::controller
