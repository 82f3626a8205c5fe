// The authorization attributes of a request, derived the way kube-apiserver's RequestInfoFactory
// does it (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go):
//   - /api/<v>/... and /apis/<g>/<v>/... with a resource are resource requests; everything else
//     (/version, /healthz, discovery documents like /apis/<g>/<v>) is a non-resource request whose
//     verb is the lower-cased HTTP method ("get", "post", ...);
//   - verb from the method: POST create, GET/HEAD get, PUT update, PATCH patch, DELETE delete;
//     a GET without a name is list, or watch with ?watch=<anything but 0/false>; a DELETE without
//     a name is deletecollection; /watch/... paths are watch;
//   - /namespaces/<ns>/<resource>/<name>/<subresource>; /api/v1/namespaces/<name>[/status|
//     /finalize] is the namespace itself, in namespace <name>;
//   - a list or watch whose fieldSelector requires metadata.name=<n> is about the name <n>.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <map>
#include <string>

#include "dev-apiserver/authn/user_info.h"

namespace novacron::devapi::authz {

struct Attributes {
  authn::UserInfo user;
  std::string verb;
  bool resource_request = false;
  std::string path;  // non-resource requests
  std::string api_group;
  std::string api_version;
  std::string resource;
  std::string subresource;
  std::string ns;
  std::string name;
};

// The attributes of an HTTP request (without the user).
Attributes requestAttributes(const std::string& method, const std::string& path,
                             const std::map<std::string, std::string>& query);

// kube's decoding of the `watch` list option: true unless the value is "0" or "false" (any case).
bool watchRequested(const std::map<std::string, std::string>& query);

}  // namespace novacron::devapi::authz
