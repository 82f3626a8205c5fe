#include "dev-apiserver/registry.h"

#include <algorithm>
#include <mutex>
#include <set>
#include <tuple>

#include "dev-apiserver/admission.h"

namespace novacron::devapi {

using nlohmann::json;

std::string ResourceType::key(const std::string& ns, const std::string& name) const {
  return prefix(ns) + name;
}

std::string ResourceType::prefix(const std::string& ns) const {
  if (ns.empty()) {
    return storage_prefix;
  }
  return storage_prefix + ns + "/";
}

std::pair<std::string, std::string> splitApiVersion(const std::string& api_version) {
  auto slash = api_version.find('/');
  if (slash == std::string::npos) {
    return {"", api_version};
  }
  return {api_version.substr(0, slash), api_version.substr(slash + 1)};
}

namespace {

std::string typeKey(const std::string& g, const std::string& v, const std::string& r) {
  return g + "/" + v + "/" + r;
}

const std::vector<std::string> kMetaFields = {"metadata.name", "metadata.namespace"};

std::vector<std::string> withMeta(std::vector<std::string> extra) {
  extra.insert(extra.begin(), kMetaFields.begin(), kMetaFields.end());
  return extra;
}

// Kubernetes version ordering for "preferred version": GA > beta > alpha, higher numbers first.
int versionRank(const std::string& v, int* major, int* minor) {
  *major = 0;
  *minor = 0;
  if (v.size() < 2 || v[0] != 'v' || !std::isdigit(static_cast<unsigned char>(v[1]))) {
    return 0;
  }
  size_t i = 1;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) {
    *major = *major * 10 + (v[i] - '0');
    ++i;
  }
  int rank = 3;
  std::string rest = v.substr(i);
  if (rest.rfind("beta", 0) == 0) {
    rank = 2;
    rest = rest.substr(4);
  } else if (rest.rfind("alpha", 0) == 0) {
    rank = 1;
    rest = rest.substr(5);
  } else if (!rest.empty()) {
    return 0;
  }
  for (char c : rest) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return 0;
    }
    *minor = *minor * 10 + (c - '0');
  }
  return rank;
}

bool versionLess(const std::string& a, const std::string& b) {  // a sorts before b
  int am, an, bm, bn;
  int ar = versionRank(a, &am, &an);
  int br = versionRank(b, &bm, &bn);
  if (ar != br) {
    return ar > br;
  }
  if (am != bm) {
    return am > bm;
  }
  if (an != bn) {
    return an > bn;
  }
  return a < b;
}

}  // namespace

