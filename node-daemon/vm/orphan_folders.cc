#include "node-daemon/vm/orphan_folders.h"

#include "node-daemon/vm/decide.h"

namespace novacron::node::vm {

FolderDecision decideFolder(const FolderFacts& facts) {
  if (!facts.vm) {
    return {FolderVerdict::kOrphan, "its VirtualMachine no longer exists"};
  }
  const api::VirtualMachine& vm = *facts.vm;
  if (vm.metadata.uid != facts.uid) {
    return {FolderVerdict::kOrphan,
            "it belongs to an earlier VirtualMachine of that name (uid " + facts.uid + ")"};
  }
  switch (bindingOf(vm, facts.node)) {
  case Binding::kHere:
    return {FolderVerdict::kInUse, ""};
  case Binding::kUnbound:
    return {FolderVerdict::kUndecided, ""};
  case Binding::kElsewhere:
    break;
  }
  if (migrationInProgress(vm)) {
    return {FolderVerdict::kUndecided, ""};  // a move to or from this node may still use it
  }
  return {FolderVerdict::kOrphan, "its VirtualMachine is bound to hypervisor " +
                                      vm.status.hypervisor.value_or("") + ", not to this node"};
}

}  // namespace novacron::node::vm
