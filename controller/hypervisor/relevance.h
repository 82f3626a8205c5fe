// How soon a change must reach the reconcile of the hypervisor it concerns. The informers' event
// handlers (controller_app.cc) ask this before they enqueue a hypervisor:
//   - kNow: something its reconcile decides on changed (health facts, spec, a VM's ledger entry,
//     a VM moving away, which frees capacity);
//   - kSoon: only what the reconcile confirms changed: the ledger the placement path itself just
//     wrote (a reservation), a VM bound to the hypervisor it reserved on, or what an evacuation
//     looks at (a VM's phase). The reconcile follows within kFollowUpDelay, once for a burst:
//     with 400 VMs on a hypervisor a reconcile reads 400 VMs, and B1x (issue 15) ran three per VM;
//   - kNone: nothing it reads (a label, a finalizer, a status detail of a VM).
// A missed or late trigger is still healed: a hypervisor is reconciled again at least once per
// heartbeat timeout, and every 2 s while its ledger holds entries of VMs not bound there.
// Thread-safety: pure functions.
#pragma once

#include <chrono>

#include "lib/api/hypervisor.h"
#include "lib/api/virtual_machine.h"

namespace novacron::controller {

enum class FollowUp { kNone, kSoon, kNow };

// How long a kSoon follow-up waits (a kNow for the same hypervisor meanwhile runs it at once).
inline constexpr std::chrono::milliseconds kFollowUpDelay{1000};

// For the hypervisor `after` is bound to. (A VM that leaves a hypervisor frees capacity there:
// its old hypervisor is a kNow of the caller's, as is every deletion.)
FollowUp followUpOf(const api::VirtualMachine& before, const api::VirtualMachine& after);

// For a Hypervisor's own update: kSoon when only its ledger (status.allocations and the totals
// written with it, status.allocated) and its resourceVersion or managedFields changed.
FollowUp followUpOf(const api::Hypervisor& before, const api::Hypervisor& after);

}  // namespace novacron::controller
