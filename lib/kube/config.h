// Config: where the API server is and how to authenticate to it, loaded from a kubeconfig file or
// from the in-cluster service account.
//
// Precedence (loadConfig): the --kubeconfig flag, else the KUBECONFIG environment variable (the
// first existing file of a ':'-separated list), else the in-cluster service account. Relative file
// paths in a kubeconfig are resolved against the kubeconfig's own folder.
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

#include "lib/core/status.h"
#include "lib/core/statusor.h"

namespace novacron::kube {

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
  InClusterSource in_cluster;
};
// Sources from the process environment plus the given flag values.
ConfigSources configSourcesFromEnvironment(std::optional<std::string> kubeconfig_flag,
                                           std::string context = {});

// Applies the precedence described at the top of this file.
core::StatusOr<Config> loadConfig(const ConfigSources& sources);

}  // namespace novacron::kube
