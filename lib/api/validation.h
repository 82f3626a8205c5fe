// validate(): semantic checks on the API types, mirroring the CRD schemas in crds/ exactly (same
// ranges, patterns, enums, required fields, exactly-one disk source), plus the few rules a schema
// cannot express (cpu topology product, unique disk/network names). Defence in depth: the API
// server enforces the schema at admission, and the node-daemon calls validate() again before it
// touches libvirt or the disk, so a name that reaches a domain or file name has been checked twice.
//
// Messages follow Kubernetes field errors: "<path>: <type>: <value>: <detail>", e.g.
//   spec.resources.cpus: Invalid value: 1000: must be between 1 and 256
// validate() returns InvalidArgument listing every error ("VirtualMachine default/web is invalid:
// [e1; e2]"), or OK.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/api/hypervisor.h"
#include "lib/api/virtual_machine.h"
#include "lib/api/vm_migration.h"
#include "lib/core/status.h"

namespace novacron::api {

struct FieldError {
  enum class Type { kRequired, kInvalid, kUnsupported, kForbidden, kDuplicate, kTooLong, kType };

  Type type = Type::kInvalid;
  std::string field;   // "spec.disks[1].name"
  std::string value;   // the offending value as text (JSON-ish: strings quoted); empty if none
  std::string detail;  // "must be between 1 and 256"

  // "spec.disks[1].name: Invalid value: \"a/b\": must be a DNS-1123 label ..."
  std::string toString() const;
  bool operator==(const FieldError&) const = default;
};
using FieldErrors = std::vector<FieldError>;

std::string_view toString(FieldError::Type type);  // "Required value", "Invalid value", ...

FieldErrors validationErrors(const VirtualMachine& vm);
FieldErrors validationErrors(const VMMigration& migration);
FieldErrors validationErrors(const Hypervisor& hypervisor);

core::Status validate(const VirtualMachine& vm);
core::Status validate(const VMMigration& migration);
core::Status validate(const Hypervisor& hypervisor);

// OK if `errors` is empty, else InvalidArgument "<kind> <ns/name> is invalid: [e1; e2; ...]".
core::Status toStatus(const FieldErrors& errors, std::string_view kind, std::string_view name);

// Name rules (Kubernetes apimachinery validation).
// DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool isDns1123Label(std::string_view name);
// DNS-1123 subdomain: labels joined by '.', at most 253 characters.
bool isDns1123Subdomain(std::string_view name);
// Qualified label key ("novacron.io/hypervisor", "zone") and label value rules.
bool isQualifiedName(std::string_view key);
bool isLabelValue(std::string_view value);

}  // namespace novacron::api
