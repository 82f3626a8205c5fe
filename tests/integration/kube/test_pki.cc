#include "tests/integration/kube/test_pki.h"

#include <memory>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/core/check.h"

namespace novacron::testing {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;

std::string drain(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
  NOVACRON_CHECK(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
                 "writing key");
  return drain(bio.get());
}

std::string pem(X509* cert) {
  std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
  NOVACRON_CHECK(PEM_write_bio_X509(bio.get(), cert), "writing cert");
  return drain(bio.get());
}

void extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  NOVACRON_CHECK(ext != nullptr, std::string("extension ") + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

enum class Role { kCa, kServer, kClient };

Cert certify(EVP_PKEY* key, const char* cn, Role role, X509* issuer, EVP_PKEY* issuer_key) {
  static long serial = 1;
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  switch (role) {
  case Role::kCa:
    extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    break;
  case Role::kServer:
    extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    extension(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    break;
  case Role::kClient:
    extension(cert.get(), signer, NID_ext_key_usage, "clientAuth");
    break;
  }
  NOVACRON_CHECK(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()),
                 "signing");
  return cert;
}

}  // namespace

TestPki makeTestPki() {
  Key ca_key(EVP_EC_gen("P-256"));
  Key server_key(EVP_EC_gen("P-256"));
  Key client_key(EVP_EC_gen("P-256"));
  Key other_key(EVP_EC_gen("P-256"));
  NOVACRON_CHECK(ca_key && server_key && client_key && other_key, "generating keys");
  Cert ca = certify(ca_key.get(), "kube-test-ca", Role::kCa, nullptr, nullptr);
  Cert server = certify(server_key.get(), "127.0.0.1", Role::kServer, ca.get(), ca_key.get());
  Cert client =
      certify(client_key.get(), "kube-test-client", Role::kClient, ca.get(), ca_key.get());
  Cert other = certify(other_key.get(), "unrelated-ca", Role::kCa, nullptr, nullptr);
  return TestPki{pem(ca.get()),     pem(server.get()),     pem(server_key.get()),
                 pem(client.get()), pem(client_key.get()), pem(other.get())};
}

const TestPki& sharedTestPki() {
  static const TestPki kPki = makeTestPki();
  return kPki;
}

}  // namespace novacron::testing
