#include "node-daemon/virt/domain_type.h"

#include <algorithm>

#include <fcntl.h>
#include <unistd.h>

namespace novacron::node::virt {

bool kvmDeviceUsable(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  ::close(fd);
  return true;
}

core::StatusOr<std::string> chooseDomainType(const HostCapabilities& caps, bool kvm_device_usable,
                                             std::string_view override_type) {
  auto offers = [&](std::string_view type) {
    return std::find(caps.domain_types.begin(), caps.domain_types.end(), type) !=
           caps.domain_types.end();
  };
  const bool kvm_ok = offers("kvm") && kvm_device_usable;
  if (override_type == "kvm") {
    if (!kvm_ok) {
      return core::failedPreconditionError(
          "domain type kvm was requested but the host does not offer KVM (/dev/kvm unusable or "
          "not in libvirt capabilities)");
    }
    return std::string("kvm");
  }
  if (override_type == "qemu") {
    if (!offers("qemu")) {
      return core::failedPreconditionError("domain type qemu requested but not offered by host");
    }
    return std::string("qemu");
  }
  if (override_type == "test") {
    if (!offers("test")) {
      return core::failedPreconditionError("domain type test requested but not offered by host");
    }
    return std::string("test");
  }
  if (!override_type.empty() && override_type != "auto") {
    return core::invalidArgumentError("unknown domain type '" + std::string(override_type) +
                                      "' (want auto, kvm, qemu or test)");
  }
  if (kvm_ok) {
    return std::string("kvm");
  }
  if (offers("qemu")) {
    return std::string("qemu");
  }
  if (offers("test")) {
    return std::string("test");  // libvirt's test driver
  }
  return core::failedPreconditionError("host offers neither kvm nor qemu domains");
}

}  // namespace novacron::node::virt
