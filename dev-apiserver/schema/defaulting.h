// Defaulting of custom resources from `default` values in their structural schema, following
// k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting: a missing field gets a deep copy
// of its default, and so does a null for a field that is not nullable; defaulting recurses into
// objects, array items and map values (also into values that were just defaulted).
//
// Thread-safety: pure function; mutates only `obj`.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "dev-apiserver/schema/structural_schema.h"

namespace novacron::devapi::schema {

void applyDefaults(const StructuralSchema& schema, nlohmann::json& obj);

}  // namespace novacron::devapi::schema
