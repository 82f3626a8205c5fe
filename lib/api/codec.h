// JSON encoding and decoding of the NovaCron API types (nlohmann::json), and a YAML -> JSON helper.
//
// Decoding never throws: every nlohmann/yaml-cpp exception is caught here and returned as
// InvalidArgument whose message lists every problem with its field path, in the same format as
// validation.h ("spec.resources.cpus: Invalid type: expected integer, got string"). Decoding
// rejects only what the C++ types cannot represent: wrong JSON types, integers out of range,
// unknown enum values, malformed quantities and timestamps. Everything else (ranges, names, the
// one-disk-source rule) is validate()'s job, so call validate() after decoding user input.
// Missing fields take the CRD schema's defaults (see virtual_machine.h).
//
// Unknown fields are PRESERVED, not dropped: every JSON object member the decoder does not know is
// kept verbatim in the struct's `unknownFields` and re-emitted by toJson(). So a component built
// against this version that reads an object and writes it back (metadata update, status write)
// does not erase fields set by a newer version or another tool (metadata.managedFields, new spec
// fields). Known fields are always re-emitted from the struct, so what a caller changed wins.
//
// toJson() always sets apiVersion and kind; it omits unset optionals, empty lists/maps and the
// status object when it is empty. Quantities are re-emitted as the text they were parsed from.
// Because unset fields are omitted (not null), send the result as a full update (PUT, with the
// resourceVersion read) to clear a field; a JSON merge patch built from it would leave a field that
// was cleared in the struct untouched on the server.
// Thread-safety: pure functions.
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/api/hypervisor.h"
#include "lib/api/object_meta.h"
#include "lib/api/virtual_machine.h"
#include "lib/api/vm_migration.h"
#include "lib/core/statusor.h"

namespace novacron::api {

nlohmann::json toJson(const VirtualMachine& vm);
nlohmann::json toJson(const VMMigration& migration);
nlohmann::json toJson(const Hypervisor& hypervisor);

core::StatusOr<VirtualMachine> virtualMachineFromJson(const nlohmann::json& json);
core::StatusOr<VMMigration> vmMigrationFromJson(const nlohmann::json& json);
core::StatusOr<Hypervisor> hypervisorFromJson(const nlohmann::json& json);

// Pieces, for status writes and patches (e.g. {"status": toJson(vm.status)}).
nlohmann::json toJson(const ObjectMeta& meta);
nlohmann::json toJson(const Condition& condition);
nlohmann::json toJson(const VirtualMachineSpec& spec);
nlohmann::json toJson(const VirtualMachineStatus& status);
nlohmann::json toJson(const VMMigrationSpec& spec);
nlohmann::json toJson(const VMMigrationStatus& status);
nlohmann::json toJson(const HypervisorSpec& spec);
nlohmann::json toJson(const HypervisorStatus& status);
core::StatusOr<ObjectMeta> objectMetaFromJson(const nlohmann::json& json);
core::StatusOr<Condition> conditionFromJson(const nlohmann::json& json);

// Generic form, for templates (informers, stores): fromJson<VirtualMachine>(json).
template <typename T>
core::StatusOr<T> fromJson(const nlohmann::json& json);
template <>
core::StatusOr<VirtualMachine> fromJson<VirtualMachine>(const nlohmann::json& json);
template <>
core::StatusOr<VMMigration> fromJson<VMMigration>(const nlohmann::json& json);
template <>
core::StatusOr<Hypervisor> fromJson<Hypervisor>(const nlohmann::json& json);

// Parses one YAML document to JSON. Scalars follow YAML 1.2 core schema rules as Kubernetes
// (sigs.k8s.io/yaml) reads them: quoted scalars are always strings ("1", "true"); plain scalars
// become null (~, null, empty), booleans (true/false, any case), integers (decimal, 0x, 0o),
// floats (1.5, 1e3, .inf, .nan) or strings otherwise. Mapping keys are always strings. Aliases
// are resolved. Empty input gives null. InvalidArgument on malformed YAML (with line:column) and
// on more than one non-empty document.
core::StatusOr<nlohmann::json> yamlToJson(std::string_view yaml);
// Every document of a multi-document stream ("---" separated), skipping empty documents.
core::StatusOr<std::vector<nlohmann::json>> yamlDocumentsToJson(std::string_view yaml);

}  // namespace novacron::api
