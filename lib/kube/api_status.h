// Turning API server error responses (metav1.Status bodies) into core::Status values.
//
// The mapping is the contract described in client.h: HTTP code first (core::statusCodeFromHttp),
// refined by the Status body (reason AlreadyExists → kAlreadyExists, causes listed for 422), and a
// Retry-After header (seconds) or details.retryAfterSeconds attached with withRetryAfter().
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "lib/core/status.h"
#include "lib/kube/client.h"
#include "lib/kube/http_transport.h"

namespace novacron::kube {

// Status for a non-2xx response. `what` (e.g. "GET /api/v1/...") prefixes the message.
core::Status statusFromResponse(const HttpResponse& response, std::string_view what);

// Status for a metav1.Status object (as found in a watch ERROR event or a response body);
// `http_fallback` is used when the object carries no "code".
core::Status statusFromStatusObject(const Json& status, int http_fallback, std::string_view what);

}  // namespace novacron::kube
