#include "dev-apiserver/authn/service_account_token.h"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dev-apiserver/base64.h"
#include "dev-apiserver/util.h"

namespace novacron::devapi::authn {

using nlohmann::json;

std::string base64UrlEncode(const std::string& data) {
  std::string t = base64Encode(data);
  std::replace(t.begin(), t.end(), '+', '-');
  std::replace(t.begin(), t.end(), '/', '_');
  while (!t.empty() && t.back() == '=') {
    t.pop_back();
  }
  return t;
}

std::optional<std::string> base64UrlDecode(const std::string& text) {
  if (text.find_first_of("+/=") != std::string::npos) {
    return std::nullopt;
  }
  std::string t = text;
  std::replace(t.begin(), t.end(), '-', '+');
  std::replace(t.begin(), t.end(), '_', '/');
  while (t.size() % 4 != 0) {
    t.push_back('=');
  }
  return base64Decode(t);
}

ServiceAccountTokens::ServiceAccountTokens(std::string signing_key, UidLookup lookup, Clock clock)
    : key_(std::move(signing_key)),
      lookup_(std::move(lookup)),
      clock_(clock ? std::move(clock) : [] { return std::chrono::system_clock::now(); }) {}

std::string ServiceAccountTokens::sign(const std::string& signing_input) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

ServiceAccountTokens::Issued ServiceAccountTokens::issue(const std::string& ns,
                                                         const std::string& name,
                                                         const std::string& uid,
                                                         std::chrono::seconds ttl,
                                                         std::vector<std::string> audiences) const {
  if (audiences.empty()) {
    audiences = {kTokenIssuer};
  }
  auto now = clock_();
  auto expires = now + ttl;
  auto secs = [](std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  };
  json header = {{"alg", "HS256"}, {"typ", "JWT"}};
  json claims = {
      {"aud", audiences},
      {"exp", secs(expires)},
      {"iat", secs(now)},
      {"nbf", secs(now)},
      {"iss", kTokenIssuer},
      {"jti", newUid()},
      {"sub", serviceAccountUsername(ns, name)},
      {"kubernetes.io", {{"namespace", ns}, {"serviceaccount", {{"name", name}, {"uid", uid}}}}}};
  std::string input = base64UrlEncode(header.dump()) + "." + base64UrlEncode(claims.dump());
  return {input + "." + base64UrlEncode(sign(input)), expires};
}

std::optional<UserInfo> ServiceAccountTokens::authenticate(const std::string& token) {
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string::npos || token.find('.', dot2 + 1) != std::string::npos) {
    return std::nullopt;
  }
  std::string input = token.substr(0, dot2);
  auto signature = base64UrlDecode(token.substr(dot2 + 1));
  std::string expected = sign(input);
  if (!signature || signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  auto header = base64UrlDecode(token.substr(0, dot1));
  auto payload = base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!header || !payload) {
    return std::nullopt;
  }
  json h = json::parse(*header, nullptr, false);
  json c = json::parse(*payload, nullptr, false);
  if (!h.is_object() || h.value("alg", "") != "HS256" || !c.is_object()) {
    return std::nullopt;
  }
  try {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(clock_().time_since_epoch());
    if (c.at("iss").get<std::string>() != kTokenIssuer ||
        c.at("exp").get<int64_t>() <= now.count() || c.value("nbf", int64_t{0}) > now.count()) {
      return std::nullopt;
    }
    auto aud = c.at("aud").get<std::vector<std::string>>();
    if (std::find(aud.begin(), aud.end(), kTokenIssuer) == aud.end()) {
      return std::nullopt;
    }
    const json& k = c.at("kubernetes.io");
    std::string ns = k.at("namespace").get<std::string>();
    std::string name = k.at("serviceaccount").at("name").get<std::string>();
    std::string uid = k.at("serviceaccount").at("uid").get<std::string>();
    if (c.at("sub").get<std::string>() != serviceAccountUsername(ns, name)) {
      return std::nullopt;
    }
    auto current = lookup_(ns, name);
    if (!current.isOk() || !*current || **current != uid) {
      return std::nullopt;  // deleted or re-created: the token is revoked
    }
    UserInfo user;
    user.name = serviceAccountUsername(ns, name);
    user.uid = uid;
    user.groups = serviceAccountGroups(ns);
    return user;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace novacron::devapi::authn
