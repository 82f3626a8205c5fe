#include "lib/kube/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

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

// One named entry of a kubeconfig list and the file it came from (relative paths resolve there).
struct Entry {
  YAML::Node body;
  std::string file;
};

// Several kubeconfig files merged with kubectl's rules: the first file to set a name (or
// current-context) wins.
struct MergedKubeconfig {
  std::string current_context;
  std::string current_context_file;
  std::map<std::string, Entry> clusters;
  std::map<std::string, Entry> contexts;
  std::map<std::string, Entry> users;
  std::vector<std::string> files;
};

core::Status mergeList(const YAML::Node& root, const char* list, const char* inner,
                       const std::string& path, std::map<std::string, Entry>& into) {
  YAML::Node items = root[list];
  if (!items || items.IsNull()) {
    return core::okStatus();
  }
  if (!items.IsSequence()) {
    return core::invalidArgumentError("kubeconfig " + path + ": " + list + " must be a list");
  }
  for (const auto& item : items) {
    std::string name = item.IsMap() ? scalar(item, "name") : std::string();
    if (name.empty()) {
      return core::invalidArgumentError("kubeconfig " + path + ": " + list +
                                        " has an entry without a name");
    }
    if (into.contains(name)) {
      continue;  // an earlier file set it
    }
    YAML::Node body = item[inner];
    if (!body || !body.IsMap()) {
      return core::invalidArgumentError("kubeconfig " + path + ": " + list + "[" + name + "]." +
                                        inner + " is missing");
    }
    into.emplace(name, Entry{body, path});
  }
  return core::okStatus();
}

core::Status mergeFile(const YAML::Node& root, const std::string& path, MergedKubeconfig& into) {
  if (root.IsNull()) {
    into.files.push_back(path);
    return core::okStatus();  // an empty file is an empty config, as for kubectl
  }
  if (!root.IsMap()) {
    return core::invalidArgumentError("kubeconfig " + path + ": not a YAML mapping");
  }
  into.files.push_back(path);
  if (into.current_context.empty()) {
    into.current_context = scalar(root, "current-context");
    into.current_context_file = path;
  }
  NOVACRON_RETURN_IF_ERROR(mergeList(root, "clusters", "cluster", path, into.clusters));
  NOVACRON_RETURN_IF_ERROR(mergeList(root, "contexts", "context", path, into.contexts));
  return mergeList(root, "users", "user", path, into.users);
}

std::string joined(const std::vector<std::string>& files) {
  std::string out;
  for (const auto& f : files) {
    out += (out.empty() ? "" : ":") + f;
  }
  return out;
}

core::StatusOr<const Entry*> findEntry(const std::map<std::string, Entry>& entries,
                                       const char* list, const std::string& name,
                                       const std::string& where) {
  auto it = entries.find(name);
  if (it == entries.end()) {
    return core::invalidArgumentError("kubeconfig " + where + ": " + list + "[" + name +
                                      "] not found");
  }
  return &it->second;
}

core::StatusOr<ExecConfig> parseExec(const YAML::Node& node, const std::string& where,
                                     const std::string& path) {
  ExecConfig exec;
  exec.api_version = scalar(node, "apiVersion");
  if (exec.api_version != "client.authentication.k8s.io/v1" &&
      exec.api_version != "client.authentication.k8s.io/v1beta1") {
    return core::invalidArgumentError("kubeconfig " + path + ": " + where + ".exec.apiVersion \"" +
                                      exec.api_version +
                                      "\" is not client.authentication.k8s.io/v1 or v1beta1");
  }
  exec.command = scalar(node, "command");
  if (exec.command.empty()) {
    return core::invalidArgumentError("kubeconfig " + path + ": " + where +
                                      ".exec.command is not set");
  }
  if (exec.command.find('/') != std::string::npos) {
    exec.command = resolvePath(exec.command, path);
  }
  if (YAML::Node args = node["args"]; args && args.IsSequence()) {
    for (const auto& a : args) {
      exec.args.push_back(a.as<std::string>());
    }
  }
  if (YAML::Node env = node["env"]; env && env.IsSequence()) {
    for (const auto& e : env) {
      std::string name = scalar(e, "name");
      if (name.empty()) {
        return core::invalidArgumentError("kubeconfig " + path + ": " + where +
                                          ".exec.env has an entry without a name");
      }
      exec.env.emplace_back(name, scalar(e, "value"));
    }
  }
  exec.install_hint = scalar(node, "installHint");
  if (node["provideClusterInfo"]) {
    exec.provide_cluster_info = node["provideClusterInfo"].as<bool>();
  }
  exec.interactive_mode = scalar(node, "interactiveMode");
  if (exec.interactive_mode.empty()) {
    if (exec.api_version == "client.authentication.k8s.io/v1") {
      // client-go requires it for v1 (it defaults only for v1beta1).
      return core::invalidArgumentError("kubeconfig " + path + ": " + where +
                                        ".exec.interactiveMode must be set for " +
                                        exec.api_version);
    }
    exec.interactive_mode = "IfAvailable";
  }
  if (exec.interactive_mode != "Never" && exec.interactive_mode != "IfAvailable" &&
      exec.interactive_mode != "Always") {
    return core::invalidArgumentError("kubeconfig " + path + ": " + where +
                                      ".exec.interactiveMode \"" + exec.interactive_mode +
                                      "\" is not Never, IfAvailable or Always");
  }
  return exec;
}

