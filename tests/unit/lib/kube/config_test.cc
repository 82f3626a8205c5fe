// Kubeconfig and in-cluster config loading: every auth form and every error names file and field.
#include "lib/kube/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/kube/cpprestsdk_transport.h"

namespace novacron::kube {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kCaPem[] = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";
constexpr char kCertPem[] = "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n";
constexpr char kKeyPem[] = "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n";

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3F]);
    }
  }
  if (bits > 0) {
    out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3F]);
  }
  while (out.size() % 4 != 0) {
    out.push_back('=');
  }
  return out;
}

class ConfigTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("kube_config_test_" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  // A kubeconfig with one cluster/user/context; `cluster` and `user` are YAML fragments indented
  // under "cluster:" / "user:".
  static std::string kubeconfig(const std::string& cluster, const std::string& user,
                                const std::string& current = "dev") {
    return "apiVersion: v1\nkind: Config\ncurrent-context: " + current +
           "\nclusters:\n- name: c1\n  cluster:\n" + cluster +
           "contexts:\n- name: dev\n  context:\n    cluster: c1\n    user: u1\n"
           "    namespace: team\n"
           "users:\n- name: u1\n  user:\n" +
           user;
  }

  fs::path dir_;
};

TEST_F(ConfigTest, TokenWithCaData) {
  std::string text = kubeconfig(
      "    server: https://127.0.0.1:6443/\n    certificate-authority-data: " + base64(kCaPem) +
          "\n",
      "    token: abc123\n");
  auto config = parseKubeconfig(text, "/x/config");
  ASSERT_TRUE(config.isOk()) << config.status();
  EXPECT_EQ(config->server, "https://127.0.0.1:6443");
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->token, "abc123");
  EXPECT_TRUE(config->token_file.empty());
  EXPECT_EQ(config->default_namespace, "team");
  EXPECT_FALSE(config->insecure_skip_tls_verify);
  EXPECT_THAT(config->source, HasSubstr("/x/config"));
}

TEST_F(ConfigTest, TokenFileAndCaFileRelativeToKubeconfig) {
  write("certs/ca.pem", kCaPem);
  write("token", "tok\n");
  std::string path = write("config", kubeconfig("    server: https://h:1\n"
                                                "    certificate-authority: certs/ca.pem\n",
                                                "    tokenFile: token\n"));
  auto config = loadKubeconfigFile(path);
  ASSERT_TRUE(config.isOk()) << config.status();
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->token_file, (dir_ / "token").string());
}

TEST_F(ConfigTest, ClientCertificateData) {
  auto config =
      parseKubeconfig(kubeconfig("    server: https://h:1\n    insecure-skip-tls-verify: true\n",
                                 "    client-certificate-data: " + base64(kCertPem) +
                                     "\n    client-key-data: " + base64(kKeyPem) + "\n"),
                      "/x/config");
  ASSERT_TRUE(config.isOk()) << config.status();
  EXPECT_TRUE(config->insecure_skip_tls_verify);
  EXPECT_EQ(config->client_cert_pem, kCertPem);
  EXPECT_EQ(config->client_key_pem, kKeyPem);
}

TEST_F(ConfigTest, ClientCertificateFiles) {
  std::string cert = write("client.crt", kCertPem);
  std::string key = write("client.key", kKeyPem);
  std::string path = write(
      "config", kubeconfig("    server: https://h:1\n",
                           "    client-certificate: " + cert + "\n    client-key: " + key + "\n"));
  auto config = loadKubeconfigFile(path);
  ASSERT_TRUE(config.isOk()) << config.status();
  EXPECT_EQ(config->client_cert_pem, kCertPem);
  EXPECT_EQ(config->client_key_pem, kKeyPem);
}

TEST_F(ConfigTest, ContextOverride) {
  std::string text = kubeconfig("    server: https://h:1\n", "    token: t\n", "missing");
  EXPECT_TRUE(parseKubeconfig(text, "/x/config", "dev").isOk());
}

