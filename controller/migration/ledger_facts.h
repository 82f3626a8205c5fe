// The ledger's view of a VM including its running migration: vmFacts() (placement_inputs.h) plus
// the target of the VMMigration named by status.activeMigration, so the ledger reconciler keeps a
// migration's reservation on its target (ledger.h, VmFacts::migratingTo) until the migration ends.
// Thread-safety: reads the cache only; safe from any thread.
#pragma once

#include "controller/cache/cluster_cache.h"
#include "controller/ledger/ledger.h"
#include "lib/api/virtual_machine.h"

namespace novacron::controller::migration {

ledger::VmFacts ledgerFacts(const ClusterCache& cache, const api::VirtualMachine& vm);

}  // namespace novacron::controller::migration
