// Fencing, as the node-daemon enforces it (docs/security.md).
//
// A Hypervisor is fenced when an administrator annotated it novacron.io/fenced=true (the host is
// declared powered off / isolated so its VMs may be started elsewhere), or when its Hypervisor
// object was deleted after this node registered it. A fenced node-daemon destroys the domains it
// manages before anything else (disks are kept), starts nothing, and does not re-create its
// Hypervisor. It stays fenced — across restarts too, because the uid of the Hypervisor it
// registered is recorded on the node (RegistrationRecord) — until an administrator clears it:
// removes the annotation, or re-creates the Hypervisor (a new object, without the annotation).
// Thread-safety: decideFence() is pure; RegistrationRecord is used from the registrar's thread.
#pragma once

#include <optional>
#include <string>

#include "lib/api/hypervisor.h"
#include "lib/core/status.h"

namespace novacron::node::hypervisor {

enum class Fence {
  kNone,
  kAnnotated,  // novacron.io/fenced=true
  kDeleted,    // the Hypervisor was deleted after this node had registered it
};

// `current`: the Hypervisor as read now (nullopt: NotFound). `was_registered`: this node has a
// record of having registered a Hypervisor before.
Fence decideFence(const std::optional<api::Hypervisor>& current, bool was_registered);

std::string fenceMessage(Fence fence, const std::string& node);

// The uid of the Hypervisor this node registered, kept in a file on the node so that a deletion
// that happened while the node-daemon was down is still recognised after a restart.
class RegistrationRecord {
public:
  explicit RegistrationRecord(std::string path) : path_(std::move(path)) {}
  // nullopt when the node never registered (or the path is empty: no record kept).
  std::optional<std::string> uid() const;
  [[nodiscard]] core::Status write(const std::string& uid) const;
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

}  // namespace novacron::node::hypervisor
