// The PEM texts a transport's TLS connections are configured with: the CA to trust and, for client
// certificate authentication, the certificate chain and its key. Plain values.
#pragma once

#include <string>

namespace novacron::kube {

struct TlsMaterial {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

}  // namespace novacron::kube
