#include "node-daemon/storage/paths.h"

#include <filesystem>

#include "lib/api/validation.h"
#include "lib/core/check.h"

namespace novacron::node::storage {
namespace {

std::string normaliseRoot(std::string root) {
  NOVACRON_CHECK(!root.empty() && root.front() == '/', "storage roots must be absolute: " + root);
  std::string norm = std::filesystem::path(root).lexically_normal().string();
  while (norm.size() > 1 && norm.back() == '/') {
    norm.pop_back();
  }
  return norm;
}

core::Status checkVm(std::string_view ns, std::string_view name) {
  if (!api::isDns1123Label(ns)) {
    return core::invalidArgumentError("namespace '" + std::string(ns) +
                                      "' is not a DNS-1123 label");
  }
  if (!api::isDns1123Subdomain(name)) {
    return core::invalidArgumentError("VM name '" + std::string(name) +
                                      "' is not a DNS-1123 subdomain");
  }
  NOVACRON_RETURN_IF_ERROR(checkPathComponent(ns));
  return checkPathComponent(name);
}

core::Status checkUid(std::string_view uid) {
  bool ok = !uid.empty() && uid.size() <= 128;
  for (char c : uid) {
    ok = ok &&
         ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-');
  }
  if (!ok) {
    return core::invalidArgumentError("VM uid '" + std::string(uid) +
                                      "' is not letters, digits and '-'");
  }
  return checkPathComponent(uid);
}

bool isUnder(const std::string& root, std::string_view path) {
  std::string norm = std::filesystem::path(std::string(path)).lexically_normal().string();
  return norm.size() > root.size() + 1 && norm.compare(0, root.size(), root) == 0 &&
         norm[root.size()] == '/' && norm == std::string(path);
}

core::Status checkDisk(std::string_view disk) {
  if (!api::isDns1123Label(disk)) {
    return core::invalidArgumentError("disk name '" + std::string(disk) +
                                      "' is not a DNS-1123 label");
  }
  return checkPathComponent(disk);
}

}  // namespace

core::Status checkPathComponent(std::string_view component) {
  if (component.empty() || component == "." || component == ".." ||
      component.find('/') != std::string_view::npos ||
      component.find('\0') != std::string_view::npos) {
    return core::invalidArgumentError("'" + std::string(component) +
                                      "' is not a safe path component");
  }
  return core::okStatus();
}

bool isSha256Hex(std::string_view text) {
  if (text.size() != 64) {
    return false;
  }
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

NodePaths::NodePaths(std::string vm_root, std::string image_root)
    : vm_root_(normaliseRoot(std::move(vm_root))),
      image_root_(normaliseRoot(std::move(image_root))) {}

core::StatusOr<std::string> NodePaths::vmNameDir(std::string_view ns, std::string_view name) const {
  NOVACRON_RETURN_IF_ERROR(checkVm(ns, name));
  return vm_root_ + "/" + std::string(ns) + "/" + std::string(name);
}

core::StatusOr<std::string> NodePaths::vmDir(std::string_view ns, std::string_view name,
                                             std::string_view uid) const {
  NOVACRON_RETURN_IF_ERROR(checkUid(uid));
  NOVACRON_ASSIGN_OR_RETURN(std::string dir, vmNameDir(ns, name));
  return dir + "/" + std::string(uid);
}

core::StatusOr<std::string> NodePaths::diskPath(std::string_view ns, std::string_view name,
                                                std::string_view uid, std::string_view disk) const {
  NOVACRON_RETURN_IF_ERROR(checkDisk(disk));
  NOVACRON_ASSIGN_OR_RETURN(std::string dir, vmDir(ns, name, uid));
  return dir + "/disk-" + std::string(disk) + ".qcow2";
}

core::StatusOr<std::string> NodePaths::seedPath(std::string_view ns, std::string_view name,
                                                std::string_view uid, std::string_view disk) const {
  NOVACRON_RETURN_IF_ERROR(checkDisk(disk));
  NOVACRON_ASSIGN_OR_RETURN(std::string dir, vmDir(ns, name, uid));
  return dir + "/seed-" + std::string(disk) + ".iso";
}

core::StatusOr<std::string> NodePaths::serialLogPath(std::string_view ns, std::string_view name,
                                                     std::string_view uid) const {
  NOVACRON_ASSIGN_OR_RETURN(std::string dir, vmDir(ns, name, uid));
  return dir + "/serial.log";
}

core::StatusOr<std::string> NodePaths::imageByDigest(std::string_view digest) const {
  if (!isSha256Hex(digest)) {
    return core::invalidArgumentError("'" + std::string(digest) + "' is not a sha256 digest");
  }
  return image_root_ + "/sha256/" + std::string(digest);
}

core::StatusOr<std::string> NodePaths::imageByUrlDigest(std::string_view digest) const {
  if (!isSha256Hex(digest)) {
    return core::invalidArgumentError("'" + std::string(digest) + "' is not a sha256 digest");
  }
  return image_root_ + "/url/" + std::string(digest);
}

core::StatusOr<std::string> NodePaths::namedImage(std::string_view name) const {
  if (!api::isDns1123Subdomain(name)) {
    return core::invalidArgumentError("image name '" + std::string(name) +
                                      "' is not a DNS-1123 subdomain");
  }
  NOVACRON_RETURN_IF_ERROR(checkPathComponent(name));
  return image_root_ + "/named/" + std::string(name);
}

bool NodePaths::isUnderVmRoot(std::string_view path) const {
  return isUnder(vm_root_, path);
}

bool NodePaths::isUnderImageRoot(std::string_view path) const {
  return isUnder(image_root_, path);
}

}  // namespace novacron::node::storage
