#include "dev-apiserver/authz/request_gate.h"

#include "dev-apiserver/authz/forbidden.h"
#include "dev-apiserver/authz/impersonation.h"

namespace novacron::devapi::authz {

nlohmann::json RequestGate::admit(Request& req) {
  if (req.user.name == authn::kAnonymous) {
    return nullptr;
  }
  Impersonation acting = impersonate(req.user, req.impersonation, *authorizer_);
  if (!acting.error.is_null()) {
    return acting.error;
  }
  req.user = std::move(acting.user);
  Attributes attributes = requestAttributes(req.method, req.path, req.query);
  attributes.user = req.user;
  Decision d = authorizer_->authorize(attributes);
  if (d.allowed) {
    return nullptr;
  }
  return forbiddenStatus(attributes, d.reason);
}

}  // namespace novacron::devapi::authz
