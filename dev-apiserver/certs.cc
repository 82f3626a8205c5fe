#include "dev-apiserver/certs.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dev-apiserver/base64.h"
#include "dev-apiserver/file_write.h"

namespace novacron::devapi {

namespace {

struct Deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter>;
using CertPtr = std::unique_ptr<X509, Deleter>;
using BioPtr = std::unique_ptr<BIO, Deleter>;

std::string bioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string keyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bioString(bio.get());
}

std::string certPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bioString(bio.get());
}

KeyPtr readKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return KeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

CertPtr readCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return CertPtr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

bool addExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) {
    return false;
  }
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return true;
}

// Issues a certificate for `key`; self-signed when issuer is null.
core::StatusOr<CertPtr> issue(EVP_PKEY* key, const std::string& cn, const std::string& org,
                              X509* issuer, EVP_PKEY* issuer_key, bool ca, bool server) {
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 365 * 10);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!org.empty()) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(org.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  bool ok = true;
  if (ca) {
    ok &= addExt(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    ok &=
        addExt(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    ok &= addExt(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    ok &= addExt(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    ok &= addExt(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    ok &= addExt(cert.get(), signer, NID_ext_key_usage, server ? "serverAuth" : "clientAuth");
    ok &= addExt(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
    if (server) {
      ok &= addExt(cert.get(), signer, NID_subject_alt_name,
                   "IP:127.0.0.1,DNS:localhost,IP:0:0:0:0:0:0:0:1");
    }
  }
  if (!ok) {
    return core::internalError("adding certificate extensions failed");
  }
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    return core::internalError("signing certificate failed");
  }
  return cert;
}

KeyPtr newKey() {
  return KeyPtr(EVP_EC_gen("P-256"));
}

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

core::StatusOr<TlsMaterial> loadOrCreateTls(const std::string& dir) {
  TlsMaterial m;
  m.dir = dir;
  std::error_code ec;
  // A directory the server creates holds keys and the token: owner only. One the user chose
  // (it may be shared, like /tmp) keeps its permissions; the files in it are 0600 anyway.
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (!ec) {
      std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    }
    if (ec) {
      return core::internalError("create " + dir + ": " + ec.message());
    }
  }
  auto ca = readFile(dir + "/ca.crt");
  auto sc = readFile(dir + "/server.crt");
  auto sk = readFile(dir + "/server.key");
  auto cc = readFile(dir + "/client.crt");
  auto ck = readFile(dir + "/client.key");
  if (ca && sc && sk && cc && ck) {
    m.ca_cert_pem = *ca;
    m.server_cert_pem = *sc;
    m.server_key_pem = *sk;
    m.client_cert_pem = *cc;
    m.client_key_pem = *ck;
    return m;
  }
  KeyPtr ca_key = newKey();
  KeyPtr server_key = newKey();
  KeyPtr client_key = newKey();
  if (!ca_key || !server_key || !client_key) {
    return core::internalError("EC key generation failed");
  }
  NOVACRON_ASSIGN_OR_RETURN(
      CertPtr ca_cert, issue(ca_key.get(), "novacron-dev-ca", "", nullptr, nullptr, true, false));
  NOVACRON_ASSIGN_OR_RETURN(CertPtr server_cert,
                            issue(server_key.get(), "novacron-dev-apiserver", "", ca_cert.get(),
                                  ca_key.get(), false, true));
  NOVACRON_ASSIGN_OR_RETURN(CertPtr client_cert, issue(client_key.get(), "admin", "system:masters",
                                                       ca_cert.get(), ca_key.get(), false, false));
  m.ca_cert_pem = certPem(ca_cert.get());
  m.server_cert_pem = certPem(server_cert.get());
  m.server_key_pem = keyPem(server_key.get());
  m.client_cert_pem = certPem(client_cert.get());
  m.client_key_pem = keyPem(client_key.get());
  NOVACRON_RETURN_IF_ERROR(
      writeFileAtomically(dir + "/ca.key", keyPem(ca_key.get()), kSecretFileMode));
  NOVACRON_RETURN_IF_ERROR(
      writeFileAtomically(dir + "/server.key", m.server_key_pem, kSecretFileMode));
  NOVACRON_RETURN_IF_ERROR(
      writeFileAtomically(dir + "/server.crt", m.server_cert_pem, kPublicFileMode));
  NOVACRON_RETURN_IF_ERROR(
      writeFileAtomically(dir + "/client.key", m.client_key_pem, kSecretFileMode));
  NOVACRON_RETURN_IF_ERROR(
      writeFileAtomically(dir + "/client.crt", m.client_cert_pem, kPublicFileMode));
  NOVACRON_RETURN_IF_ERROR(writeFileAtomically(dir + "/ca.crt", m.ca_cert_pem, kPublicFileMode));
  // Sanity: the files parse back.
  if (!readCert(m.ca_cert_pem) || !readKey(m.server_key_pem)) {
    return core::internalError("generated TLS material does not parse");
  }
  return m;
}

core::Status writeKubeconfig(const std::string& path, const std::string& server,
                             const TlsMaterial& tls, const std::string& token) {
  std::ostringstream y;
  y << "apiVersion: v1\n"
    << "kind: Config\n"
    << "clusters:\n"
    << "- name: novacron-dev\n"
    << "  cluster:\n"
    << "    server: " << server << "\n"
    << "    certificate-authority-data: " << base64Encode(tls.ca_cert_pem) << "\n"
    << "users:\n"
    << "- name: novacron-dev-admin\n"
    << "  user:\n"
    << "    token: " << token << "\n"
    << "- name: novacron-dev-cert\n"
    << "  user:\n"
    << "    client-certificate-data: " << base64Encode(tls.client_cert_pem) << "\n"
    << "    client-key-data: " << base64Encode(tls.client_key_pem) << "\n"
    << "contexts:\n"
    << "- name: novacron-dev\n"
    << "  context:\n"
    << "    cluster: novacron-dev\n"
    << "    user: novacron-dev-admin\n"
    << "    namespace: default\n"
    << "- name: novacron-dev-cert\n"
    << "  context:\n"
    << "    cluster: novacron-dev\n"
    << "    user: novacron-dev-cert\n"
    << "    namespace: default\n"
    << "current-context: novacron-dev\n";
  return writeFileAtomically(path, y.str(), kSecretFileMode);
}

}  // namespace novacron::devapi
