// Builds the libvirt domain XML for a VirtualMachine with pugixml: every value goes through the
// XML writer, so no user string can change the document's structure.
//
// The VM must already have passed api::validate(). File paths come only from the node's storage
// layer (storage::DiskPlanner / ImageStore), never from the VM spec: the builder takes the
// resolved paths in DomainInputs and refuses a spec disk without one.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/api/virtual_machine.h"
#include "lib/core/statusor.h"

namespace novacron::node::domain {

enum class DiskFormat { kQcow2, kRaw };

// The base image under a qcow2 overlay. It is standalone (the storage layer checked and, for
// downloads, converted it), so the chain ends there.
struct BackingFile {
  std::string path;
  DiskFormat format = DiskFormat::kQcow2;
};

// A VM disk as it exists on this node. Its whole backing chain is written into the domain XML
// (<backingStore>), so neither libvirt nor QEMU probes a format or follows a header's references.
struct ResolvedDisk {
  std::string name;  // spec.disks[].name
  std::string path;  // absolute path under the node's VM root
  DiskFormat format = DiskFormat::kQcow2;
  bool cdrom = false;                  // cloud-init seed images are attached as read-only CD-ROMs
  std::optional<BackingFile> backing;  // set for overlays; none: a standalone disk
};

struct DomainInputs {
  std::string domain_type = "kvm";  // virt::chooseDomainType()
  std::string arch = "x86_64";
  std::string serial_log_path;             // the guest's serial console is written here
  std::optional<std::string> kernel_path;  // resolved spec.kernelBoot.kernel
  std::optional<std::string> initrd_path;  // resolved spec.kernelBoot.initrd
  std::vector<ResolvedDisk> disks;         // one per spec.disks[], any order
  std::string nat_network = "default";     // libvirt network used for type nat
};

// InvalidArgument when the VM and the inputs do not fit together (missing uid, a disk without a
// resolved path, kernel boot without a kernel path, ...).
[[nodiscard]] core::StatusOr<std::string> buildDomainXml(const api::VirtualMachine& vm,
                                                         const DomainInputs& inputs);

}  // namespace novacron::node::domain
