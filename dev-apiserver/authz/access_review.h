// authorization.k8s.io/v1 SelfSubjectAccessReview and SubjectAccessReview (POST only, nothing
// stored; `kubectl auth can-i` creates the former), answered like kube-apiserver: 201 with the
// review and status {allowed, reason}; 422 Invalid when the spec does not have exactly one of
// resourceAttributes / nonResourceAttributes, or a SubjectAccessReview names neither user nor
// groups. A SelfSubjectAccessReview is about the requesting user (after impersonation); a
// SubjectAccessReview about exactly the user, groups, uid and extra it names.
//
// SelfSubjectRulesReview (`kubectl auth can-i --list`): the requesting user's rules in
// spec.namespace, as status {resourceRules, nonResourceRules, incomplete}.
//
// Thread-safety: pure over its arguments (the authorizer must be thread-safe).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "dev-apiserver/authz/authorizer.h"

namespace novacron::devapi::authz {

struct ReviewResult {
  int code = 201;
  nlohmann::json body;  // the review with its status, or a Status on error
};

// kind: "SelfSubjectAccessReview", "SubjectAccessReview" or "SelfSubjectRulesReview".
ReviewResult accessReview(const std::string& kind, const std::string& body,
                          const authn::UserInfo& requester, Authorizer& authorizer);

}  // namespace novacron::devapi::authz
