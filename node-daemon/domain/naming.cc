#include "node-daemon/domain/naming.h"

#include <array>
#include <cstdio>

#include <openssl/evp.h>

#include "lib/api/validation.h"

namespace novacron::node::domain {
namespace {

std::array<unsigned char, 32> sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

std::string hex(const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xf]);
  }
  return out;
}

}  // namespace

core::StatusOr<std::string> domainName(std::string_view ns, std::string_view name) {
  if (!api::isDns1123Label(ns)) {
    return core::invalidArgumentError("namespace '" + std::string(ns) +
                                      "' is not a DNS-1123 label");
  }
  if (!api::isDns1123Subdomain(name)) {
    return core::invalidArgumentError("name '" + std::string(name) +
                                      "' is not a DNS-1123 subdomain");
  }
  return std::string(ns) + "_" + std::string(name);
}

std::optional<std::pair<std::string, std::string>> parseDomainName(std::string_view domain_name) {
  auto pos = domain_name.find('_');
  if (pos == std::string_view::npos) {
    return std::nullopt;
  }
  std::string ns(domain_name.substr(0, pos));
  std::string name(domain_name.substr(pos + 1));
  if (!api::isDns1123Label(ns) || !api::isDns1123Subdomain(name)) {
    return std::nullopt;
  }
  return std::make_pair(std::move(ns), std::move(name));
}

core::StatusOr<std::string> domainUuid(std::string_view vm_uid) {
  if (vm_uid.empty()) {
    return core::invalidArgumentError("VM has no uid; cannot derive a domain UUID");
  }
  auto h = sha256(std::string("novacron:vm:") + std::string(vm_uid));
  h[6] = static_cast<unsigned char>((h[6] & 0x0f) | 0x50);  // version 5 (name-based)
  h[8] = static_cast<unsigned char>((h[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string s = hex(h.data(), 16);
  return s.substr(0, 8) + "-" + s.substr(8, 4) + "-" + s.substr(12, 4) + "-" + s.substr(16, 4) +
         "-" + s.substr(20, 12);
}

std::string macAddress(std::string_view vm_uid, std::string_view network_name) {
  auto h = sha256(std::string(vm_uid) + "/" + std::string(network_name));
  char buf[18];
  std::snprintf(buf, sizeof(buf), "52:54:00:%02x:%02x:%02x", h[0], h[1], h[2]);
  return buf;
}

std::string sha256Hex(std::string_view data) {
  auto h = sha256(data);
  return hex(h.data(), h.size());
}

}  // namespace novacron::node::domain
