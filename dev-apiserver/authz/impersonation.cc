#include "dev-apiserver/authz/impersonation.h"

#include <algorithm>

#include "dev-apiserver/authz/forbidden.h"
#include "dev-apiserver/http_server.h"
#include "dev-apiserver/util.h"

namespace novacron::devapi::authz {

namespace {

constexpr std::string_view kUser = "impersonate-user";
constexpr std::string_view kGroup = "impersonate-group";
constexpr std::string_view kUid = "impersonate-uid";
constexpr std::string_view kExtraPrefix = "impersonate-extra-";

}  // namespace

Impersonation impersonate(const authn::UserInfo& requester,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          Authorizer& authorizer) {
  Impersonation out;
  out.user = requester;
  std::optional<std::string> user;
  std::vector<std::string> groups;
  std::optional<std::string> uid;
  std::vector<std::pair<std::string, std::string>> extras;
  for (const auto& [name, value] : headers) {
    if (name == kUser) {
      user = value;
    } else if (name == kGroup) {
      groups.push_back(value);
    } else if (name == kUid) {
      uid = value;
    } else if (name.rfind(kExtraPrefix, 0) == 0) {
      extras.emplace_back(percentDecode(name.substr(kExtraPrefix.size()), false), value);
    }
  }
  if (!user && groups.empty() && !uid && extras.empty()) {
    return out;
  }
  if (!user) {
    out.error = statusBody(500, "InternalError",
                           "Internal error occurred: requested impersonation of groups, uid or "
                           "extra without impersonating a user");
    return out;
  }

  // Each impersonated value is a request for the verb "impersonate", checked in kube's order.
  std::vector<Attributes> checks;
  auto check = [&](std::string group, std::string resource, std::string sub, std::string ns,
                   std::string name) {
    Attributes a;
    a.user = requester;
    a.verb = "impersonate";
    a.resource_request = true;
    a.api_group = std::move(group);
    a.api_version = "v1";
    a.resource = std::move(resource);
    a.subresource = std::move(sub);
    a.ns = std::move(ns);
    a.name = std::move(name);
    checks.push_back(std::move(a));
  };
  authn::UserInfo acting;
  auto sa = authn::parseServiceAccountUsername(*user);
  if (sa) {
    check("", "serviceaccounts", "", sa->first, sa->second);
    acting.name = authn::serviceAccountUsername(sa->first, sa->second);
  } else {
    check("", "users", "", "", *user);
    acting.name = *user;
  }
  for (const auto& g : groups) {
    check("", "groups", "", "", g);
  }
  for (const auto& [key, value] : extras) {
    check("authentication.k8s.io", "userextras", key, "", value);
    acting.extra[key].push_back(value);
  }
  if (uid) {
    check("authentication.k8s.io", "uids", "", "", *uid);
    acting.uid = *uid;
  }
  for (const auto& a : checks) {
    Decision d = authorizer.authorize(a);
    if (!d.allowed) {
      out.error = forbiddenStatus(a, d.reason);
      return out;
    }
  }
  acting.groups = groups;
  if (sa && groups.empty()) {
    acting.groups = authn::serviceAccountGroups(sa->first);
  }
  bool explicit_auth = std::any_of(acting.groups.begin(), acting.groups.end(), [](const auto& g) {
    return g == authn::kAllAuthenticated || g == authn::kAllUnauthenticated;
  });
  if (!explicit_auth) {
    acting.groups.push_back(acting.name == authn::kAnonymous ? authn::kAllUnauthenticated
                                                             : authn::kAllAuthenticated);
  }
  out.user = std::move(acting);
  return out;
}

}  // namespace novacron::devapi::authz
