// UserInfo: who a request comes from once it is authenticated (and, when it carries Impersonate-*
// headers, who it acts as), with kube's well-known user and group names and the service-account
// name mapping (k8s.io/apiserver/pkg/authentication/{user,serviceaccount}).
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace novacron::devapi::authn {

inline constexpr const char* kSystemMasters = "system:masters";
inline constexpr const char* kAllAuthenticated = "system:authenticated";
inline constexpr const char* kAllUnauthenticated = "system:unauthenticated";
inline constexpr const char* kAnonymous = "system:anonymous";
inline constexpr const char* kAllServiceAccounts = "system:serviceaccounts";
inline constexpr const char* kServiceAccountPrefix = "system:serviceaccount:";

struct UserInfo {
  std::string name;
  std::string uid;
  std::vector<std::string> groups;
  std::map<std::string, std::vector<std::string>> extra;

  bool inGroup(std::string_view group) const;
};

// "system:serviceaccount:<ns>:<name>".
std::string serviceAccountUsername(const std::string& ns, const std::string& name);
// {ns, name} of a service-account user name; nullopt for any other name.
std::optional<std::pair<std::string, std::string>> parseServiceAccountUsername(
    std::string_view username);
// {"system:serviceaccounts", "system:serviceaccounts:<ns>"}.
std::vector<std::string> serviceAccountGroups(const std::string& ns);

// The administrator every dev-server kubeconfig carries: system:masters bypasses authorization.
UserInfo adminUser(const std::string& name);

}  // namespace novacron::devapi::authn
