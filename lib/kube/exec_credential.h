// ExecCredentialProvider: runs a kubeconfig's exec credential plugin (users[].user.exec, the
// client.authentication.k8s.io v1 / v1beta1 ExecCredential protocol that EKS, GKE, AKS and OIDC
// helpers speak) and caches what it returns.
//
// The command runs with its args, the kubeconfig's env entries added to ours, and
// KUBERNETES_EXEC_INFO set to an ExecCredential request (spec.interactive=false; spec.cluster when
// provideClusterInfo is set). Its stdout must be an ExecCredential of the same apiVersion whose
// status holds a token and/or clientCertificateData + clientKeyData, optionally with an
// expirationTimestamp. The credential is reused until that time has passed, or until the API
// server answered 401 to it (invalidate()); then the plugin runs again. stderr is kept for error
// messages.
// Errors: Unavailable when the command cannot be run (with the installHint), Unauthenticated when
// it failed or printed something unusable.
// Thread-safety: safe from any thread; concurrent callers wait for one run of the plugin.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "lib/core/clock.h"
#include "lib/core/process.h"
#include "lib/core/statusor.h"
#include "lib/kube/config.h"

namespace novacron::kube {

struct ExecCredential {
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<std::chrono::system_clock::time_point> expiry;
};

// Parses the plugin's stdout. `api_version` is what the kubeconfig asked for.
core::StatusOr<ExecCredential> parseExecCredential(const std::string& json,
                                                   const std::string& api_version);

// RFC 3339 ("2026-01-02T03:04:05Z", fractions and offsets allowed) to a time point.
std::optional<std::chrono::system_clock::time_point> parseRfc3339(const std::string& text);

// The KUBERNETES_EXEC_INFO value for `config` (its exec and, if asked for, its cluster).
std::string execInfoJson(const Config& config);

class ExecCredentialProvider {
public:
  // `config.exec` must be set.
  ExecCredentialProvider(Config config, core::ProcessRunnerPtr runner, core::ClockPtr clock);

  // The cached credential, or a fresh one when there is none or it expired.
  [[nodiscard]] core::StatusOr<ExecCredential> get();

  // The server refused `token` (401): the next get() runs the plugin again. A token other than
  // the cached one (already replaced by another caller) leaves the cache alone.
  void invalidate(const std::string& token);

  // How many times the plugin ran (for tests and logs).
  int runs() const;

private:
  core::StatusOr<ExecCredential> runPlugin();

  const Config config_;
  const core::ProcessRunnerPtr runner_;
  const core::ClockPtr clock_;
  mutable std::mutex mu_;
  std::optional<ExecCredential> cached_;  // guarded by mu_
  int runs_ = 0;                          // guarded by mu_
};
using ExecCredentialProviderPtr = std::shared_ptr<ExecCredentialProvider>;

}  // namespace novacron::kube
