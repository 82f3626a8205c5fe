// The NovaCron metadata element stored in every domain NovaCron defines, so a restarted
// node-daemon can tell its own domains (and which VM owns each) from anybody else's:
//
//   <metadata>
//     <novacron:vm xmlns:novacron="https://novacron.io/xmlns/domain/1">
//       <novacron:namespace>default</novacron:namespace>
//       <novacron:name>web</novacron:name>
//       <novacron:uid>0b6c...</novacron:uid>
//     </novacron:vm>
//   </metadata>
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "lib/core/statusor.h"

namespace novacron::node::domain {

inline constexpr std::string_view kMetadataNamespace = "https://novacron.io/xmlns/domain/1";
inline constexpr std::string_view kMetadataPrefix = "novacron";

struct DomainMetadata {
  std::string vm_namespace;
  std::string vm_name;
  std::string vm_uid;
  bool operator==(const DomainMetadata&) const = default;
};

// Parses the element returned by virt::Connection::domainMetadata() (any prefix).
// InvalidArgument when it is not our element or a field is missing.
[[nodiscard]] core::StatusOr<DomainMetadata> parseMetadata(std::string_view xml);

}  // namespace novacron::node::domain
