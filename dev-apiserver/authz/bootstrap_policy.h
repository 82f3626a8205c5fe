// The part of kube-apiserver's bootstrap RBAC policy (plugin/pkg/auth/authorizer/rbac/
// bootstrappolicy) that every cluster has and clients rely on: cluster-admin (bound to
// system:masters), system:discovery and system:basic-user (discovery, OpenAPI and access reviews
// for every authenticated user: what `kubectl auth can-i` needs) and system:public-info-viewer.
// The dev server creates them at startup where they are missing, like kube-apiserver's
// post-start hook. (The aggregated admin/edit/view roles are not included.)
//
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace novacron::devapi::authz {

// {etcd key, object} of each bootstrap ClusterRole and ClusterRoleBinding.
std::vector<std::pair<std::string, nlohmann::json>> bootstrapPolicy();

}  // namespace novacron::devapi::authz
