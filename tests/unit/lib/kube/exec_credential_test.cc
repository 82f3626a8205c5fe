// ExecCredentialProvider against a real (fake) plugin script, testdata/fake_exec_plugin.sh: what
// the plugin is given, caching until expirationTimestamp, re-running after a 401, and every way a
// plugin can fail.
#include "lib/kube/exec_credential.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/mocks/fake_clock.h"

namespace novacron::kube {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string plugin() {
  return std::string(std::getenv("NOVACRON_SOURCE_DIR")) +
         "/tests/unit/lib/kube/testdata/fake_exec_plugin.sh";
}

class ExecCredentialTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("exec_credential_test_" + std::to_string(rd()));
    fs::create_directories(dir_);
    config_.server = "https://api.example:6443";
    config_.ca_pem = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";
    ExecConfig exec;
    exec.api_version = "client.authentication.k8s.io/v1";
    exec.command = plugin();
    exec.args = {"get-token", "--cluster", "dev"};
    exec.env = {{"FAKE_STATE_DIR", dir_.string()}};
    exec.interactive_mode = "Never";
    exec.install_hint = "install fake-plugin from example.com";
    config_.exec = exec;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void setEnv(const std::string& name, const std::string& value) {
    config_.exec->env.emplace_back(name, value);
  }
  ExecCredentialProvider provider() {
    return ExecCredentialProvider(config_, core::newProcessRunner(), clock_);
  }
  std::string state(const std::string& name) const {
    std::ifstream in(dir_ / name);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path dir_;
  Config config_;
  std::shared_ptr<testing::FakeClock> clock_ = std::make_shared<testing::FakeClock>();
};

TEST_F(ExecCredentialTest, RunsThePluginWithArgsEnvAndExecInfo) {
  auto p = provider();
  auto cred = p.get();
  ASSERT_TRUE(cred.isOk()) << cred.status();
  EXPECT_EQ(cred->token, "tok-1");
  EXPECT_FALSE(cred->expiry.has_value());
  EXPECT_EQ(state("args"), "get-token\n--cluster\ndev\n");
  auto info = nlohmann::json::parse(state("exec_info"));
  EXPECT_EQ(info["apiVersion"], "client.authentication.k8s.io/v1");
  EXPECT_EQ(info["kind"], "ExecCredential");
  EXPECT_EQ(info["spec"]["interactive"], false);
  EXPECT_FALSE(info["spec"].contains("cluster"));  // provideClusterInfo is off
}

TEST_F(ExecCredentialTest, ProvidesClusterInfoWhenAsked) {
  config_.exec->provide_cluster_info = true;
  auto p = provider();
  ASSERT_TRUE(p.get().isOk());
  auto info = nlohmann::json::parse(state("exec_info"));
  EXPECT_EQ(info["spec"]["cluster"]["server"], "https://api.example:6443");
  EXPECT_EQ(info["spec"]["cluster"]["certificate-authority-data"],
            "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClEwRT0KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=");
}

TEST_F(ExecCredentialTest, CachesWithoutExpiryUntilInvalidated) {
  auto p = provider();
  EXPECT_EQ(p.get()->token, "tok-1");
  EXPECT_EQ(p.get()->token, "tok-1");
  EXPECT_EQ(p.runs(), 1);
  p.invalidate("some-other-token");  // already replaced: keep the cache
  EXPECT_EQ(p.get()->token, "tok-1");
  p.invalidate("tok-1");  // the server said 401 to it
  EXPECT_EQ(p.get()->token, "tok-2");
  EXPECT_EQ(p.runs(), 2);
}

TEST_F(ExecCredentialTest, ReRunsOnceTheCredentialExpired) {
  // FakeClock's wall time starts at 1'800'000'000 s = 2027-01-15T08:00:00Z.
  setEnv("FAKE_EXPIRY", "2027-01-15T08:05:00Z");
  auto p = provider();
  auto first = p.get();
  ASSERT_TRUE(first.isOk()) << first.status();
  ASSERT_TRUE(first->expiry.has_value());
  clock_->advance(std::chrono::minutes(4));
  EXPECT_EQ(p.get()->token, "tok-1");
  clock_->advance(std::chrono::minutes(1));  // exactly at expiry: expired
  EXPECT_EQ(p.get()->token, "tok-2");
  EXPECT_EQ(p.runs(), 2);
}

TEST_F(ExecCredentialTest, V1beta1AndClientCertificates) {
  config_.exec->api_version = "client.authentication.k8s.io/v1beta1";
  setEnv("FAKE_API_VERSION", "client.authentication.k8s.io/v1beta1");
  setEnv("FAKE_MODE", "cert");
  auto p = provider();
  auto cred = p.get();
  ASSERT_TRUE(cred.isOk()) << cred.status();
  EXPECT_TRUE(cred->token.empty());
  EXPECT_THAT(cred->client_cert_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(cred->client_key_pem, HasSubstr("BEGIN PRIVATE KEY"));
  EXPECT_EQ(nlohmann::json::parse(state("exec_info"))["apiVersion"],
            "client.authentication.k8s.io/v1beta1");
}

TEST_F(ExecCredentialTest, Failures) {
  struct Case {
    std::string mode;
    core::StatusCode code;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {"fail", core::StatusCode::kUnauthenticated, "login required: run fake-login"},
           {"garbage", core::StatusCode::kUnauthenticated, "not a JSON object"},
           {"wrong-version", core::StatusCode::kUnauthenticated, "v1alpha1"},
       }) {
    Config config = config_;
    config.exec->env.emplace_back("FAKE_MODE", c.mode);
    ExecCredentialProvider p(config, core::newProcessRunner(), clock_);
    auto cred = p.get();
    ASSERT_FALSE(cred.isOk()) << c.mode;
    EXPECT_EQ(cred.status().code(), c.code) << c.mode << ": " << cred.status();
    EXPECT_THAT(cred.status().message(), HasSubstr(c.expected)) << c.mode;
  }
  config_.exec->command = (dir_ / "no-such-plugin").string();
  auto missing = provider().get();
  EXPECT_EQ(missing.status().code(), core::StatusCode::kUnavailable) << missing.status();
  EXPECT_THAT(missing.status().message(), HasSubstr("install fake-plugin from example.com"));
}

TEST(ExecCredentialParseTest, ExpiryFormatsAndMissingFields) {
  auto t = parseRfc3339("2026-01-02T03:04:05.123+02:00");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, *parseRfc3339("2026-01-02T01:04:05Z"));
  EXPECT_FALSE(parseRfc3339("2026-01-02 03:04:05").has_value());
  const std::string v1 = "client.authentication.k8s.io/v1";
  EXPECT_FALSE(parseExecCredential(
                   R"({"apiVersion":")" + v1 + R"(","kind":"ExecCredential","status":{}})", v1)
                   .isOk());
  EXPECT_FALSE(parseExecCredential(R"({"apiVersion":")" + v1 +
                                       R"(","kind":"ExecCredential","status":{"token":"t",)"
                                       R"("expirationTimestamp":"soon"}})",
                                   v1)
                   .isOk());
  auto ok = parseExecCredential(
      R"({"apiVersion":")" + v1 + R"(","kind":"ExecCredential","status":{"token":"t"}})", v1);
  ASSERT_TRUE(ok.isOk()) << ok.status();
  EXPECT_EQ(ok->token, "t");
}

}  // namespace
}  // namespace novacron::kube
