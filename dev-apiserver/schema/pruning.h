// Pruning of unknown fields from custom resources, following
// k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning: fields not declared in the schema
// are dropped unless x-kubernetes-preserve-unknown-fields is set; at the root (and in
// x-kubernetes-embedded-resource objects) apiVersion and kind are kept, and metadata is left to the
// server's ObjectMeta handling (kept as is).
//
// Thread-safety: pure function; mutates only `obj`.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "dev-apiserver/schema/structural_schema.h"

namespace novacron::devapi::schema {

void prune(const StructuralSchema& schema, nlohmann::json& obj);

// As prune(), and returns the paths of the dropped fields ("spec.foo", "spec.list[0].bar"), which
// kube reports as warnings ("unknown field \"spec.foo\"") when fieldValidation=Warn.
std::vector<std::string> pruneAndReport(const StructuralSchema& schema, nlohmann::json& obj);

}  // namespace novacron::devapi::schema
