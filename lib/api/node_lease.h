// Where node heartbeats live: one coordination.k8s.io/v1 Lease per node, named after the node, in
// a namespace of their own (as kube-node-lease is for kubelets). The node-daemon writes them; the
// controller only reads them. The controller's leader Lease lives elsewhere (novacron-system by
// default), so no node name can collide with it, and each service account's Lease rights are a
// Role in one namespace (config/rbac/, docs/security.md). The namespace is created by the
// manifests (config/default/namespace.yaml), never by the node-daemon.
// Thread-safety: constants only.
#pragma once

#include <string_view>

namespace novacron::api {

inline constexpr std::string_view kNodeLeaseNamespace = "novacron-node-lease";

}  // namespace novacron::api
