#include "lib/kube/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace novacron::kube {
namespace {

namespace fs = std::filesystem;

core::StatusOr<std::string> readFile(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return core::notFoundError(what + ": file " + path + " does not exist");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::permissionDeniedError(what + ": cannot open " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+' || c == '-') {
    return 62;
  }
  if (c == '/' || c == '_') {
    return 63;
  }
  return -1;
}

// Standard base64 (URL-safe alphabet tolerated), whitespace ignored, padding optional.
std::optional<std::string> decodeBase64(std::string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      continue;
    }
    if (c == '=') {
      padding = true;
      continue;
    }
    int v = base64Value(c);
    if (v < 0 || padding) {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  if (bits >= 6) {
    return std::nullopt;  // a dangling sextet cannot come from a valid encoding
  }
  return out;
}

// Reads one kubeconfig section ("clusters", "contexts", "users") entry by name.
struct Finder {
  const YAML::Node& root;
  const std::string& path;

  core::StatusOr<YAML::Node> find(const char* list, const char* inner,
                                  const std::string& name) const {
    YAML::Node items = root[list];
    if (items && !items.IsSequence()) {
      return core::invalidArgumentError("kubeconfig " + path + ": " + list + " must be a list");
    }
    if (items) {
      for (const auto& item : items) {
        if (item["name"] && item["name"].as<std::string>() == name) {
          YAML::Node body = item[inner];
          if (!body || !body.IsMap()) {
            return core::invalidArgumentError("kubeconfig " + path + ": " + list + "[" + name +
                                              "]." + inner + " is missing");
          }
          return body;
        }
      }
    }
    return core::invalidArgumentError("kubeconfig " + path + ": " + list + "[" + name +
                                      "] not found");
  }
};

std::string scalar(const YAML::Node& node, const char* key) {
  YAML::Node value = node[key];
  if (!value || value.IsNull()) {
    return {};
  }
  return value.as<std::string>();
}

std::string resolvePath(const std::string& file, const std::string& kubeconfig_path) {
  if (file.empty() || fs::path(file).is_absolute()) {
    return file;
  }
  return (fs::path(kubeconfig_path).parent_path() / file).string();
}

// Loads PEM data either from "<field>-data" (base64) or from the file named by "<field>".
core::StatusOr<std::string> pemField(const YAML::Node& node, const std::string& field,
                                     const std::string& where, const std::string& path) {
  std::string data = scalar(node, (field + "-data").c_str());
  std::string pem;
  if (!data.empty()) {
    auto decoded = decodeBase64(data);
    if (!decoded) {
      return core::invalidArgumentError("kubeconfig " + path + ": " + where + "." + field +
                                        "-data is not valid base64");
    }
    pem = std::move(*decoded);
    if (pem.find("-----BEGIN") == std::string::npos) {
      return core::invalidArgumentError("kubeconfig " + path + ": " + where + "." + field +
                                        "-data does not contain PEM data");
    }
    return pem;
  }
  std::string file = scalar(node, field.c_str());
  if (file.empty()) {
    return std::string();
  }
  NOVACRON_ASSIGN_OR_RETURN(
      pem, readFile(resolvePath(file, path), "kubeconfig " + path + ": " + where + "." + field));
  if (pem.find("-----BEGIN") == std::string::npos) {
    return core::invalidArgumentError("kubeconfig " + path + ": " + where + "." + field + " (" +
                                      file + ") does not contain PEM data");
  }
  return pem;
}

core::StatusOr<Config> parseKubeconfigNode(const YAML::Node& root, const std::string& path,
                                           std::string_view context_override) {
  if (!root.IsMap()) {
    return core::invalidArgumentError("kubeconfig " + path + ": not a YAML mapping");
  }
  std::string context_name = std::string(context_override);
  if (context_name.empty()) {
    context_name = scalar(root, "current-context");
  }
  if (context_name.empty()) {
    return core::invalidArgumentError("kubeconfig " + path + ": current-context is not set");
  }
  Finder finder{root, path};
  NOVACRON_ASSIGN_OR_RETURN(YAML::Node context, finder.find("contexts", "context", context_name));
  std::string cluster_name = scalar(context, "cluster");
  if (cluster_name.empty()) {
    return core::invalidArgumentError("kubeconfig " + path + ": contexts[" + context_name +
                                      "].context.cluster is not set");
  }
  NOVACRON_ASSIGN_OR_RETURN(YAML::Node cluster, finder.find("clusters", "cluster", cluster_name));

  Config config;
  config.source = "kubeconfig " + path + " (context " + context_name + ")";
  config.default_namespace = scalar(context, "namespace");

  std::string where = "clusters[" + cluster_name + "].cluster";
  config.server = scalar(cluster, "server");
  if (config.server.empty()) {
    return core::invalidArgumentError("kubeconfig " + path + ": " + where + ".server is not set");
  }
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return core::invalidArgumentError("kubeconfig " + path + ": " + where + ".server \"" +
                                      config.server + "\" is not an http(s) URL");
  }
  while (config.server.size() > 8 && config.server.back() == '/') {
    config.server.pop_back();
  }
  if (cluster["insecure-skip-tls-verify"]) {
    config.insecure_skip_tls_verify = cluster["insecure-skip-tls-verify"].as<bool>();
  }
  NOVACRON_ASSIGN_OR_RETURN(config.ca_pem, pemField(cluster, "certificate-authority", where, path));
  if (config.insecure_skip_tls_verify && !config.ca_pem.empty()) {
    return core::invalidArgumentError(
        "kubeconfig " + path + ": " + where +
        ": certificate-authority and insecure-skip-tls-verify cannot both be set");
  }

