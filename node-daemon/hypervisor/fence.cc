#include "node-daemon/hypervisor/fence.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace novacron::node::hypervisor {

Fence decideFence(const std::optional<api::Hypervisor>& current, bool was_registered) {
  if (!current) {
    return was_registered ? Fence::kDeleted : Fence::kNone;
  }
  return api::isFenced(*current) ? Fence::kAnnotated : Fence::kNone;
}

std::string fenceMessage(Fence fence, const std::string& node) {
  switch (fence) {
  case Fence::kAnnotated:
    return "hypervisor " + node + " is fenced (annotation " + std::string(api::kFencedAnnotation) +
           "=true): its domains are destroyed and nothing runs here until the annotation is "
           "removed";
  case Fence::kDeleted:
    return "hypervisor " + node +
           " was deleted: its domains are destroyed and the node does not register again until "
           "an administrator re-creates the Hypervisor";
  case Fence::kNone:
    return "hypervisor " + node + " is not fenced";
  }
  return "";
}

std::optional<std::string> RegistrationRecord::uid() const {
  if (path_.empty()) {
    return std::nullopt;
  }
  std::ifstream in(path_);
  std::string uid;
  if (!in || !std::getline(in, uid) || uid.empty()) {
    return std::nullopt;
  }
  return uid;
}

core::Status RegistrationRecord::write(const std::string& uid) const {
  if (path_.empty() || this->uid() == uid) {
    return core::okStatus();
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << uid << "\n";
    if (!out) {
      return core::unavailableError("writing " + tmp + ": " + std::strerror(errno));
    }
  }
  std::filesystem::rename(tmp, path_, ec);  // atomic: a crash leaves the old or the new record
  if (ec) {
    return core::unavailableError("renaming " + tmp + ": " + ec.message());
  }
  return core::okStatus();
}

}  // namespace novacron::node::hypervisor
