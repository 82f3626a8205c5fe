// Validation of a custom resource against its structural schema, as kube-apiserver's CRD handler
// does (k8s.io/apiextensions-apiserver/pkg/apiserver/validation): type (integer vs number,
// int-or-string, nullable), required, enum, minimum/maximum (exclusive too), multipleOf, pattern,
// minLength/maxLength, minItems/maxItems, uniqueItems, minProperties/maxProperties, format,
// additionalProperties (maps), allOf/anyOf/oneOf/not, and x-kubernetes-list-type set/map
// uniqueness. Messages are kube's (see field_error.h).
//
// Root "apiVersion", "kind" and "metadata" are validated as kube does for CRs: metadata only for
// name/generateName restrictions declared in the schema; the server validates ObjectMeta itself.
//
// Deviation from kube: a string longer than 16384 bytes is not matched against a `pattern` (the
// regex engine would overflow the stack); it is refused as an Invalid value instead.
//
// Thread-safety: pure functions.
#pragma once

#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "dev-apiserver/schema/field_error.h"
#include "dev-apiserver/schema/structural_schema.h"

namespace novacron::devapi::schema {

// All errors of `obj` (the whole custom resource) against `schema`; empty when valid. Run it after
// prune() and applyDefaults(), as kube does.
std::vector<FieldError> validate(const StructuralSchema& schema, const nlohmann::json& obj);

}  // namespace novacron::devapi::schema
