// Config: where the API server is and how to authenticate to it, loaded from a kubeconfig file or
// from the in-cluster service account.
//
// Precedence (loadConfig), as kubectl (client-go's loading rules): the --kubeconfig flag (one file,
// which must exist), else the KUBECONFIG environment variable (a ':'-separated list; missing files
// are skipped; the files are merged: for every cluster, context and user name, and for
// current-context, the first file that sets it wins), else ~/.kube/config when it exists, else the
// in-cluster service account. --context overrides current-context, --namespace the context's
// namespace. Relative file paths (and exec commands with a '/') in a kubeconfig are resolved
// against the folder of the file that holds them.
// Users authenticate with a client certificate (files or inline data), a token or token file, or
// an exec credential plugin (Config::exec; run by ExecCredentialProvider, exec_credential.h).
// Errors are InvalidArgument / NotFound statuses that name the file and the field at fault.
//
// File-based credentials are read once at load time, except the bearer token file, which is kept as
// a path: service-account tokens rotate, so the transport re-reads it (see TokenSource).
// Thread-safety: plain values and functions without shared state.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/core/status.h"
#include "lib/core/statusor.h"

namespace novacron::kube {

// users[].user.exec of a kubeconfig: a credential plugin (client.authentication.k8s.io).
struct ExecConfig {
  std::string api_version;  // client.authentication.k8s.io/v1 or /v1beta1
  std::string command;      // a name looked up on PATH, or a path (relative ones resolved)
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string install_hint;  // shown when the command cannot be run
  bool provide_cluster_info = false;
  std::string interactive_mode;  // Never | IfAvailable | Always
};

struct Config {
  std::string server;  // "https://127.0.0.1:6443" (no trailing slash)
  // PEM bundle of trusted CAs; empty means the system trust store.
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
  // Client certificate authentication (both PEM, both set or both empty).
  std::string client_cert_pem;
  std::string client_key_pem;
  // Bearer token: a literal token, or a file re-read when it changes (token_file wins if both set).
  std::string token;
  std::string token_file;
  // Credential plugin; when set, its token / client certificate are used (and refreshed).
  std::optional<ExecConfig> exec;
  // Namespace of the current context, or of the service account in-cluster; may be empty.
  std::string default_namespace;
  // Where this came from, for log and error messages: "kubeconfig /x/config (context dev)".
  std::string source;
  // Default per-request timeout (watches use their own).
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

// Parses kubeconfig YAML text. `path` is only used in messages and to resolve relative file paths
// (its folder). `context` overrides current-context when non-empty.
core::StatusOr<Config> parseKubeconfig(std::string_view yaml, const std::string& path,
                                       std::string_view context = {});

// Reads and parses a kubeconfig file.
core::StatusOr<Config> loadKubeconfigFile(const std::string& path, std::string_view context = {});

// Reads the existing files of `paths` (missing ones are skipped), merges them with kubectl's rules
// and resolves `context` (or the merged current-context). NotFound when no file exists.
core::StatusOr<Config> loadMergedKubeconfig(const std::vector<std::string>& paths,
                                            std::string_view context = {});

// Where the in-cluster config comes from; the defaults are the real locations, tests point
// `service_account_dir` at a temp folder and set host/port explicitly.
struct InClusterSource {
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  std::optional<std::string> service_host;  // KUBERNETES_SERVICE_HOST
  std::optional<std::string> service_port;  // KUBERNETES_SERVICE_PORT
};
InClusterSource inClusterSourceFromEnvironment();

// Builds the in-cluster config: server https://HOST:PORT (IPv6 hosts bracketed), CA from ca.crt,
// token_file = <dir>/token, namespace from <dir>/namespace when present. FailedPrecondition when
// not running in a cluster (host/port unset), NotFound/InvalidArgument for missing or bad files.
core::StatusOr<Config> loadInClusterConfig(const InClusterSource& source);

struct ConfigSources {
  std::optional<std::string> kubeconfig_flag;  // --kubeconfig
  std::optional<std::string> kubeconfig_env;   // $KUBECONFIG
  std::string context;                         // --context, optional
  std::string namespace_override;              // --namespace, optional
  std::optional<std::string> home;             // $HOME: ~/.kube/config is tried when set
  InClusterSource in_cluster;
};
// Sources from the process environment plus the given flag values.
ConfigSources configSourcesFromEnvironment(std::optional<std::string> kubeconfig_flag,
                                           std::string context = {},
                                           std::string namespace_override = {});

// Applies the precedence described at the top of this file.
core::StatusOr<Config> loadConfig(const ConfigSources& sources);

}  // namespace novacron::kube
