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
//
// decideRootSharing() is pure too: whether the VM root is shared. It is when --shared-vm-root says
// so, or when another node marked it (<vm_root>/.novacron-node-<name>, DiskManager) and that
// node's Hypervisor still exists — or its existence cannot be read now (the safe direction: on a
// shared root nothing is read and nothing reported). A mark whose Hypervisor is gone (NotFound) is
// stale: a node renamed or removed left it, and it no longer makes the root shared (it made every
// orphan here unreported forever). A node that comes back registers its Hypervisor again first.
// Marks are only ignored, never removed. A mark whose name cannot be a Hypervisor's is stale.
// Thread-safety: plain values and pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

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

// What the node-daemon knows about the node that left a mark in the VM root.
enum class MarkOwner {
  kExists,   // its Hypervisor exists
  kGone,     // its Hypervisor is NotFound (or the name cannot be one): the mark is stale
  kUnknown,  // not read (the read failed, or not asked)
};

struct RootSharing {
  bool shared = false;
  std::vector<std::string> stale;  // the marks ignored, for the log
};

// `flag`: --shared-vm-root; `marks`: the other nodes' marks, by node name.
[[nodiscard]] RootSharing decideRootSharing(bool flag,
                                            const std::map<std::string, MarkOwner>& marks);

}  // namespace novacron::node::vm
