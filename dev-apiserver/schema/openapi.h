// OpenAPI documents built from CustomResourceDefinitions, for kubectl (explain, apply, validation):
//   /openapi/v3/apis/<group>/<version>  -> openApiV3Document(crds, group, version)
//   /openapi/v2                         -> openApiV2Document(crds)
// Definitions are named like kube-apiserver names them (reverse-DNS group:
// "io.novacron.v1alpha1.VirtualMachine") and carry x-kubernetes-group-version-kind; the object
// metadata refers to ObjectMeta, and list kinds are included.
//
// Only served versions that have a schema are included. `crds` are whole CRD objects
// (apiextensions.k8s.io/v1). Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace novacron::devapi::schema {

nlohmann::json openApiV3Document(const std::vector<nlohmann::json>& crds, const std::string& group,
                                 const std::string& version);

nlohmann::json openApiV2Document(const std::vector<nlohmann::json>& crds);

}  // namespace novacron::devapi::schema
