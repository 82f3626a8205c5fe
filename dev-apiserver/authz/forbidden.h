// The 403 Forbidden metav1.Status kube-apiserver answers when authorization refuses a request
// (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters.Forbidden + apierrors.NewForbidden):
//   virtualmachines.novacron.io "vm-1" is forbidden: User "system:serviceaccount:ns:sa" cannot
//   update resource "virtualmachines" in API group "novacron.io" in the namespace "default"
// ("at the cluster scope" without a namespace; `forbidden: User "u" cannot get path "/x"` for
// non-resource requests), followed by ": <reason>" when the authorizer gave one.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "dev-apiserver/authz/attributes.h"

namespace novacron::devapi::authz {

// `User "u" cannot <verb> resource "<res>[/<sub>]" in API group "<g>" in the namespace "<ns>"`.
std::string forbiddenMessage(const Attributes& attributes);

// The whole Status body (code 403, reason Forbidden, details {name, group, kind=<resource>}).
nlohmann::json forbiddenStatus(const Attributes& attributes, const std::string& reason);

}  // namespace novacron::devapi::authz
