// RBAC evaluation, as kube-apiserver's RBAC authorizer does it (plugin/pkg/auth/authorizer/rbac
// and pkg/apis/rbac/v1/evaluation_helpers.go), pure over the Role/ClusterRole/binding objects
// (rbac.authorization.k8s.io/v1 JSON) a PolicySource returns:
//   - ClusterRoleBindings apply everywhere; RoleBindings only to requests in their namespace, and
//     may point at a Role of that namespace or at a ClusterRole (then limited to the namespace);
//   - subjects: User (name), Group (any of the user's groups), ServiceAccount (namespace
//     defaulting to the RoleBinding's; matches "system:serviceaccount:<ns>:<name>");
//   - a rule allows a resource request when verb, API group, resource and name match: "*" matches
//     any verb/group/resource; a resource names "res" or "res/sub" (the subresource must be named:
//     "virtualmachines" does not allow "virtualmachines/status"), "*/sub" any resource's sub;
//     empty resourceNames means any name; a non-resource request needs a nonResourceURLs entry
//     equal to the path, "*", or a prefix ending in "*";
//   - nothing denies: no matching rule means "not allowed"; a binding whose role is missing adds
//     "RBAC: role.rbac.authorization.k8s.io \"x\" not found" to the reason.
//
// Thread-safety: the free functions are pure; RbacAuthorizer is as thread-safe as its source.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dev-apiserver/authz/authorizer.h"
#include "lib/core/statusor.h"

namespace novacron::devapi::authz {

struct PolicyRule {
  std::vector<std::string> verbs;
  std::vector<std::string> api_groups;
  std::vector<std::string> resources;
  std::vector<std::string> resource_names;
  std::vector<std::string> non_resource_urls;
};

struct Subject {
  std::string kind;  // User, Group, ServiceAccount
  std::string name;
  std::string ns;
};

// The rules of a Role or ClusterRole object (missing lists are empty).
std::vector<PolicyRule> rulesOf(const nlohmann::json& role);
std::vector<Subject> subjectsOf(const nlohmann::json& binding);

bool ruleAllows(const Attributes& attributes, const PolicyRule& rule);
// binding_ns: the RoleBinding's namespace, "" for a ClusterRoleBinding.
bool appliesTo(const authn::UserInfo& user, const Subject& subject, const std::string& binding_ns);

// The RBAC objects, read by the authorizer for each decision.
class PolicySource {
public:
  virtual ~PolicySource() = default;
  virtual core::StatusOr<std::vector<nlohmann::json>> clusterRoleBindings() = 0;
  virtual core::StatusOr<std::vector<nlohmann::json>> roleBindings(const std::string& ns) = 0;
  // nullopt when absent.
  virtual core::StatusOr<std::optional<nlohmann::json>> clusterRole(const std::string& name) = 0;
  virtual core::StatusOr<std::optional<nlohmann::json>> role(const std::string& ns,
                                                             const std::string& name) = 0;
};
using PolicySourcePtr = std::shared_ptr<PolicySource>;

class RbacAuthorizer : public Authorizer {
public:
  explicit RbacAuthorizer(PolicySourcePtr source) : source_(std::move(source)) {}
  Decision authorize(const Attributes& attributes) override;
  // Every rule of every binding that applies (ClusterRoleBindings, then RoleBindings in ns);
  // incomplete, with the errors, when a binding's role is missing or a read failed.
  RuleSet rulesFor(const authn::UserInfo& user, const std::string& ns) override;

private:
  const PolicySourcePtr source_;
};

}  // namespace novacron::devapi::authz
