// NodePaths: the only place node-daemon builds file system paths. Every path is a configured root
// plus components that are validated names (DNS-1123 labels/subdomains from the API, or hex
// digests), each checked again here to be a single safe component: no '/', no NUL, not "." or
// "..", not empty. A VM spec never supplies a path; it supplies names.
//
// Layout (a VM's files live under its uid, so a new VM with the name of a deleted one never sees
// the old one's disks or cloud-init seed):
//   <vm_root>/<namespace>/<name>/<uid>/disk-<disk>.qcow2  per-VM disks (overlays or empty disks)
//   <vm_root>/<namespace>/<name>/<uid>/seed-<disk>.iso    cloud-init NoCloud seeds
//   <vm_root>/<namespace>/<name>/<uid>/serial.log         the guest's serial console
//   <image_root>/sha256/<64 hex>          downloaded files (kernels, initrds), by content digest
//   <image_root>/url/<64 hex of the URL>  downloaded files without a given digest
//   <image_root>/{sha256,url}/<64 hex>.qcow2  downloaded disk images, checked and converted into
//                                         standalone qcow2 (no backing or data file)
//   <image_root>/named/<name>             images placed by the operator ("image:<name>")
// Thread-safety: immutable after construction.
#pragma once

#include <string>
#include <string_view>

#include "lib/core/statusor.h"

namespace novacron::node::storage {

// OK when `component` is a single, non-special path component.
[[nodiscard]] core::Status checkPathComponent(std::string_view component);

class NodePaths {
public:
  // Roots must be absolute; they are normalised (no trailing slash).
  NodePaths(std::string vm_root, std::string image_root);

  const std::string& vmRoot() const { return vm_root_; }
  const std::string& imageRoot() const { return image_root_; }

  // <vm_root>/<ns>/<name>: the folder holding every incarnation (uid) of a VM name.
  [[nodiscard]] core::StatusOr<std::string> vmNameDir(std::string_view ns,
                                                      std::string_view name) const;
  // `uid` is the VM's metadata.uid: letters, digits and '-' only.
  [[nodiscard]] core::StatusOr<std::string> vmDir(std::string_view ns, std::string_view name,
                                                  std::string_view uid) const;
  [[nodiscard]] core::StatusOr<std::string> diskPath(std::string_view ns, std::string_view name,
                                                     std::string_view uid,
                                                     std::string_view disk) const;
  [[nodiscard]] core::StatusOr<std::string> seedPath(std::string_view ns, std::string_view name,
                                                     std::string_view uid,
                                                     std::string_view disk) const;
  [[nodiscard]] core::StatusOr<std::string> serialLogPath(std::string_view ns,
                                                          std::string_view name,
                                                          std::string_view uid) const;
  // `digest` must be 64 lower-case hex digits.
  [[nodiscard]] core::StatusOr<std::string> imageByDigest(std::string_view digest) const;
  [[nodiscard]] core::StatusOr<std::string> imageByUrlDigest(std::string_view digest) const;
  // The standalone qcow2 converted from a downloaded image (`downloaded` is one of the two above).
  static std::string standaloneImage(const std::string& downloaded) {
    return downloaded + ".qcow2";
  }
  // `name` must be a DNS-1123 subdomain (e.g. "debian-12.qcow2").
  [[nodiscard]] core::StatusOr<std::string> namedImage(std::string_view name) const;

  // True when `path` is lexically inside the VM or image root (used as a last check before any
  // file is removed).
  bool isUnderVmRoot(std::string_view path) const;
  bool isUnderImageRoot(std::string_view path) const;

private:
  std::string vm_root_;
  std::string image_root_;
};

bool isSha256Hex(std::string_view text);

}  // namespace novacron::node::storage
