// TestPki: throwaway certificates for transport tests, made with the OpenSSL C API: a CA, a server
// certificate for 127.0.0.1/localhost, a client certificate (CN "kube-test-client") and an
// unrelated CA that trusts nothing here.
// Thread-safety: makeTestPki() is a pure function; sharedTestPki() is safe from any thread.
#pragma once

#include <string>

namespace novacron::testing {

struct TestPki {
  std::string ca_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string other_ca_pem;
};

// Aborts (test setup bug) if OpenSSL fails.
TestPki makeTestPki();

// One TestPki made on first use and shared by the tests of a process (making one takes a few
// milliseconds of key generation).
const TestPki& sharedTestPki();

}  // namespace novacron::testing
