#include "controller/hypervisor/vm_relevance.h"

#include "controller/evacuation/evacuator.h"
#include "controller/vm/placement_inputs.h"

namespace novacron::controller {

bool changesHypervisorFacts(const api::VirtualMachine& before, const api::VirtualMachine& after) {
  return vmFacts(before) != vmFacts(after) ||
         before.status.activeMigration != after.status.activeMigration ||
         evacuation::vmFacts(before) != evacuation::vmFacts(after);
}

}  // namespace novacron::controller
