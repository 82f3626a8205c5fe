#include "dev-apiserver/authz/etcd_policy_source.h"

namespace novacron::devapi::authz {

using nlohmann::json;

core::StatusOr<std::vector<json>> EtcdPolicySource::list(const std::string& prefix) {
  NOVACRON_ASSIGN_OR_RETURN(auto range, etcd_.range(prefix, prefixEnd(prefix)));
  std::vector<json> out;
  for (const auto& kv : range.kvs) {
    json obj = json::parse(kv.value, nullptr, false);
    if (obj.is_object()) {
      out.push_back(std::move(obj));
    }
  }
  return out;
}

core::StatusOr<std::optional<json>> EtcdPolicySource::get(const std::string& key) {
  NOVACRON_ASSIGN_OR_RETURN(auto kv, etcd_.get(key));
  if (!kv) {
    return std::optional<json>();
  }
  json obj = json::parse(kv->value, nullptr, false);
  if (!obj.is_object()) {
    return core::internalError("undecodable object at " + key);
  }
  return std::optional<json>(std::move(obj));
}

core::StatusOr<std::vector<json>> EtcdPolicySource::clusterRoleBindings() {
  return list("/registry/clusterrolebindings/");
}

core::StatusOr<std::vector<json>> EtcdPolicySource::roleBindings(const std::string& ns) {
  return list("/registry/rolebindings/" + ns + "/");
}

core::StatusOr<std::optional<json>> EtcdPolicySource::clusterRole(const std::string& name) {
  return get("/registry/clusterroles/" + name);
}

core::StatusOr<std::optional<json>> EtcdPolicySource::role(const std::string& ns,
                                                           const std::string& name) {
  return get("/registry/roles/" + ns + "/" + name);
}

}  // namespace novacron::devapi::authz
