// Chooses the libvirt domain type for this node: "kvm" when the host offers it and /dev/kvm can be
// opened, otherwise "qemu" (TCG emulation). An explicit override ("kvm" or "qemu") wins, so an
// operator can force TCG where nested KVM is broken; "auto" (or empty) means probe. "test" is
// libvirt's test driver (tests only).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "lib/core/statusor.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node::virt {

// True when `path` (normally /dev/kvm) can be opened read-write by this process.
bool kvmDeviceUsable(const std::string& path = "/dev/kvm");

// Returns "kvm", "qemu" or "test". InvalidArgument for an unknown override; FailedPrecondition when
// "kvm" is forced but the host cannot offer it, or the host offers neither type.
[[nodiscard]] core::StatusOr<std::string> chooseDomainType(const HostCapabilities& caps,
                                                           bool kvm_device_usable,
                                                           std::string_view override_type);

}  // namespace novacron::node::virt
