// RequestGate: what stands between an authenticated request and the REST logic, in
// kube-apiserver's filter order: impersonation (the request then acts as the impersonated user),
// then authorization of the request's attributes. A refused request is answered with the Status
// body admit() returns (403 Forbidden worded like kube-apiserver).
//
// Anonymous requests never reach here except for /version and the health endpoints, which
// kube's bootstrap policy (system:public-info-viewer) opens to everyone: they pass.
//
// Thread-safety: admit() may be called concurrently (the authorizer must be thread-safe).
#pragma once

#include <nlohmann/json.hpp>

#include "dev-apiserver/authz/authorizer.h"
#include "dev-apiserver/http_types.h"

namespace novacron::devapi::authz {

class RequestGate {
public:
  explicit RequestGate(AuthorizerPtr authorizer) : authorizer_(std::move(authorizer)) {}

  // Sets req.user to the user the request acts as; returns the Status body to answer instead of
  // serving the request, or null when it may be served.
  nlohmann::json admit(Request& req);

  Authorizer& authorizer() { return *authorizer_; }

private:
  const AuthorizerPtr authorizer_;
};

}  // namespace novacron::devapi::authz