core::StatusOr<Config> resolveContext(const MergedKubeconfig& merged,
                                      std::string_view context_override) {
  const std::string all = joined(merged.files);
  std::string context_name = std::string(context_override);
  if (context_name.empty()) {
    context_name = merged.current_context;
  }
  if (context_name.empty()) {
    return core::invalidArgumentError("kubeconfig " + all + ": current-context is not set");
  }
  NOVACRON_ASSIGN_OR_RETURN(const Entry* context_entry,
                            findEntry(merged.contexts, "contexts", context_name, all));
  const YAML::Node& context = context_entry->body;
  std::string cluster_name = scalar(context, "cluster");
  if (cluster_name.empty()) {
    return core::invalidArgumentError("kubeconfig " + context_entry->file + ": contexts[" +
                                      context_name + "].context.cluster is not set");
  }
  NOVACRON_ASSIGN_OR_RETURN(const Entry* cluster_entry,
                            findEntry(merged.clusters, "clusters", cluster_name, all));
  const YAML::Node& cluster = cluster_entry->body;
  std::string path = cluster_entry->file;

  Config config;
  config.source = "kubeconfig " + all + " (context " + context_name + ")";
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
  NOVACRON_ASSIGN_OR_RETURN(const Entry* user_entry,
                            findEntry(merged.users, "users", user_name, all));
  const YAML::Node& user = user_entry->body;
  path = user_entry->file;
  where = "users[" + user_name + "].user";
  if (user["auth-provider"]) {
    return core::invalidArgumentError("kubeconfig " + path + ": " + where +
                                      ": auth-provider credentials are not supported (use exec)");
  }
  if (YAML::Node exec = user["exec"]; exec && !exec.IsNull()) {
    NOVACRON_ASSIGN_OR_RETURN(config.exec, parseExec(exec, where, path));
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

core::Status mergeText(std::string_view yaml, const std::string& path, MergedKubeconfig& into) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    return mergeFile(root, path, into);
  } catch (const YAML::Exception& e) {
    return core::invalidArgumentError("kubeconfig " + path + ": " + e.what());
  }
}

core::StatusOr<Config> resolveSafely(const MergedKubeconfig& merged, std::string_view context) {
  try {
    return resolveContext(merged, context);
  } catch (const YAML::Exception& e) {
    return core::invalidArgumentError("kubeconfig " + joined(merged.files) + ": " + e.what());
  }
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
  MergedKubeconfig merged;
  NOVACRON_RETURN_IF_ERROR(mergeText(yaml, path, merged));
  return resolveSafely(merged, context);
}

core::StatusOr<Config> loadKubeconfigFile(const std::string& path, std::string_view context) {
  NOVACRON_ASSIGN_OR_RETURN(std::string text, readFile(path, "kubeconfig"));
  return parseKubeconfig(text, path, context);
}

core::StatusOr<Config> loadMergedKubeconfig(const std::vector<std::string>& paths,
                                            std::string_view context) {
  MergedKubeconfig merged;
  for (const auto& path : paths) {
    std::error_code ec;
    if (path.empty() || !fs::exists(path, ec)) {
      continue;
    }
    NOVACRON_ASSIGN_OR_RETURN(std::string text, readFile(path, "kubeconfig"));
    NOVACRON_RETURN_IF_ERROR(mergeText(text, path, merged));
  }
  if (merged.files.empty()) {
    return core::notFoundError("kubeconfig: none of " + joined(paths) + " exists");
  }
  return resolveSafely(merged, context);
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
                                           std::string context, std::string namespace_override) {
  ConfigSources sources;
  if (kubeconfig_flag && !kubeconfig_flag->empty()) {
    sources.kubeconfig_flag = std::move(kubeconfig_flag);
  }
  sources.kubeconfig_env = env("KUBECONFIG");
  sources.context = std::move(context);
  sources.namespace_override = std::move(namespace_override);
  sources.home = env("HOME");
  sources.in_cluster = inClusterSourceFromEnvironment();
  return sources;
}

namespace {

core::StatusOr<Config> loadWithoutOverrides(const ConfigSources& sources) {
  if (sources.kubeconfig_flag) {
    return loadKubeconfigFile(*sources.kubeconfig_flag, sources.context);
  }
  if (sources.kubeconfig_env && !sources.kubeconfig_env->empty()) {
    std::vector<std::string> paths;
    std::string list = *sources.kubeconfig_env;
    size_t start = 0;
    while (start <= list.size()) {
      size_t colon = list.find(':', start);
      paths.push_back(
          list.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
      if (colon == std::string::npos) {
        break;
      }
      start = colon + 1;
    }
    auto merged = loadMergedKubeconfig(paths, sources.context);
    if (merged.status().code() == core::StatusCode::kNotFound &&
        merged.status().message().rfind("kubeconfig: none of", 0) == 0) {
      return core::notFoundError("KUBECONFIG=" + list + ": none of the listed files exists");
    }
    return merged;
  }
  if (sources.home && !sources.home->empty()) {
    std::string home_config = (fs::path(*sources.home) / ".kube" / "config").string();
    std::error_code ec;
    if (fs::exists(home_config, ec)) {
      return loadKubeconfigFile(home_config, sources.context);
    }
  }
  return loadInClusterConfig(sources.in_cluster);
}

}  // namespace

core::StatusOr<Config> loadConfig(const ConfigSources& sources) {
  NOVACRON_ASSIGN_OR_RETURN(Config config, loadWithoutOverrides(sources));
  if (!sources.namespace_override.empty()) {
    config.default_namespace = sources.namespace_override;
  }
  return config;
}

}  // namespace novacron::kube
