// DiskManager: prepares and removes everything a VM has on the node's disk (overlays, empty disks,
// cloud-init seeds, kernel/initrd references, the serial log), using NodePaths for every path,
// the ImageStore for base images and a DiskTool to create files.
//
// A VM's files live under its uid (<vm_root>/<ns>/<name>/<uid>/), so a new VM with the name of a
// deleted one never inherits its disks or seed, and removing one incarnation never touches
// another's files.
//
// prepare() is idempotent: files that already exist are kept (a restarted node-daemon must never
// recreate a running VM's disk). remove() deletes the VM incarnation's folder and is idempotent
// too. prepare() returns the ImageStore's Unavailable-with-retryAfter while a base image is still
// downloading (see image_store.h).
// Thread-safety: safe from any thread for different VMs; the reconciler never prepares one VM
// twice concurrently (the work queue guarantees it).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/api/virtual_machine.h"
#include "lib/core/statusor.h"
#include "node-daemon/domain/domain_xml.h"
#include "node-daemon/storage/disk_tool.h"
#include "node-daemon/storage/image_store.h"
#include "node-daemon/storage/paths.h"

namespace novacron::node::storage {

struct PreparedVm {
  std::vector<domain::ResolvedDisk> disks;
  std::optional<std::string> kernel_path;
  std::optional<std::string> initrd_path;
  std::string serial_log_path;
};

// One VM incarnation's folder, <vm_root>/<ns>/<name>/<uid>/.
struct VmFolder {
  std::string ns;
  std::string name;
  std::string uid;
  std::string path;  // NodePaths::vmDir(ns, name, uid)
};

class DiskManager {
public:
  DiskManager(NodePaths paths, ImageStorePtr images, DiskToolPtr tool);

  [[nodiscard]] core::StatusOr<PreparedVm> prepare(const api::VirtualMachine& vm);

  // Removes <vm_root>/<ns>/<name>/<uid> (and <ns>/<name>, <ns> when they become empty); OK if it
  // does not exist. Other uids of the same name are left alone.
  [[nodiscard]] core::Status remove(const std::string& ns, const std::string& name,
                                    const std::string& uid);
  [[nodiscard]] core::Status remove(const api::VirtualMachine& vm) {
    return remove(vm.metadata.namespace_, vm.metadata.name, vm.metadata.uid);
  }
  // True when this incarnation of the VM has a folder on this node.
  bool exists(const std::string& ns, const std::string& name, const std::string& uid) const;
  // The uids that have a folder under <ns>/<name> (leftovers of earlier incarnations included).
  std::vector<std::string> uids(const std::string& ns, const std::string& name) const;
  // Every VM folder under the VM root (names that are not valid paths of ours are skipped). Reads
  // the directories down to the uid level only, not into each folder.
  std::vector<VmFolder> folders() const;
  // Whether `folder` holds a ".novacron-migration-<name>" marker (an incoming move); one read of
  // the folder, asked only about folders no VM bound here claims.
  bool hasMigrationMarker(const VmFolder& folder) const;

  // Marks the VM root as used by `node` (the file <vm_root>/.novacron-node-<node>), so the
  // node-daemons that share a VM root can tell: otherwise the folders of VMs bound to another node
  // would look like leftovers here. Never follows a symlink planted at the mark's path (the
  // node-daemon is privileged): refused with FailedPrecondition, as is anything but a regular file.
  [[nodiscard]] core::Status markRootUsedBy(const std::string& node);
  // The nodes other than `node` that marked this VM root (by the names in their marks; whether
  // those nodes still exist is the caller's question: vm/orphan_folders.h, decideRootSharing).
  std::vector<std::string> otherRootMarks(const std::string& node) const;

  // Image garbage collection: everything `vms` (the VMs bound to this node) reference, plus every
  // base image an overlay under the VM root points at, is in use; the ImageStore removes the
  // rest after its grace period. Returns how many cached images were removed.
  int collectGarbage(const std::vector<api::VirtualMachine>& vms);

  const NodePaths& paths() const { return paths_; }
  const ImageStorePtr& images() const { return images_; }

private:
  core::StatusOr<domain::ResolvedDisk> prepareDisk(const api::VirtualMachine& vm,
                                                   const api::Disk& disk);
  std::set<std::string> overlayBackingFiles() const;

  NodePaths paths_;
  ImageStorePtr images_;
  DiskToolPtr tool_;
};

}  // namespace novacron::node::storage
