// Authorizer: decides whether a request's attributes are allowed, like kube-apiserver's
// authorizer.Authorizer. The dev server chains them as kube-apiserver does: members of
// system:masters are always allowed (the privileged-groups authorizer), then RBAC.
//
// Thread-safety: authorize() may be called concurrently from every connection thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dev-apiserver/authz/attributes.h"

namespace novacron::devapi::authz {

// The rules that apply to a user in a namespace (SelfSubjectRulesReview, `kubectl auth can-i
// --list`), as policy/v1-style rules.
struct RuleSet {
  nlohmann::json resource_rules = nlohmann::json::array();      // [{verbs, apiGroups, ...}]
  nlohmann::json non_resource_rules = nlohmann::json::array();  // [{verbs, nonResourceURLs}]
  bool incomplete = false;
  std::string evaluation_error;
};

struct Decision {
  bool allowed = false;
  std::string reason;            // "RBAC: allowed by ..." or why nothing allowed it (may be empty)
  std::string evaluation_error;  // the authorizer could not read all of its rules
};

class Authorizer {
public:
  virtual ~Authorizer() = default;
  virtual Decision authorize(const Attributes& attributes) = 0;
  // What `user` may do in `ns` ("" = cluster-wide rules only).
  virtual RuleSet rulesFor(const authn::UserInfo& user, const std::string& ns) = 0;
};
using AuthorizerPtr = std::shared_ptr<Authorizer>;

// --authorization-mode=AlwaysAllow: every authenticated user may do anything.
class AlwaysAllow : public Authorizer {
public:
  Decision authorize(const Attributes&) override { return {true, "", ""}; }
  RuleSet rulesFor(const authn::UserInfo&, const std::string&) override;
};

// Allows members of system:masters, then asks `next` (kube: privileged groups, then RBAC).
class PrivilegedGroupsThen : public Authorizer {
public:
  explicit PrivilegedGroupsThen(AuthorizerPtr next) : next_(std::move(next)) {}
  Decision authorize(const Attributes& attributes) override;
  RuleSet rulesFor(const authn::UserInfo& user, const std::string& ns) override {
    return next_->rulesFor(user, ns);
  }

private:
  const AuthorizerPtr next_;
};

}  // namespace novacron::devapi::authz
