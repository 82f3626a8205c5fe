// The one place where the dev API server calls the schema library (dev-apiserver/schema/:
// structural schemas, pruning, defaulting, validation, OpenAPI) and the patch library
// (dev-apiserver/patch/). Everything else in the server sees only these wrappers.
//
// Thread-safety: CompiledSchema is immutable and shareable; the functions are pure.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/core/statusor.h"

namespace novacron::devapi {

class CompiledSchema {
public:
  static core::StatusOr<std::shared_ptr<const CompiledSchema>> compile(
      const nlohmann::json& openapi_v3_schema);
  ~CompiledSchema();

  // Prunes unknown fields and returns their paths ("spec.foo").
  std::vector<std::string> prune(nlohmann::json& obj) const;
  void applyDefaults(nlohmann::json& obj) const;
  // Validates; returns an empty object when valid, else the full 422 Status body.
  nlohmann::json validate(const nlohmann::json& obj, const std::string& kind,
                          const std::string& group, const std::string& name) const;

private:
  struct Impl;
  explicit CompiledSchema(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Validates a CRD object; empty object when valid, else the 422 Status body.
nlohmann::json validateCrd(const nlohmann::json& crd);

// 422 Status body for hand-made field errors (ObjectMeta checks done by the server itself).
struct SimpleFieldError {
  std::string type;  // "FieldValueRequired", "FieldValueInvalid", "FieldValueForbidden"
  std::string field;
  std::string message;  // full cause message, e.g. "Required value: name is required"
};
nlohmann::json invalidStatus(const std::string& kind, const std::string& group,
                             const std::string& name, const std::vector<SimpleFieldError>& errs);

// Patch types by Content-Type. kStrategicMerge is applied as a merge patch and only for built-in
// kinds (kube-apiserver answers 415 for strategic merge on custom resources).
enum class PatchType { kMerge, kJson, kStrategicMerge, kApply };

// Applies a patch; on failure returns the HTTP code and Status body via `error_status`.
core::StatusOr<nlohmann::json> applyPatch(PatchType type, const nlohmann::json& target,
                                          const nlohmann::json& patch, int* error_code,
                                          nlohmann::json* error_status);

// OpenAPI documents built from the registered CRDs.
nlohmann::json openApiV3(const std::vector<nlohmann::json>& crds, const std::string& group,
                         const std::string& version);
nlohmann::json openApiV2(const std::vector<nlohmann::json>& crds);

}  // namespace novacron::devapi
