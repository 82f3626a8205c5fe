// The set of resource types the dev API server serves: built-in types (Namespaces, ConfigMaps,
// Secrets, ServiceAccounts, Events, Leases, CRDs, RBAC Roles/ClusterRoles/bindings, the
// authorization.k8s.io access reviews) plus custom resources registered from stored CRDs, and where
// in etcd each one lives (kube-apiserver's layout: /registry/<resource>/<ns>/<name> for built-ins,
// /registry/<group>/<resource>/<ns>/<name> for custom resources and CRDs).
//
// Thread-safety: Registry is thread-safe; lookups return immutable shared snapshots.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/core/statusor.h"

namespace novacron::devapi {

class CompiledSchema;  // admission.h

struct ResourceType {
  std::string group;  // "" for the core group
  std::string version;
  std::string resource;  // plural, e.g. "virtualmachines"
  std::string kind;
  std::string list_kind;
  std::string singular;
  bool namespaced = true;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  bool custom = false;      // a CR defined by a CRD
  bool has_status = false;  // status subresource enabled
  bool storage_version = true;
  std::string storage_prefix;                                // ends with '/'
  nlohmann::json printer_columns = nlohmann::json::array();  // additionalPrinterColumns
  nlohmann::json openapi_schema;                             // CR: openAPIV3Schema
  std::shared_ptr<const CompiledSchema> schema;              // CR: compiled structural schema
  std::vector<std::string> field_selectors;                  // supported fieldSelector paths
  std::vector<std::string> verbs;                            // discovery verbs; empty: the full set
  bool stored = true;  // false: POST-only reviews, answered and never stored

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "virtualmachines.novacron.io" / "configmaps".
  std::string groupResource() const { return group.empty() ? resource : resource + "." + group; }
  // etcd key of one object; ns empty for cluster-scoped types.
  std::string key(const std::string& ns, const std::string& name) const;
  // etcd prefix of all objects (ns empty) or of one namespace.
  std::string prefix(const std::string& ns) const;
};

using ResourceTypePtr = std::shared_ptr<const ResourceType>;

class Registry {
public:
  Registry();

  ResourceTypePtr find(const std::string& group, const std::string& version,
                       const std::string& resource) const;
  // All served types in a group/version (empty when unknown).
  std::vector<ResourceTypePtr> list(const std::string& group, const std::string& version) const;
  std::vector<ResourceTypePtr> all() const;
  // group -> versions (preferred first), for discovery. Excludes the core group.
  std::vector<std::pair<std::string, std::vector<std::string>>> groups() const;
  // All namespaced types, one per storage prefix (for namespace deletion).
  std::vector<ResourceTypePtr> namespacedStorage() const;

  // Registers or replaces the types served by a CRD object; removes them when crd is null.
  // Returns the error (InvalidArgument) if the CRD's schema does not compile.
  core::Status applyCrd(const std::string& crd_name, const nlohmann::json* crd);
  // The CRD objects currently registered (for OpenAPI generation).
  std::vector<nlohmann::json> crds() const;

private:
  void addBuiltin(ResourceType t);

  mutable std::shared_mutex mu_;                              // guards everything below
  std::map<std::string, ResourceTypePtr> types_;              // "group/version/resource"
  std::map<std::string, std::vector<std::string>> crd_keys_;  // crd name -> keys in types_
  std::map<std::string, nlohmann::json> crds_;
};

// Splits "group/version" into its parts ("v1" -> {"", "v1"}).
std::pair<std::string, std::string> splitApiVersion(const std::string& api_version);

// Converts a CRD's served versions into resource types (pure; used by Registry::applyCrd).
core::StatusOr<std::vector<ResourceType>> typesFromCrd(const nlohmann::json& crd);

}  // namespace novacron::devapi