  std::string user_name = scalar(context, "user");
  if (user_name.empty()) {
    return config;  // anonymous
  }
  NOVACRON_ASSIGN_OR_RETURN(YAML::Node user, finder.find("users", "user", user_name));
  where = "users[" + user_name + "].user";
  if (user["exec"] || user["auth-provider"]) {
    return core::invalidArgumentError("kubeconfig " + path + ": " + where +
                                      ": exec and auth-provider credentials are not supported");
  }
  config.token = scalar(user, "token");
  std::string token_file = scalar(user, "tokenFile");
  if (!token_file.empty()) {
    config.token_file = resolvePath(token_file, path);
    std::error_code ec;
    if (!fs::exists(config.token_file, ec)) {
      return core::notFoundError("kubeconfig " + path + ": " + where + ".tokenFile: file " +
                                 config.token_file + " does not exist");
    }
  }
  NOVACRON_ASSIGN_OR_RETURN(config.client_cert_pem,
                            pemField(user, "client-certificate", where, path));
  NOVACRON_ASSIGN_OR_RETURN(config.client_key_pem, pemField(user, "client-key", where, path));
  if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
    return core::invalidArgumentError("kubeconfig " + path + ": " + where + ": " +
                                      (config.client_cert_pem.empty()
                                           ? "client-key is set without client-certificate"
                                           : "client-certificate is set without client-key"));
  }
  return config;
}

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

}  // namespace

core::StatusOr<Config> parseKubeconfig(std::string_view yaml, const std::string& path,
                                       std::string_view context) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    return parseKubeconfigNode(root, path, context);
  } catch (const YAML::Exception& e) {
    return core::invalidArgumentError("kubeconfig " + path + ": " + e.what());
  }
}

core::StatusOr<Config> loadKubeconfigFile(const std::string& path, std::string_view context) {
  NOVACRON_ASSIGN_OR_RETURN(std::string text, readFile(path, "kubeconfig"));
  return parseKubeconfig(text, path, context);
}

InClusterSource inClusterSourceFromEnvironment() {
  InClusterSource source;
  source.service_host = env("KUBERNETES_SERVICE_HOST");
  source.service_port = env("KUBERNETES_SERVICE_PORT");
  return source;
}

core::StatusOr<Config> loadInClusterConfig(const InClusterSource& source) {
  if (!source.service_host || source.service_host->empty() || !source.service_port ||
      source.service_port->empty()) {
    return core::failedPreconditionError(
        "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not "
        "running in a pod)");
  }
  Config config;
  std::string host = *source.service_host;
  if (host.find(':') != std::string::npos && host.front() != '[') {
    host = "[" + host + "]";
  }
  config.server = "https://" + host + ":" + *source.service_port;
  config.source = "in-cluster service account " + source.service_account_dir;
  std::string token_file = (fs::path(source.service_account_dir) / "token").string();
  std::error_code ec;
  if (!fs::exists(token_file, ec)) {
    return core::notFoundError("in-cluster config: token file " + token_file + " does not exist");
  }
  config.token_file = token_file;
  std::string ca_file = (fs::path(source.service_account_dir) / "ca.crt").string();
  NOVACRON_ASSIGN_OR_RETURN(config.ca_pem, readFile(ca_file, "in-cluster config: ca.crt"));
  if (config.ca_pem.find("-----BEGIN") == std::string::npos) {
    return core::invalidArgumentError("in-cluster config: " + ca_file +
                                      " does not contain PEM data");
  }
  std::string ns_file = (fs::path(source.service_account_dir) / "namespace").string();
  if (fs::exists(ns_file, ec)) {
    auto ns = readFile(ns_file, "in-cluster config: namespace");
    if (ns.isOk()) {
      std::string value = *ns;
      while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) {
        value.pop_back();
      }
      config.default_namespace = value;
    }
  }
  return config;
}

ConfigSources configSourcesFromEnvironment(std::optional<std::string> kubeconfig_flag,
                                           std::string context) {
  ConfigSources sources;
  if (kubeconfig_flag && !kubeconfig_flag->empty()) {
    sources.kubeconfig_flag = std::move(kubeconfig_flag);
  }
  sources.kubeconfig_env = env("KUBECONFIG");
  sources.context = std::move(context);
  sources.in_cluster = inClusterSourceFromEnvironment();
  return sources;
}

core::StatusOr<Config> loadConfig(const ConfigSources& sources) {
  if (sources.kubeconfig_flag) {
    return loadKubeconfigFile(*sources.kubeconfig_flag, sources.context);
  }
  if (sources.kubeconfig_env && !sources.kubeconfig_env->empty()) {
    std::string list = *sources.kubeconfig_env;
    size_t start = 0;
    while (start <= list.size()) {
      size_t colon = list.find(':', start);
      std::string path =
          list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      std::error_code ec;
      if (!path.empty() && fs::exists(path, ec)) {
        return loadKubeconfigFile(path, sources.context);
      }
      if (colon == std::string::npos) {
        break;
      }
      start = colon + 1;
    }
    return core::notFoundError("KUBECONFIG=" + list + ": none of the listed files exists");
  }
  return loadInClusterConfig(sources.in_cluster);
}

}  // namespace novacron::kube
