// User impersonation (Impersonate-User, Impersonate-Group, Impersonate-Uid, Impersonate-Extra-*
// headers; `kubectl --as=... --as-group=...`), as kube-apiserver's impersonation filter does it
// (k8s.io/apiserver/pkg/endpoints/filters/impersonation.go): each impersonated value needs the
// verb "impersonate" on users / groups / serviceaccounts (core group; for a
// "system:serviceaccount:<ns>:<name>" user: serviceaccounts <name> in <ns>) / userextras/<key> /
// uids (authentication.k8s.io); the first refused one answers 403. A service account impersonated
// without groups gets system:serviceaccounts and system:serviceaccounts:<ns>; every impersonated
// user except system:anonymous gets system:authenticated unless system:authenticated or
// system:unauthenticated was asked for.
//
// Thread-safety: a pure function over its arguments (the authorizer must be thread-safe).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dev-apiserver/authz/authorizer.h"

namespace novacron::devapi::authz {

struct Impersonation {
  authn::UserInfo user;  // who the request acts as
  nlohmann::json error;  // a Status body (403, or 500 for groups without a user); null when OK
};

// headers: the request's Impersonate-* headers, names lower-cased, in order.
Impersonation impersonate(const authn::UserInfo& requester,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          Authorizer& authorizer);

}  // namespace novacron::devapi::authz
