#include "tests/apiserver/admission.h"

#ifdef NOVACRON_HAVE_SCHEMA
#include "tests/apiserver/schema/schema.h"
#endif
#ifdef NOVACRON_HAVE_PATCH
#include "tests/apiserver/patch/patch.h"
#endif

namespace novacron::devapi {

using nlohmann::json;

#ifdef NOVACRON_HAVE_SCHEMA
struct CompiledSchema::Impl {
  explicit Impl(schema::StructuralSchema s) : schema(std::move(s)) {}
  schema::StructuralSchema schema;
};
#else
struct CompiledSchema::Impl {};
#endif

CompiledSchema::CompiledSchema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CompiledSchema::~CompiledSchema() = default;

core::StatusOr<std::shared_ptr<const CompiledSchema>> CompiledSchema::compile(
    const json& openapi_v3_schema) {
#ifdef NOVACRON_HAVE_SCHEMA
  NOVACRON_ASSIGN_OR_RETURN(auto s, schema::StructuralSchema::fromJson(openapi_v3_schema));
  return std::shared_ptr<const CompiledSchema>(
      new CompiledSchema(std::make_unique<Impl>(std::move(s))));
#else
  (void)openapi_v3_schema;
  return std::shared_ptr<const CompiledSchema>(new CompiledSchema(std::make_unique<Impl>()));
#endif
}

std::vector<std::string> CompiledSchema::prune(json& obj) const {
#ifdef NOVACRON_HAVE_SCHEMA
  return schema::pruneAndReport(impl_->schema, obj);
#else
  (void)obj;
  return {};
#endif
}

void CompiledSchema::applyDefaults(json& obj) const {
#ifdef NOVACRON_HAVE_SCHEMA
  schema::applyDefaults(impl_->schema, obj);
#else
  (void)obj;
#endif
}

json CompiledSchema::validate(const json& obj, const std::string& kind, const std::string& group,
                              const std::string& name) const {
#ifdef NOVACRON_HAVE_SCHEMA
  auto errors = schema::validate(impl_->schema, obj);
  if (errors.empty()) {
    return json::object();
  }
  return schema::invalidStatus(kind, group, name, errors);
#else
  (void)obj;
  (void)kind;
  (void)group;
  (void)name;
  return json::object();
#endif
}

json validateCrd(const json& crd) {
#ifdef NOVACRON_HAVE_SCHEMA
  auto errors = schema::validateCustomResourceDefinition(crd);
  if (errors.empty()) {
    return json::object();
  }
  return schema::invalidStatus("CustomResourceDefinition", "apiextensions.k8s.io",
                               crd.value("/metadata/name"_json_pointer, ""), errors);
#else
  (void)crd;
  return json::object();
#endif
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

namespace {

[[maybe_unused]] json badRequest(const std::string& message) {
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", "BadRequest"},
          {"code", 400}};
}

}  // namespace

core::StatusOr<json> applyPatch(PatchType type, const json& target, const json& patch,
                                int* error_code, json* error_status) {
#ifdef NOVACRON_HAVE_PATCH
  core::StatusOr<json> result = core::internalError("unsupported patch type");
  if (type == PatchType::kJson) {
    result = patch::applyJsonPatch(target, patch);
  } else {
    result = patch::applyMergePatch(target, patch);
  }
  if (!result.isOk()) {
    *error_code = patch::httpCodeForPatchError(result.status());
    *error_status = patch::patchErrorStatus(result.status());
  }
  return result;
#else
  (void)type;
  (void)target;
  (void)patch;
  *error_code = 400;
  *error_status = badRequest("patch support is not built in");
  return core::invalidArgumentError("patch support is not built in");
#endif
}

json openApiV3(const std::vector<json>& crds, const std::string& group,
               const std::string& version) {
#ifdef NOVACRON_HAVE_SCHEMA
  return schema::openApiV3Document(crds, group, version);
#else
  (void)crds;
  return {{"openapi", "3.0.0"},
          {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0"}}},
          {"paths", json::object()},
          {"components", {{"schemas", json::object()}}},
          {"x-group", group + "/" + version}};
#endif
}

json openApiV2(const std::vector<json>& crds) {
#ifdef NOVACRON_HAVE_SCHEMA
  return schema::openApiV2Document(crds);
#else
  (void)crds;
  return {{"swagger", "2.0"},
          {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0"}}},
          {"paths", json::object()},
          {"definitions", json::object()}};
#endif
}

}  // namespace novacron::devapi