struct BadCase {
  std::string name;
  std::string cluster;
  std::string user;
  std::string current;
  std::string expected;  // substring of the error message
  core::StatusCode code = core::StatusCode::kInvalidArgument;
};

TEST_F(ConfigTest, ErrorsNameFileAndField) {
  std::vector<BadCase> cases = {
      {"wrong current-context", "    server: https://h:1\n", "    token: t\n", "nope",
       "contexts[nope] not found"},
      {"no current-context", "    server: https://h:1\n", "    token: t\n", "\"\"",
       "current-context is not set"},
      {"missing server", "    insecure-skip-tls-verify: true\n", "    token: t\n", "dev",
       "clusters[c1].cluster.server is not set"},
      {"server not a URL", "    server: 127.0.0.1:6443\n", "    token: t\n", "dev",
       "is not an http(s) URL"},
      {"bad base64 CA", "    server: https://h:1\n    certificate-authority-data: '!!notbase64'\n",
       "    token: t\n", "dev",
       "clusters[c1].cluster.certificate-authority-data is not valid base64"},
      {"CA data not PEM",
       "    server: https://h:1\n    certificate-authority-data: " + base64("hello") + "\n",
       "    token: t\n", "dev", "does not contain PEM data"},
      {"bad base64 client cert", "    server: https://h:1\n",
       "    client-certificate-data: '%%%'\n    client-key-data: " + base64(kKeyPem) + "\n", "dev",
       "users[u1].user.client-certificate-data is not valid base64"},
      {"cert without key", "    server: https://h:1\n",
       "    client-certificate-data: " + base64(kCertPem) + "\n", "dev",
       "client-certificate is set without client-key"},
      {"missing CA file", "    server: https://h:1\n    certificate-authority: /nonexistent/ca\n",
       "    token: t\n", "dev", "certificate-authority: file /nonexistent/ca does not exist",
       core::StatusCode::kNotFound},
      {"missing token file", "    server: https://h:1\n", "    tokenFile: /nonexistent/token\n",
       "dev", "users[u1].user.tokenFile", core::StatusCode::kNotFound},
      {"insecure with CA",
       "    server: https://h:1\n    insecure-skip-tls-verify: true\n"
       "    certificate-authority-data: " +
           base64(kCaPem) + "\n",
       "    token: t\n", "dev", "cannot both be set"},
      {"exec plugin without apiVersion", "    server: https://h:1\n",
       "    exec:\n      command: aws\n", "dev", "users[u1].user.exec.apiVersion"},
      {"exec v1 without interactiveMode", "    server: https://h:1\n",
       "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n", "dev",
       "exec.interactiveMode must be set"},
      {"auth-provider", "    server: https://h:1\n", "    auth-provider:\n      name: oidc\n",
       "dev", "auth-provider credentials are not supported"},
  };
  for (const auto& c : cases) {
    auto config = parseKubeconfig(kubeconfig(c.cluster, c.user, c.current), "/etc/kc.yaml");
    ASSERT_FALSE(config.isOk()) << c.name;
    EXPECT_EQ(config.status().code(), c.code) << c.name << ": " << config.status();
    EXPECT_THAT(config.status().message(), HasSubstr("/etc/kc.yaml")) << c.name;
    EXPECT_THAT(config.status().message(), HasSubstr(c.expected)) << c.name;
  }
}

TEST_F(ConfigTest, MalformedYamlAndMissingFile) {
  auto bad = parseKubeconfig("clusters: [unclosed", "/x/config");
  EXPECT_EQ(bad.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("/x/config"));
  auto missing = loadKubeconfigFile((dir_ / "nope").string());
  EXPECT_EQ(missing.status().code(), core::StatusCode::kNotFound);
}

