// TLS material of the dev API server, generated with the OpenSSL C API: a self-signed CA, a
// server certificate (SAN 127.0.0.1, localhost) and an admin client certificate, all ECDSA P-256.
// Kept in a directory so a restarted server reuses them (clients' kubeconfigs stay valid).
//
// Thread-safety: pure functions over files.
#pragma once

#include <string>

#include "lib/core/statusor.h"

namespace novacron::devapi {

struct TlsMaterial {
  std::string ca_cert_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
  std::string client_cert_pem;  // CN=admin, O=system:masters
  std::string client_key_pem;
  std::string dir;  // where the files live: ca.crt, server.crt, server.key, ...
};

// Loads the material from `dir`, or generates and writes it there: keys 0600 from the moment they
// exist, certificates 0644; a directory it creates is 0700.
core::StatusOr<TlsMaterial> loadOrCreateTls(const std::string& dir);

// Writes a kubeconfig for `server` ("https://127.0.0.1:6443") with a token user (context
// "novacron-dev") and a client-certificate user (context "novacron-dev-cert"); mode 0600, since
// it holds the token and the client key.
core::Status writeKubeconfig(const std::string& path, const std::string& server,
                             const TlsMaterial& tls, const std::string& token);

}  // namespace novacron::devapi
