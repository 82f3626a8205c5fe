// Kubeconfig loading as kubectl does it: KUBECONFIG lists merged (first file wins per name and for
// current-context), ~/.kube/config by default, --context and --namespace overrides, relative paths
// resolved against the file that holds them, exec plugins parsed.
#include <filesystem>
#include <fstream>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/kube/config.h"

namespace novacron::kube {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kCertPem[] = "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n";
constexpr char kKeyPem[] = "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n";

class ConfigMergeTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("kube_config_merge_test_" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  fs::path dir_;
};

// File A: current-context a, cluster shared -> https://a, user ua (token a).
constexpr char kFileA[] = R"(apiVersion: v1
kind: Config
current-context: a
clusters:
- name: shared
  cluster: {server: "https://a:1"}
contexts:
- name: a
  context: {cluster: shared, user: ua, namespace: ns-a}
users:
- name: ua
  user: {token: token-a}
)";

// File B: current-context b, the same cluster name (loses), its own context and user.
constexpr char kFileB[] = R"(apiVersion: v1
kind: Config
current-context: b
clusters:
- name: shared
  cluster: {server: "https://b:1"}
- name: onlyb
  cluster: {server: "https://onlyb:1"}
contexts:
- name: a
  context: {cluster: onlyb, user: ub}
- name: b
  context: {cluster: onlyb, user: ub}
users:
- name: ub
  user: {tokenFile: tokens/b}
)";

TEST_F(ConfigMergeTest, FirstFileWinsPerNameAndForCurrentContext) {
  std::string a = write("a/config", kFileA);
  std::string b = write("b/config", kFileB);
  write("b/tokens/b", "token-b\n");
  ConfigSources sources;
  sources.kubeconfig_env = a + "::" + (dir_ / "missing").string() + ":" + b;
  auto config = loadConfig(sources);
  ASSERT_TRUE(config.isOk()) << config.status();
  EXPECT_EQ(config->server, "https://a:1");  // context a from file A, cluster shared from A
  EXPECT_EQ(config->token, "token-a");
  EXPECT_EQ(config->default_namespace, "ns-a");
  EXPECT_THAT(config->source, HasSubstr(a));
  EXPECT_THAT(config->source, HasSubstr(b));

  // Reversed order: B's current-context and B's "shared" and "a" win.
  sources.kubeconfig_env = b + ":" + a;
  config = loadConfig(sources);
  ASSERT_TRUE(config.isOk()) << config.status();
  EXPECT_EQ(config->server, "https://onlyb:1");
  // tokenFile is relative to b/config's folder, not to the first file's.
  EXPECT_EQ(config->token_file, (dir_ / "b" / "tokens" / "b").string());

  // --context picks a context from any file; entries it names may come from another file.
  sources.kubeconfig_env = a + ":" + b;
  sources.context = "b";
  config = loadConfig(sources);
  ASSERT_TRUE(config.isOk()) << config.status();
  EXPECT_EQ(config->server, "https://onlyb:1");
  EXPECT_EQ(config->token_file, (dir_ / "b" / "tokens" / "b").string());

  sources.context = "nope";
  EXPECT_THAT(loadConfig(sources).status().message(), HasSubstr("contexts[nope] not found"));
}

TEST_F(ConfigMergeTest, NamespaceOverride) {
  ConfigSources sources;
  sources.kubeconfig_flag = write("config", kFileA);
  EXPECT_EQ(loadConfig(sources)->default_namespace, "ns-a");
  sources.namespace_override = "other";
  EXPECT_EQ(loadConfig(sources)->default_namespace, "other");
}

TEST_F(ConfigMergeTest, HomeConfigBeforeInCluster) {
  write("home/.kube/config", kFileA);
  ConfigSources sources;
  sources.home = (dir_ / "home").string();
  sources.in_cluster.service_host = "incluster";
  sources.in_cluster.service_port = "443";
  sources.in_cluster.service_account_dir = (dir_ / "sa").string();
  EXPECT_EQ(loadConfig(sources)->server, "https://a:1");
  // Without a home config, in-cluster (which fails here: no token file).
  sources.home = (dir_ / "empty-home").string();
  EXPECT_EQ(loadConfig(sources).status().code(), core::StatusCode::kNotFound);
  // KUBECONFIG wins over the home file.
  sources.home = (dir_ / "home").string();
  sources.kubeconfig_env = write("b/config", kFileB);
  write("b/tokens/b", "token-b\n");
  EXPECT_EQ(loadConfig(sources)->server, "https://onlyb:1");
}

TEST_F(ConfigMergeTest, ClientCertificateFilesAndInlineData) {
  write("pki/client.crt", kCertPem);
  write("pki/client.key", kKeyPem);
  std::string path = write("config", R"(apiVersion: v1
current-context: c
clusters:
- name: k
  cluster: {server: "https://k:1", insecure-skip-tls-verify: true}
contexts:
- name: c
  context: {cluster: k, user: files}
- name: inline
  context: {cluster: k, user: inline}
users:
- name: files
  user: {client-certificate: pki/client.crt, client-key: pki/client.key}
- name: inline
  user:
    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClEwVlNWQT09Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K
    client-key-data: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tClMwVloKLS0tLS1FTkQgUFJJVkFURSBLRVktLS0tLQo=
)");
  auto files = loadKubeconfigFile(path);
  ASSERT_TRUE(files.isOk()) << files.status();
  EXPECT_EQ(files->client_cert_pem, kCertPem);
  EXPECT_EQ(files->client_key_pem, kKeyPem);
  auto inline_data = loadKubeconfigFile(path, "inline");
  ASSERT_TRUE(inline_data.isOk()) << inline_data.status();
  EXPECT_EQ(inline_data->client_cert_pem, kCertPem);
  EXPECT_EQ(inline_data->client_key_pem, kKeyPem);
}

TEST_F(ConfigMergeTest, ExecPlugin) {
  std::string path = write("cfg/config", R"(apiVersion: v1
current-context: c
clusters:
- name: k
  cluster: {server: "https://k:1"}
contexts:
- name: c
  context: {cluster: k, user: sso}
users:
- name: sso
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/get-token
      args: ["--audience", "k"]
      env:
      - {name: REGION, value: eu-west-1}
      installHint: "install get-token"
      provideClusterInfo: true
      interactiveMode: Never
)");
  auto config = loadKubeconfigFile(path);
  ASSERT_TRUE(config.isOk()) << config.status();
  ASSERT_TRUE(config->exec.has_value());
  EXPECT_EQ(config->exec->command, (dir_ / "cfg" / "./bin/get-token").string());
  EXPECT_THAT(config->exec->args, ElementsAre("--audience", "k"));
  EXPECT_THAT(config->exec->env, ElementsAre(Pair("REGION", "eu-west-1")));
  EXPECT_EQ(config->exec->install_hint, "install get-token");
  EXPECT_TRUE(config->exec->provide_cluster_info);
  EXPECT_EQ(config->exec->interactive_mode, "Never");
}

TEST_F(ConfigMergeTest, EmptyFileInTheListIsAnEmptyConfig) {
  std::string empty = write("empty", "");
  std::string a = write("a", kFileA);
  ConfigSources sources;
  sources.kubeconfig_env = empty + ":" + a;
  auto config = loadConfig(sources);
  ASSERT_TRUE(config.isOk()) << config.status();
  EXPECT_EQ(config->server, "https://a:1");
}

}  // namespace
}  // namespace novacron::kube
