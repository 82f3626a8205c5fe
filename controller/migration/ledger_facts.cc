#include "controller/migration/ledger_facts.h"

#include "controller/vm/placement_inputs.h"
#include "lib/api/names.h"

namespace novacron::controller::migration {

ledger::VmFacts ledgerFacts(const ClusterCache& cache, const api::VirtualMachine& vm) {
  ledger::VmFacts facts = vmFacts(vm);
  if (!vm.status.activeMigration || vm.status.activeMigration->empty()) {
    return facts;
  }
  VMMigrationPtr m = cache.migration(vm.metadata.namespace_ + "/" + *vm.status.activeMigration);
  if (!m) {
    // Not cached yet (the VM's write raced ahead of the migration informer): keep any reservation
    // until it is known. The migration controller clears activeMigration before its finalizer
    // lets the VMMigration go, so this does not last.
    facts.migration_unresolved = true;
    return facts;
  }
  if (m->spec.vmName != vm.metadata.name) {
    return facts;  // not a migration of this VM
  }
  if (m->status.phase && api::isTerminal(*m->status.phase)) {
    return facts;  // ended: its reservation is released
  }
  if (!m->status.targetHypervisor) {
    facts.migration_unresolved = true;
    return facts;
  }
  facts.migration_target = *m->status.targetHypervisor;
  return facts;
}

}  // namespace novacron::controller::migration
