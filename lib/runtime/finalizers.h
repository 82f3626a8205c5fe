// Finalizer helpers: add or remove one finalizer with a JSON patch (RFC 6902) that first tests
// metadata.resourceVersion, so a write based on a stale view of the object fails instead of
// clobbering someone else's change (STYLE.md: every write carries the version it was based on).
//
// A failed `test` op is reported by API servers as 409 or 422 depending on the server; both come
// back from addFinalizer()/removeFinalizer() as kConflict: re-read the object and try again.
// The patch documents are built with nlohmann::json, never by string concatenation, so names with
// '/', '~' or quotes are escaped correctly.
// Thread-safety: stateless functions; the client must be thread-safe (kube::Client is).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/kube/resource.h"

namespace novacron::runtime {

bool hasFinalizer(const nlohmann::json& object, std::string_view finalizer);

// The JSON patch that adds `finalizer` to `object` (null when it is already there).
nlohmann::json addFinalizerPatch(const nlohmann::json& object, std::string_view finalizer);
// The JSON patch that removes `finalizer` from `object` (null when it is not there). It also tests
// the array element it removes, so it never removes a different finalizer.
nlohmann::json removeFinalizerPatch(const nlohmann::json& object, std::string_view finalizer);

// Adds/removes the finalizer on the server. Returns the object as the server stored it, or
// `object` unchanged when there was nothing to do. kConflict when the object changed since it was
// read; kNotFound when it is gone.
core::StatusOr<nlohmann::json> addFinalizer(kube::Client& client,
                                            const kube::ResourceType& resource,
                                            const nlohmann::json& object,
                                            std::string_view finalizer);
core::StatusOr<nlohmann::json> removeFinalizer(kube::Client& client,
                                               const kube::ResourceType& resource,
                                               const nlohmann::json& object,
                                               std::string_view finalizer);

}  // namespace novacron::runtime
