// JSON merge patch (RFC 7386) and JSON patch (RFC 6902), as kube-apiserver applies them to custom
// resources (strategic merge patch is treated as merge patch for CRs, as kube does).
//
// Error mapping, so the server answers like kube-apiserver:
//   kInvalidArgument     the patch document itself is malformed (not JSON of the right shape,
//                        unknown op, missing "path"/"value"/"from", bad pointer syntax)
//                        -> HTTP 400 BadRequest.
//   kFailedPrecondition  a well-formed JSON patch cannot be applied to this object (a "test" op
//                        failed, a path does not exist, an index is out of range)
//                        -> HTTP 422 reason Invalid (kube: NewGenericServerResponse(422, ...)).
// patchErrorStatus() builds that metav1.Status body. A 409 Conflict does not come from here: it
// arises when the patched object carries a metadata.resourceVersion that differs from the stored
// one (the server's precondition check after applying the patch).
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "lib/core/status.h"
#include "lib/core/statusor.h"

namespace novacron::devapi::patch {

// RFC 7386: objects merge recursively, null deletes, anything else (arrays too) replaces. A patch
// that is not an object replaces the target. Never fails for a parsed patch; returns
// kInvalidArgument only if `patch` is discarded/invalid JSON.
core::StatusOr<nlohmann::json> applyMergePatch(const nlohmann::json& target,
                                               const nlohmann::json& patch);

// RFC 6902: add, remove, replace, move, copy, test; "-" appends to an array; "~1" is "/" and "~0"
// is "~" in pointers; operations apply in order and the whole patch fails atomically.
core::StatusOr<nlohmann::json> applyJsonPatch(const nlohmann::json& target,
                                              const nlohmann::json& patch);

// HTTP status for a patch error: 400 for kInvalidArgument, 422 for kFailedPrecondition, 500
// otherwise.
int httpCodeForPatchError(const core::Status& error);

// metav1.Status body for a patch error, worded like kube-apiserver.
nlohmann::json patchErrorStatus(const core::Status& error);

}  // namespace novacron::devapi::patch
