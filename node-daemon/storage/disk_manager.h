// DiskManager: prepares and removes everything a VM has on the node's disk (overlays, empty disks,
// cloud-init seeds, kernel/initrd references, the serial log), using NodePaths for every path,
// the ImageStore for base images and a DiskTool to create files.
//
// prepare() is idempotent: files that already exist are kept (a restarted node-daemon must never
// recreate a running VM's disk). remove() deletes the VM's folder and is idempotent too.
// Thread-safety: safe from any thread for different VMs; the reconciler never prepares one VM
// twice concurrently (the work queue guarantees it).
#pragma once

#include <optional>
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

class DiskManager {
public:
  DiskManager(NodePaths paths, ImageStorePtr images, DiskToolPtr tool);

  [[nodiscard]] core::StatusOr<PreparedVm> prepare(const api::VirtualMachine& vm);
  // Removes <vm_root>/<namespace>/<name>; OK if it does not exist.
  [[nodiscard]] core::Status remove(const std::string& ns, const std::string& name);
  // True when the VM has a folder on this node.
  bool exists(const std::string& ns, const std::string& name) const;

  const NodePaths& paths() const { return paths_; }

private:
  NodePaths paths_;
  ImageStorePtr images_;
  DiskToolPtr tool_;
};

}  // namespace novacron::node::storage
