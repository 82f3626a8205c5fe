// The RBAC objects as stored by the dev API server, read from etcd for each decision (where
// kube-apiserver reads its informer caches): /registry/clusterrolebindings/<name>,
// /registry/clusterroles/<name>, /registry/rolebindings/<ns>/<name>, /registry/roles/<ns>/<name>.
// A write is therefore in force for the next request. Only non-system:masters requests pay the
// reads.
//
// Thread-safety: thread-safe (EtcdClient is).
#pragma once

#include "dev-apiserver/authz/rbac.h"
#include "dev-apiserver/etcd_client.h"

namespace novacron::devapi::authz {

class EtcdPolicySource : public PolicySource {
public:
  explicit EtcdPolicySource(EtcdClient& etcd) : etcd_(etcd) {}

  core::StatusOr<std::vector<nlohmann::json>> clusterRoleBindings() override;
  core::StatusOr<std::vector<nlohmann::json>> roleBindings(const std::string& ns) override;
  core::StatusOr<std::optional<nlohmann::json>> clusterRole(const std::string& name) override;
  core::StatusOr<std::optional<nlohmann::json>> role(const std::string& ns,
                                                     const std::string& name) override;

private:
  core::StatusOr<std::vector<nlohmann::json>> list(const std::string& prefix);
  core::StatusOr<std::optional<nlohmann::json>> get(const std::string& key);

  EtcdClient& etcd_;
};

}  // namespace novacron::devapi::authz
