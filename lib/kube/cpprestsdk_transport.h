// The HttpTransport used in production: cpprestsdk over Boost.Asio, TLS through OpenSSL.
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
