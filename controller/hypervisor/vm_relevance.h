// Whether a change of a VM can change what the reconcile of the hypervisor it is bound to decides:
// the VM's ledger entry (controller/vm/placement_inputs.h vmFacts, and status.activeMigration,
// from which the ledger learns of a migration) or what an evacuation looks at
// (controller/evacuation/evacuator.h vmFacts). The VM informer's update handler enqueues the
// hypervisor only then: a label, a finalizer or a status detail of one of its 400 VMs does not
// cost a reconcile that reads all 400 (issue 15, B1x). A missed trigger would still be healed: a
// hypervisor is reconciled again at least once per heartbeat timeout.
// Thread-safety: a pure function.
#pragma once

#include "lib/api/virtual_machine.h"

namespace novacron::controller {

bool changesHypervisorFacts(const api::VirtualMachine& before, const api::VirtualMachine& after);

}  // namespace novacron::controller
