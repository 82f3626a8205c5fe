// An in-memory authz::PolicySource for the authorizer's unit tests: Roles, ClusterRoles and
// bindings given as rbac.authorization.k8s.io/v1 JSON (YAML-like literals in the tests).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dev-apiserver/authz/rbac.h"

namespace novacron::devapi::authz::testing {

class FakePolicySource : public PolicySource {
public:
  // Adds any of the four kinds (by its "kind" and metadata).
  void add(const nlohmann::json& obj) {
    std::string kind = obj["kind"];
    std::string name = obj["metadata"]["name"];
    std::string ns = obj["metadata"].value("namespace", "");
    if (kind == "ClusterRole") {
      cluster_roles_[name] = obj;
    } else if (kind == "Role") {
      roles_[ns + "/" + name] = obj;
    } else if (kind == "ClusterRoleBinding") {
      crbs_.push_back(obj);
    } else {
      rbs_[ns].push_back(obj);
    }
  }

  core::StatusOr<std::vector<nlohmann::json>> clusterRoleBindings() override { return crbs_; }
  core::StatusOr<std::vector<nlohmann::json>> roleBindings(const std::string& ns) override {
    return rbs_[ns];
  }
  core::StatusOr<std::optional<nlohmann::json>> clusterRole(const std::string& name) override {
    auto it = cluster_roles_.find(name);
    return it == cluster_roles_.end() ? std::nullopt : std::optional<nlohmann::json>(it->second);
  }
  core::StatusOr<std::optional<nlohmann::json>> role(const std::string& ns,
                                                     const std::string& name) override {
    auto it = roles_.find(ns + "/" + name);
    return it == roles_.end() ? std::nullopt : std::optional<nlohmann::json>(it->second);
  }

private:
  std::map<std::string, nlohmann::json> cluster_roles_;
  std::map<std::string, nlohmann::json> roles_;
  std::vector<nlohmann::json> crbs_;
  std::map<std::string, std::vector<nlohmann::json>> rbs_;
};

// Builders for the tests' objects.
inline nlohmann::json role(const std::string& kind, const std::string& name, const std::string& ns,
                           nlohmann::json rules) {
  nlohmann::json meta = {{"name", name}};
  if (!ns.empty()) {
    meta["namespace"] = ns;
  }
  return {{"kind", kind}, {"metadata", meta}, {"rules", std::move(rules)}};
}

inline nlohmann::json binding(const std::string& kind, const std::string& name,
                              const std::string& ns, const std::string& role_kind,
                              const std::string& role_name, nlohmann::json subjects) {
  nlohmann::json meta = {{"name", name}};
  if (!ns.empty()) {
    meta["namespace"] = ns;
  }
  return {{"kind", kind},
          {"metadata", meta},
          {"roleRef",
           {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", role_kind}, {"name", role_name}}},
          {"subjects", std::move(subjects)}};
}

}  // namespace novacron::devapi::authz::testing