TEST_F(ConfigTest, InClusterConfig) {
  write("sa/token", "satoken\n");
  write("sa/ca.crt", kCaPem);
  write("sa/namespace", "novacron-system\n");
  InClusterSource source;
  source.service_account_dir = (dir_ / "sa").string();
  source.service_host = "10.0.0.1";
  source.service_port = "443";
  auto config = loadInClusterConfig(source);
  ASSERT_TRUE(config.isOk()) << config.status();
  EXPECT_EQ(config->server, "https://10.0.0.1:443");
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->token_file, (dir_ / "sa" / "token").string());
  EXPECT_EQ(config->default_namespace, "novacron-system");

  source.service_host = "fd00::1";
  EXPECT_EQ(loadInClusterConfig(source)->server, "https://[fd00::1]:443");

  source.service_host.reset();
  EXPECT_EQ(loadInClusterConfig(source).status().code(), core::StatusCode::kFailedPrecondition);

  InClusterSource no_files;
  no_files.service_account_dir = (dir_ / "empty").string();
  no_files.service_host = "h";
  no_files.service_port = "1";
  EXPECT_EQ(loadInClusterConfig(no_files).status().code(), core::StatusCode::kNotFound);
}

TEST_F(ConfigTest, Precedence) {
  std::string flag = write("flag", kubeconfig("    server: https://flag:1\n", "    token: t\n"));
  std::string envfile = write("env", kubeconfig("    server: https://env:1\n", "    token: t\n"));
  write("sa/token", "satoken\n");
  write("sa/ca.crt", kCaPem);
  ConfigSources sources;
  sources.in_cluster.service_account_dir = (dir_ / "sa").string();
  sources.in_cluster.service_host = "incluster";
  sources.in_cluster.service_port = "443";
  sources.kubeconfig_flag = flag;
  sources.kubeconfig_env = "/nonexistent:" + envfile;
  EXPECT_EQ(loadConfig(sources)->server, "https://flag:1");
  sources.kubeconfig_flag.reset();
  EXPECT_EQ(loadConfig(sources)->server, "https://env:1");
  sources.kubeconfig_env = "/nonexistent";
  EXPECT_EQ(loadConfig(sources).status().code(), core::StatusCode::kNotFound);
  sources.kubeconfig_env.reset();
  EXPECT_EQ(loadConfig(sources)->server, "https://incluster:443");
}

TEST_F(ConfigTest, SourcesFromEnvironment) {
  setenv("KUBECONFIG", "/some/where", 1);
  ConfigSources sources = configSourcesFromEnvironment(std::string("/flag"), "ctx");
  EXPECT_EQ(sources.kubeconfig_flag, "/flag");
  EXPECT_EQ(sources.kubeconfig_env, "/some/where");
  EXPECT_EQ(sources.context, "ctx");
  unsetenv("KUBECONFIG");
  EXPECT_FALSE(configSourcesFromEnvironment(std::nullopt).kubeconfig_env.has_value());
}

}  // namespace
}  // namespace novacron::kube

namespace novacron::kube {
namespace {

TEST(TransportSecurityTest, RefusesABearerTokenOverPlainHttp) {
  Config c;
  c.server = "http://127.0.0.1:8080";
  c.source = "test";
  c.token = "secret";
  auto t = newCpprestsdkTransport(c);
  ASSERT_FALSE(t.isOk());
  EXPECT_EQ(t.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("plain http://"), std::string::npos) << t.status();
  c.token.clear();
  c.token_file = "/var/run/secrets/token";
  EXPECT_FALSE(newCpprestsdkTransport(c).isOk());
  // Without a token plain http is allowed (e.g. kubectl proxy on loopback); https with one is fine.
  c.token_file.clear();
  EXPECT_TRUE(newCpprestsdkTransport(c).isOk());
  c.server = "https://127.0.0.1:6443";
  c.token = "secret";
  EXPECT_TRUE(newCpprestsdkTransport(c).isOk());
}

}  // namespace
}  // namespace novacron::kube
