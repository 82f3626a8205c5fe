#include "dev-apiserver/authz/forbidden.h"

#include "dev-apiserver/util.h"

namespace novacron::devapi::authz {

std::string forbiddenMessage(const Attributes& a) {
  std::string user = "User \"" + a.user.name + "\" cannot " + a.verb;
  if (!a.resource_request) {
    return user + " path \"" + a.path + "\"";
  }
  std::string resource = a.subresource.empty() ? a.resource : a.resource + "/" + a.subresource;
  user += " resource \"" + resource + "\" in API group \"" + a.api_group + "\"";
  if (!a.ns.empty()) {
    return user + " in the namespace \"" + a.ns + "\"";
  }
  return user + " at the cluster scope";
}

nlohmann::json forbiddenStatus(const Attributes& a, const std::string& reason) {
  std::string err = forbiddenMessage(a);
  if (!reason.empty()) {
    err += ": " + reason;
  }
  // apierrors.NewForbidden over the GroupResource of the request.
  std::string message;
  nlohmann::json details = nlohmann::json::object();
  if (a.resource.empty() && a.api_group.empty()) {
    message = "forbidden: " + err;
  } else {
    std::string gr = a.api_group.empty() ? a.resource : a.resource + "." + a.api_group;
    message = a.name.empty() ? gr + " is forbidden: " + err
                             : gr + " \"" + a.name + "\" is forbidden: " + err;
    if (!a.name.empty()) {
      details["name"] = a.name;
    }
    if (!a.api_group.empty()) {
      details["group"] = a.api_group;
    }
    details["kind"] = a.resource;
  }
  return statusBody(403, "Forbidden", message, details);  // kube sends "details": {} too
}

}  // namespace novacron::devapi::authz
