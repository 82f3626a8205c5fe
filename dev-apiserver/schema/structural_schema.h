// StructuralSchema: a CRD's openAPIV3Schema, checked to be structural the way kube-apiserver checks
// it when a CustomResourceDefinition is created, and held in a form the validator, defaulter and
// pruner walk quickly.
//
// Thread-safety: immutable after construction; copies share the parsed tree and may be used from
// any thread concurrently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "dev-apiserver/schema/field_error.h"
#include "lib/core/statusor.h"

namespace novacron::devapi::schema {

struct SchemaNode;  // defined in schema_node.h (internal to this library)

class StructuralSchema {
public:
  // Parses and checks `openAPIV3Schema`. A non-structural schema (missing types, items of an array,
  // properties and additionalProperties together, types inside allOf/anyOf/oneOf/not, $ref, ...)
  // is rejected with kInvalidArgument; the message lists the same errors kube-apiserver gives,
  // with paths relative to "openAPIV3Schema" (see structuralErrors() for them as FieldErrors).
  static core::StatusOr<StructuralSchema> fromJson(const nlohmann::json& openAPIV3Schema);

  // The schema as given (after fromJson accepted it).
  const nlohmann::json& json() const;

  const SchemaNode& root() const { return *root_; }

private:
  explicit StructuralSchema(std::shared_ptr<const SchemaNode> root) : root_(std::move(root)) {}
  std::shared_ptr<const SchemaNode> root_;
};

// The errors that make `schema` non-structural (empty when it is fine), with field paths below
// `path`, e.g. path "spec.versions[0].schema.openAPIV3Schema" gives
// "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty
// for specified object fields". Also checks defaults against the schema (like kube).
std::vector<FieldError> structuralErrors(const nlohmann::json& schema, const std::string& path);

// Validation of a whole apiextensions.k8s.io/v1 CustomResourceDefinition object as kube-apiserver
// does on create/update (metadata.name == <plural>.<group>, names, scope, exactly one storage
// version, a structural schema per served version, status/scale subresources). Empty = valid.
// Use with invalidStatus("CustomResourceDefinition", "apiextensions.k8s.io", name, errors).
std::vector<FieldError> validateCustomResourceDefinition(const nlohmann::json& crd);

}  // namespace novacron::devapi::schema
