#include "dev-apiserver/admission.h"

#include "dev-apiserver/patch/patch.h"
#include "dev-apiserver/schema/schema.h"

namespace novacron::devapi {

using nlohmann::json;

struct CompiledSchema::Impl {
  explicit Impl(schema::StructuralSchema s) : schema(std::move(s)) {}
  schema::StructuralSchema schema;
};

CompiledSchema::CompiledSchema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CompiledSchema::~CompiledSchema() = default;

core::StatusOr<std::shared_ptr<const CompiledSchema>> CompiledSchema::compile(
    const json& openapi_v3_schema) {
  NOVACRON_ASSIGN_OR_RETURN(auto s, schema::StructuralSchema::fromJson(openapi_v3_schema));
  return std::shared_ptr<const CompiledSchema>(
      new CompiledSchema(std::make_unique<Impl>(std::move(s))));
}

std::vector<std::string> CompiledSchema::prune(json& obj) const {
  return schema::pruneAndReport(impl_->schema, obj);
}

void CompiledSchema::applyDefaults(json& obj) const {
  schema::applyDefaults(impl_->schema, obj);
}

json CompiledSchema::validate(const json& obj, const std::string& kind, const std::string& group,
                              const std::string& name) const {
  auto errors = schema::validate(impl_->schema, obj);
  if (errors.empty()) {
    return json::object();
  }
  return schema::invalidStatus(kind, group, name, errors);
}

json validateCrd(const json& crd) {
  auto errors = schema::validateCustomResourceDefinition(crd);
  if (errors.empty()) {
    return json::object();
  }
  return schema::invalidStatus("CustomResourceDefinition", "apiextensions.k8s.io",
                               crd.value("/metadata/name"_json_pointer, ""), errors);
}

json invalidStatus(const std::string& kind, const std::string& group, const std::string& name,
                   const std::vector<SimpleFieldError>& errs) {
  std::string qualified = group.empty() ? kind : kind + "." + group;
  json causes = json::array();
  std::string agg;
  for (size_t i = 0; i < errs.size(); ++i) {
    causes.push_back(
        {{"reason", errs[i].type}, {"message", errs[i].message}, {"field", errs[i].field}});
    agg += (i ? ", " : "") + errs[i].field + ": " + errs[i].message;
  }
  if (errs.size() > 1) {
    agg = "[" + agg + "]";
  }
  json details = {{"name", name}, {"kind", kind}, {"causes", causes}};
  if (!group.empty()) {
    details["group"] = group;
  }
  return {{"kind", "Status"},
          {"apiVersion", "v1"},
          {"metadata", json::object()},
          {"status", "Failure"},
          {"message", qualified + " \"" + name + "\" is invalid: " + agg},
          {"reason", "Invalid"},
          {"details", details},
          {"code", 422}};
}

core::StatusOr<json> applyPatch(PatchType type, const json& target, const json& patch,
                                int* error_code, json* error_status) {
  core::StatusOr<json> result = core::internalError("unsupported patch type");
  switch (type) {
  case PatchType::kJson:
    result = patch::applyJsonPatch(target, patch);
    break;
  case PatchType::kMerge:
  case PatchType::kStrategicMerge:  // the caller allows it for built-in kinds only
    result = patch::applyMergePatch(target, patch);
    break;
  case PatchType::kApply:
    *error_code = 415;
    *error_status = {{"kind", "Status"},
                     {"apiVersion", "v1"},
                     {"metadata", json::object()},
                     {"status", "Failure"},
                     {"message", "server-side apply is not supported by the dev API server"},
                     {"reason", "UnsupportedMediaType"},
                     {"code", 415}};
    return core::failedPreconditionError("server-side apply is not supported");
  }
  if (!result.isOk()) {
    *error_code = patch::httpCodeForPatchError(result.status());
    *error_status = patch::patchErrorStatus(result.status());
  }
  return result;
}

json openApiV3(const std::vector<json>& crds, const std::string& group,
               const std::string& version) {
  return schema::openApiV3Document(crds, group, version);
}

json openApiV2(const std::vector<json>& crds) {
  return schema::openApiV2Document(crds);
}

}  // namespace novacron::devapi
