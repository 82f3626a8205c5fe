// Decoding of the Kubernetes protobuf wire format for the few built-in kinds kubectl creates with
// typed clients (kubectl create namespace/configmap/secret send application/vnd.kubernetes.protobuf
// and do not fall back to JSON): Namespace, ConfigMap, Secret; and the requests of `kubectl auth
// can-i` (Self/SubjectAccessReview) and `kubectl create token` (TokenRequest). Everything else
// stays JSON-only (answered with 415).
//
// Thread-safety: pure function.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "lib/core/statusor.h"

namespace novacron::devapi {

// `body` is the "k8s\0" envelope around a runtime.Unknown. Returns the object as JSON;
// kInvalidArgument for malformed input, kUnimplemented-like kFailedPrecondition for kinds not
// supported here.
core::StatusOr<nlohmann::json> decodeKubernetesProtobuf(const std::string& body);

}  // namespace novacron::devapi
