// Bearer-token authentication of the dev API server, as kube-apiserver's authenticators do it:
//   - the admin token (--token / <cert-dir>/token): user "admin" in system:masters;
//   - a static token file (--token-auth-file), kube's CSV format: token,user,uid[,"g1,g2"];
//   - service-account tokens minted by the TokenRequest API (service_account_token.h).
// Every authenticated user also gets the group system:authenticated (kube's group adder).
//
// Thread-safety: authenticate() may be called concurrently; implementations are immutable after
// construction or guard their state.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dev-apiserver/authn/user_info.h"
#include "lib/core/statusor.h"

namespace novacron::devapi::authn {

class TokenAuthenticator {
public:
  virtual ~TokenAuthenticator() = default;
  // The user the token stands for; nullopt when it stands for no one (answer 401).
  virtual std::optional<UserInfo> authenticate(const std::string& token) = 0;
};
using TokenAuthenticatorPtr = std::shared_ptr<TokenAuthenticator>;

// A fixed token -> user table (the admin token and the static token file).
class StaticTokenAuthenticator : public TokenAuthenticator {
public:
  explicit StaticTokenAuthenticator(std::map<std::string, UserInfo> tokens)
      : tokens_(std::move(tokens)) {}
  std::optional<UserInfo> authenticate(const std::string& token) override;

private:
  const std::map<std::string, UserInfo> tokens_;
};

// Parses kube's static token file (--token-auth-file): CSV records token,user,uid[,groups] where
// groups is one (quoted) comma-separated field. Empty tokens are skipped like kube does;
// InvalidArgument for a record with fewer than 3 columns or a malformed quote.
core::StatusOr<std::map<std::string, UserInfo>> parseTokenFile(const std::string& content);

// Tries each authenticator in order; the first that knows the token wins. Adds
// system:authenticated to the user's groups.
class UnionTokenAuthenticator : public TokenAuthenticator {
public:
  explicit UnionTokenAuthenticator(std::vector<TokenAuthenticatorPtr> chain)
      : chain_(std::move(chain)) {}
  std::optional<UserInfo> authenticate(const std::string& token) override;

private:
  const std::vector<TokenAuthenticatorPtr> chain_;
};

}  // namespace novacron::devapi::authn