Registry::Registry() {
  auto base = [](std::string g, std::string v, std::string r, std::string kind, bool namespaced) {
    ResourceType t;
    t.group = std::move(g);
    t.version = std::move(v);
    t.resource = r;
    t.kind = kind;
    t.list_kind = kind + "List";
    std::string singular = kind;
    std::transform(singular.begin(), singular.end(), singular.begin(), ::tolower);
    t.singular = singular;
    t.namespaced = namespaced;
    t.storage_prefix = "/registry/" + r + "/";
    t.field_selectors = kMetaFields;
    return t;
  };
  {
    auto t = base("", "v1", "namespaces", "Namespace", false);
    t.short_names = {"ns"};
    t.has_status = true;
    t.field_selectors = withMeta({"status.phase"});
    addBuiltin(t);
  }
  {
    auto t = base("", "v1", "configmaps", "ConfigMap", true);
    t.short_names = {"cm"};
    addBuiltin(t);
  }
  {
    auto t = base("", "v1", "secrets", "Secret", true);
    t.field_selectors = withMeta({"type"});
    addBuiltin(t);
  }
  {
    auto t = base("", "v1", "events", "Event", true);
    t.short_names = {"ev"};
    t.field_selectors = withMeta(
        {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
         "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
         "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"});
    addBuiltin(t);
  }
  {
    auto t = base("events.k8s.io", "v1", "events", "Event", true);
    t.short_names = {"ev"};
    t.field_selectors = withMeta({"regarding.kind", "regarding.namespace", "regarding.name",
                                  "regarding.uid", "reason", "reportingController", "type"});
    addBuiltin(t);
  }
  {
    auto t = base("coordination.k8s.io", "v1", "leases", "Lease", true);
    addBuiltin(t);
  }
  {
    auto t = base("", "v1", "serviceaccounts", "ServiceAccount", true);
    t.short_names = {"sa"};
    addBuiltin(t);
  }
  for (const auto& [resource, kind, namespaced] :
       std::vector<std::tuple<std::string, std::string, bool>>{
           {"roles", "Role", true},
           {"rolebindings", "RoleBinding", true},
           {"clusterroles", "ClusterRole", false},
           {"clusterrolebindings", "ClusterRoleBinding", false}}) {
    addBuiltin(base("rbac.authorization.k8s.io", "v1", resource, kind, namespaced));
  }
  for (const auto& [resource, kind] : std::vector<std::pair<std::string, std::string>>{
           {"selfsubjectaccessreviews", "SelfSubjectAccessReview"},
           {"subjectaccessreviews", "SubjectAccessReview"},
           {"selfsubjectrulesreviews", "SelfSubjectRulesReview"}}) {
    auto t = base("authorization.k8s.io", "v1", resource, kind, false);
    t.verbs = {"create"};
    t.stored = false;
    addBuiltin(t);
  }
  {
    auto t = base("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                  "CustomResourceDefinition", false);
    t.short_names = {"crd", "crds"};
    t.categories = {"api-extensions"};
    t.has_status = true;
    t.storage_prefix = "/registry/apiextensions.k8s.io/customresourcedefinitions/";
    addBuiltin(t);
  }
}

void Registry::addBuiltin(ResourceType t) {
  std::string k = typeKey(t.group, t.version, t.resource);
  types_[k] = std::make_shared<const ResourceType>(std::move(t));
}

ResourceTypePtr Registry::find(const std::string& group, const std::string& version,
                               const std::string& resource) const {
  std::shared_lock lock(mu_);
  auto it = types_.find(typeKey(group, version, resource));
  return it == types_.end() ? nullptr : it->second;
}

std::vector<ResourceTypePtr> Registry::list(const std::string& group,
                                            const std::string& version) const {
  std::shared_lock lock(mu_);
  std::vector<ResourceTypePtr> out;
  for (const auto& [k, t] : types_) {
    if (t->group == group && t->version == version) {
      out.push_back(t);
    }
  }
  return out;
}

std::vector<ResourceTypePtr> Registry::all() const {
  std::shared_lock lock(mu_);
  std::vector<ResourceTypePtr> out;
  for (const auto& [k, t] : types_) {
    out.push_back(t);
  }
  return out;
}

std::vector<std::pair<std::string, std::vector<std::string>>> Registry::groups() const {
  std::shared_lock lock(mu_);
  std::map<std::string, std::set<std::string>> g;
  for (const auto& [k, t] : types_) {
    if (!t->group.empty()) {
      g[t->group].insert(t->version);
    }
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (auto& [name, versions] : g) {
    std::vector<std::string> v(versions.begin(), versions.end());
    std::sort(v.begin(), v.end(), versionLess);
    out.emplace_back(name, std::move(v));
  }
  return out;
}

std::vector<ResourceTypePtr> Registry::namespacedStorage() const {
  std::shared_lock lock(mu_);
  std::map<std::string, ResourceTypePtr> by_prefix;
  for (const auto& [k, t] : types_) {
    if (t->namespaced && t->stored) {
      by_prefix.emplace(t->storage_prefix, t);
    }
  }
  std::vector<ResourceTypePtr> out;
  for (auto& [p, t] : by_prefix) {
    out.push_back(t);
  }
  return out;
}

core::StatusOr<std::vector<ResourceType>> typesFromCrd(const json& crd) {
  try {
    const json& spec = crd.at("spec");
    const json& names = spec.at("names");
    std::string group = spec.at("group").get<std::string>();
    std::vector<ResourceType> out;
    for (const auto& v : spec.value("versions", json::array())) {
      if (!v.value("served", false)) {
        continue;
      }
      ResourceType t;
      t.group = group;
      t.version = v.at("name").get<std::string>();
      t.resource = names.at("plural").get<std::string>();
      t.kind = names.at("kind").get<std::string>();
      t.list_kind = names.value("listKind", t.kind + "List");
      std::string singular = t.kind;
      std::transform(singular.begin(), singular.end(), singular.begin(), ::tolower);
      t.singular = names.value("singular", singular);
      t.namespaced = spec.value("scope", "Namespaced") == "Namespaced";
      t.short_names = names.value("shortNames", std::vector<std::string>{});
      t.categories = names.value("categories", std::vector<std::string>{});
      t.custom = true;
      t.storage_version = v.value("storage", false);
      t.has_status = v.contains("subresources") && v["subresources"].contains("status");
      t.storage_prefix = "/registry/" + group + "/" + t.resource + "/";
      t.printer_columns = v.value("additionalPrinterColumns", json::array());
      t.field_selectors = kMetaFields;
      if (v.contains("schema") && v["schema"].contains("openAPIV3Schema")) {
        t.openapi_schema = v["schema"]["openAPIV3Schema"];
        auto compiled = CompiledSchema::compile(t.openapi_schema);
        if (!compiled.isOk()) {
          return compiled.status();
        }
        t.schema = *compiled;
      }
      out.push_back(std::move(t));
    }
    return out;
  } catch (const std::exception& e) {
    return core::invalidArgumentError(std::string("malformed CustomResourceDefinition: ") +
                                      e.what());
  }
}

core::Status Registry::applyCrd(const std::string& crd_name, const json* crd) {
  std::vector<ResourceType> types;
  if (crd != nullptr) {
    NOVACRON_ASSIGN_OR_RETURN(types, typesFromCrd(*crd));
  }
  std::unique_lock lock(mu_);
  for (const auto& k : crd_keys_[crd_name]) {
    types_.erase(k);
  }
  crd_keys_.erase(crd_name);
  crds_.erase(crd_name);
  if (crd == nullptr) {
    return core::okStatus();
  }
  for (auto& t : types) {
    std::string k = typeKey(t.group, t.version, t.resource);
    crd_keys_[crd_name].push_back(k);
    types_[k] = std::make_shared<const ResourceType>(std::move(t));
  }
  crds_[crd_name] = *crd;
  return core::okStatus();
}

std::vector<json> Registry::crds() const {
  std::shared_lock lock(mu_);
  std::vector<json> out;
  for (const auto& [n, c] : crds_) {
    out.push_back(c);
  }
  return out;
}

}  // namespace novacron::devapi
