// Service-account tokens of the dev API server: what kube-apiserver's TokenRequest API
// (POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token, `kubectl create token`) mints and
// its service-account authenticator accepts. A token is a JWT with kube's claims (iss, sub
// "system:serviceaccount:<ns>:<name>", aud, exp, kubernetes.io.{namespace, serviceaccount}),
// signed HS256 with a key kept in the cert dir (kube uses RS256/ES256 with sa.key; the signature
// algorithm is invisible to clients). A token is accepted only while it has not expired, names
// the API server's audience, and its service account still exists with the same uid, so deleting
// the ServiceAccount revokes its tokens as in kube. The user gets the groups
// system:serviceaccounts and system:serviceaccounts:<ns>.
//
// Thread-safety: immutable after construction; authenticate() and issue() may run concurrently
// (the lookup callback must be thread-safe).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dev-apiserver/authn/token_authenticator.h"
#include "lib/core/statusor.h"

namespace novacron::devapi::authn {

// The issuer and default audience of every token (kube's default --service-account-issuer).
inline constexpr const char* kTokenIssuer = "https://kubernetes.default.svc.cluster.local";

class ServiceAccountTokens : public TokenAuthenticator {
public:
  // The uid of ServiceAccount ns/name, nullopt when it does not exist.
  using UidLookup = std::function<core::StatusOr<std::optional<std::string>>(
      const std::string& ns, const std::string& name)>;
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  ServiceAccountTokens(std::string signing_key, UidLookup lookup, Clock clock = nullptr);

  struct Issued {
    std::string token;
    std::chrono::system_clock::time_point expires;
  };
  // Mints a token for ServiceAccount ns/name (uid) valid for `ttl`. An empty `audiences` means
  // the API server's own (kTokenIssuer).
  Issued issue(const std::string& ns, const std::string& name, const std::string& uid,
               std::chrono::seconds ttl, std::vector<std::string> audiences = {}) const;

  std::optional<UserInfo> authenticate(const std::string& token) override;

private:
  std::string sign(const std::string& signing_input) const;

  const std::string key_;
  const UidLookup lookup_;
  const Clock clock_;
};

// base64url without padding (JWT's encoding), and its inverse (nullopt when malformed).
std::string base64UrlEncode(const std::string& data);
std::optional<std::string> base64UrlDecode(const std::string& text);

}  // namespace novacron::devapi::authn
