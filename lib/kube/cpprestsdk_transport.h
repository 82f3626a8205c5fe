// The HttpTransport used in production. Requests and streams run on the calling thread and on a
// reader thread of their own (sync_request_client.h, Boost.Beast); with NOVACRON_KUBE_SEND=
// cpprestsdk in the environment they go through cpprestsdk over Boost.Asio as before (to compare).
// Credentials (token file, exec plugin) and TLS material are handled here for both.
//
// This header does not include cpprestsdk; only cpprestsdk_transport.cc does.
// Thread-safety: as HttpTransport (concurrent calls allowed).
#pragma once

#include "lib/core/statusor.h"
#include "lib/kube/config.h"
#include "lib/kube/http_transport.h"

namespace novacron::kube {

// Builds a transport for `config`: base URL from config.server, CA / client certificate / insecure
// flag for TLS, bearer token from config.token or (re-read on change) config.token_file, and
// config.timeout as the default request timeout. InvalidArgument for a bad server URL or unusable
// PEM data.
core::StatusOr<HttpTransportPtr> newCpprestsdkTransport(const Config& config);

}  // namespace novacron::kube
