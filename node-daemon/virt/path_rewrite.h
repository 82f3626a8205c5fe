// Rewriting a domain's file paths for another host: the node-daemons of two hosts may keep VM
// files under different roots (their --vm-root and --image-root), while the layout below a root is
// the same everywhere (storage/paths.h). A migration to such a host passes the domain XML with
// each source root replaced by the target's (libvirt's VIR_MIGRATE_PARAM_DEST_XML).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "lib/core/statusor.h"

namespace novacron::node::virt {

struct PathPrefix {
  std::string from;  // a root on this host, e.g. /var/lib/novacron/vms
  std::string to;    // the same root on the target host
  bool operator==(const PathPrefix&) const = default;
};

// Replaces every path that starts with `from/` and stands at the start of an XML attribute value
// or element text (after ', " or >) with `to/`. Roots must be absolute, without "." or ".."
// components and without characters XML would need to escape (InvalidArgument otherwise), so a
// value written by someone else can never point the target's libvirtd outside its roots.
[[nodiscard]] core::StatusOr<std::string> rewritePaths(std::string xml,
                                                       const std::vector<PathPrefix>& prefixes);

// The same rewrite for a single path (e.g. an overlay's backing file); unchanged when no prefix
// matches.
std::string rewritePath(const std::string& path, const std::vector<PathPrefix>& prefixes);

}  // namespace novacron::node::virt
