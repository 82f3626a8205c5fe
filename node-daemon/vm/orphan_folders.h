// Orphaned VM folders: a VM's folder on this node (<vm_root>/<ns>/<name>/<uid>/, its disks, seeds
// and serial log) that no VM bound here claims. They are left behind when a VM fails over away
// from this node while it is fenced, or is deleted or released meanwhile (docs/reliability.md,
// "Known orphans"). They are reported, never removed: with local storage such a folder may hold
// the only copy of the old VM's data, and only an operator can say it is not needed.
//
// decideFolder() is pure: what one folder is, given a live read of the VM of its name. The
// VmReconciler scans the VM root at start and on every resync; each folder not claimed by a VM
// bound here in its cache is read live (never decided from a cache that may lag), at most 16 per
// scan, and each orphan is counted in novacron_node_orphaned_vm_folders, logged and reported once
// as a Warning Event OrphanedVmDisks on the node's Hypervisor. Not read, so never decided here: a
// folder holding a migration marker (the migration's; the controller reports it), and on a shared
// VM root the folders of VMs not bound here (the other nodes').
// Thread-safety: plain values and a pure function.
#pragma once

#include <optional>
#include <string>

#include "lib/api/virtual_machine.h"

namespace novacron::node::vm {

struct FolderFacts {
  std::string node;  // this node's name
  std::string uid;   // the folder's: the uid of the VM incarnation it was made for
  // The live read of the VM of the folder's namespace and name; nullopt: NotFound.
  std::optional<api::VirtualMachine> vm;
};

enum class FolderVerdict {
  kInUse,      // its VM is bound here
  kOrphan,     // no VM bound here will ever use it
  kUndecided,  // its VM is not bound anywhere right now (being placed again): look again later
};

struct FolderDecision {
  FolderVerdict verdict = FolderVerdict::kInUse;
  std::string why;  // for an orphan: why, for the log line and the Event
};

[[nodiscard]] FolderDecision decideFolder(const FolderFacts& facts);

}  // namespace novacron::node::vm
