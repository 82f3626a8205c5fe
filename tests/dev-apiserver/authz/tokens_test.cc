// Token authentication (authn/): the static token file format and service-account tokens.
#include <gtest/gtest.h>

#include "dev-apiserver/authn/service_account_token.h"
#include "dev-apiserver/authn/token_authenticator.h"

namespace novacron::devapi::authn {
namespace {

using namespace std::chrono_literals;

TEST(TokenFileTest, KubeCsvFormat) {
  auto tokens = parseTokenFile(
      "tok1,alice,uid-1\n"
      "tok2,system:serviceaccount:ns:sa,uid-2,\"system:serviceaccounts,system:serviceaccounts:"
      "ns\"\n"
      "\n"
      ",nobody,uid-3\n");
  ASSERT_TRUE(tokens.isOk()) << tokens.status();
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ(tokens->at("tok1").name, "alice");
  EXPECT_EQ(tokens->at("tok1").uid, "uid-1");
  EXPECT_TRUE(tokens->at("tok1").groups.empty());
  EXPECT_EQ(tokens->at("tok2").groups,
            (std::vector<std::string>{"system:serviceaccounts", "system:serviceaccounts:ns"}));
  EXPECT_FALSE(parseTokenFile("tok,alice\n").isOk());
  EXPECT_FALSE(parseTokenFile("tok,alice,1,\"unterminated\n").isOk());
}

TEST(TokenFileTest, UnionAddsSystemAuthenticated) {
  auto tokens = parseTokenFile("tok1,alice,uid-1,devs\n");
  ASSERT_TRUE(tokens.isOk());
  UnionTokenAuthenticator auth({std::make_shared<StaticTokenAuthenticator>(*tokens)});
  auto user = auth.authenticate("tok1");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->groups, (std::vector<std::string>{"devs", "system:authenticated"}));
  EXPECT_FALSE(auth.authenticate("tok2"));
  EXPECT_FALSE(auth.authenticate(""));
}

class ServiceAccountTokensTest : public ::testing::Test {
protected:
  ServiceAccountTokens tokens_{
      "key-1",
      [this](const std::string& ns,
             const std::string& name) -> core::StatusOr<std::optional<std::string>> {
        auto it = accounts_.find(ns + "/" + name);
        return it == accounts_.end() ? std::nullopt : std::optional<std::string>(it->second);
      },
      [this] { return now_; }};
  std::map<std::string, std::string> accounts_ = {{"novacron-system/nd", "uid-nd"}};
  std::chrono::system_clock::time_point now_ =
      std::chrono::system_clock::time_point(1'800'000'000s);
};

TEST_F(ServiceAccountTokensTest, AMintedTokenAuthenticatesTheServiceAccount) {
  auto issued = tokens_.issue("novacron-system", "nd", "uid-nd", 3600s);
  EXPECT_EQ(issued.expires, now_ + 3600s);
  auto user = tokens_.authenticate(issued.token);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->name, "system:serviceaccount:novacron-system:nd");
  EXPECT_EQ(user->uid, "uid-nd");
  EXPECT_EQ(user->groups, (std::vector<std::string>{"system:serviceaccounts",
                                                    "system:serviceaccounts:novacron-system"}));
}

TEST_F(ServiceAccountTokensTest, ExpiredForgedOrRevokedTokensAreRefused) {
  auto issued = tokens_.issue("novacron-system", "nd", "uid-nd", 3600s);
  // Tampered payload or signature.
  std::string t = issued.token;
  t[t.find('.') + 3] ^= 1;
  EXPECT_FALSE(tokens_.authenticate(t));
  EXPECT_FALSE(tokens_.authenticate(issued.token + "x"));
  EXPECT_FALSE(tokens_.authenticate("not.a.jwt"));
  // Another key.
  ServiceAccountTokens other("key-2", [](const std::string&, const std::string&) {
    return core::StatusOr<std::optional<std::string>>(std::optional<std::string>("uid-nd"));
  });
  EXPECT_FALSE(other.authenticate(issued.token));
  // A foreign audience.
  auto foreign = tokens_.issue("novacron-system", "nd", "uid-nd", 3600s, {"vault"});
  EXPECT_FALSE(tokens_.authenticate(foreign.token));
  // Expiry.
  now_ += 3600s;
  EXPECT_FALSE(tokens_.authenticate(issued.token));
  now_ -= 3600s;
  EXPECT_TRUE(tokens_.authenticate(issued.token));
  // A re-created ServiceAccount (new uid) or a deleted one revokes the token.
  accounts_["novacron-system/nd"] = "uid-new";
  EXPECT_FALSE(tokens_.authenticate(issued.token));
  accounts_.clear();
  EXPECT_FALSE(tokens_.authenticate(issued.token));
}

}  // namespace
}  // namespace novacron::devapi::authn
