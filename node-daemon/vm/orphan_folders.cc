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

RootSharing decideRootSharing(bool flag, const std::map<std::string, MarkOwner>& marks) {
  RootSharing out;
  out.shared = flag;
  for (const auto& [node, owner] : marks) {
    if (owner == MarkOwner::kGone) {
      out.stale.push_back(node);
    } else {
      out.shared = true;  // exists, or cannot tell now: shared (nothing read, nothing reported)
    }
  }
  return out;
}

}  // namespace novacron::node::vm
