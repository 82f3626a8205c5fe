// Stable identities for a VM's libvirt domain, derived only from the VirtualMachine's validated
// namespace, name and uid, so the same VM can never be defined twice under two names and a
// restarted node-daemon finds its domains again.
//
//   domain name:  "<namespace>_<name>"  (both validated; '_' appears in neither, so the mapping
//                                        is unambiguous and reversible)
//   domain UUID:  name-based UUID (RFC 4122 version 5 layout) from SHA-256("novacron:vm:" + uid)
//   MAC address:  52:54:00 (QEMU's prefix) + 3 bytes of SHA-256(uid + "/" + network name)
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "lib/core/statusor.h"

namespace novacron::node::domain {

// InvalidArgument unless namespace is a DNS-1123 label and name a DNS-1123 subdomain.
[[nodiscard]] core::StatusOr<std::string> domainName(std::string_view ns, std::string_view name);
// The inverse of domainName(); nullopt for names that domainName() cannot produce.
std::optional<std::pair<std::string, std::string>> parseDomainName(std::string_view domain_name);

// InvalidArgument for an empty uid.
[[nodiscard]] core::StatusOr<std::string> domainUuid(std::string_view vm_uid);

std::string macAddress(std::string_view vm_uid, std::string_view network_name);

// Lower-case hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);

}  // namespace novacron::node::domain
