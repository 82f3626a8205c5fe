#include "dev-apiserver/authz/bootstrap_policy.h"

#include "dev-apiserver/util.h"

namespace novacron::devapi::authz {

using nlohmann::json;

namespace {

json metadata(const std::string& name) {
  return {{"name", name},
          {"uid", newUid()},
          {"creationTimestamp", rfc3339Now()},
          {"labels", {{"kubernetes.io/bootstrapping", "rbac-defaults"}}},
          {"annotations", {{"rbac.authorization.kubernetes.io/autoupdate", "true"}}}};
}

std::pair<std::string, json> clusterRole(const std::string& name, json rules) {
  return {"/registry/clusterroles/" + name,
          {{"apiVersion", "rbac.authorization.k8s.io/v1"},
           {"kind", "ClusterRole"},
           {"metadata", metadata(name)},
           {"rules", std::move(rules)}}};
}

std::pair<std::string, json> bindingToGroups(const std::string& name,
                                             const std::vector<std::string>& groups) {
  json subjects = json::array();
  for (const auto& g : groups) {
    subjects.push_back({{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Group"}, {"name", g}});
  }
  return {"/registry/clusterrolebindings/" + name,
          {{"apiVersion", "rbac.authorization.k8s.io/v1"},
           {"kind", "ClusterRoleBinding"},
           {"metadata", metadata(name)},
           {"roleRef",
            {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", name}}},
           {"subjects", subjects}}};
}

}  // namespace

std::vector<std::pair<std::string, json>> bootstrapPolicy() {
  const json public_info = {"/healthz", "/livez", "/readyz", "/version", "/version/"};
  return {
      clusterRole("cluster-admin", {{{"apiGroups", {"*"}}, {"resources", {"*"}}, {"verbs", {"*"}}},
                                    {{"nonResourceURLs", {"*"}}, {"verbs", {"*"}}}}),
      clusterRole("system:discovery",
                  {{{"nonResourceURLs",
                     {"/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                      "/openapi/*", "/readyz", "/version", "/version/"}},
                    {"verbs", {"get"}}}}),
      clusterRole("system:basic-user",
                  {{{"apiGroups", {"authorization.k8s.io"}},
                    {"resources", {"selfsubjectaccessreviews", "selfsubjectrulesreviews"}},
                    {"verbs", {"create"}}},
                   {{"apiGroups", {"authentication.k8s.io"}},
                    {"resources", {"selfsubjectreviews"}},
                    {"verbs", {"create"}}}}),
      clusterRole("system:public-info-viewer",
                  {{{"nonResourceURLs", public_info}, {"verbs", {"get"}}}}),
      bindingToGroups("cluster-admin", {"system:masters"}),
      bindingToGroups("system:discovery", {"system:authenticated"}),
      bindingToGroups("system:basic-user", {"system:authenticated"}),
      bindingToGroups("system:public-info-viewer",
                      {"system:authenticated", "system:unauthenticated"}),
  };
}

}  // namespace novacron::devapi::authz
