#include "dev-apiserver/authn/user_info.h"

#include <algorithm>

namespace novacron::devapi::authn {

bool UserInfo::inGroup(std::string_view group) const {
  return std::find(groups.begin(), groups.end(), group) != groups.end();
}

std::string serviceAccountUsername(const std::string& ns, const std::string& name) {
  return std::string(kServiceAccountPrefix) + ns + ":" + name;
}

std::optional<std::pair<std::string, std::string>> parseServiceAccountUsername(
    std::string_view username) {
  std::string_view prefix = kServiceAccountPrefix;
  if (username.substr(0, prefix.size()) != prefix) {
    return std::nullopt;
  }
  std::string_view rest = username.substr(prefix.size());
  auto colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size() ||
      rest.find(':', colon + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  return std::make_pair(std::string(rest.substr(0, colon)), std::string(rest.substr(colon + 1)));
}

std::vector<std::string> serviceAccountGroups(const std::string& ns) {
  return {kAllServiceAccounts, std::string(kAllServiceAccounts) + ":" + ns};
}

UserInfo adminUser(const std::string& name) {
  UserInfo u;
  u.name = name;
  u.groups = {kSystemMasters, kAllAuthenticated};
  return u;
}

}  // namespace novacron::devapi::authn
