// Starts a throw-away etcd and novacron-dev-apiserver (built in this tree) for the conformance
// suite when no KUBECONFIG is given, so the default test run checks the dev server. Against a real
// cluster this is not used.
//
// Everything lives in a fresh temp folder (etcd data, certificates, kubeconfig, logs) and on free
// loopback ports; stop() (and the destructor) terminate both processes and remove the folder.
// Thread-safety: not thread-safe; one owner.
#pragma once

#include <memory>
#include <string>

#include <sys/types.h>

#include "lib/core/statusor.h"

namespace novacron::conformance {

class DevClusterLauncher {
public:
  // Starts etcd and the API server found at `apiserver_binary`; returns once the kubeconfig has
  // been written (readiness of /version is checked by the caller through the real client).
  static core::StatusOr<std::unique_ptr<DevClusterLauncher>> start(
      const std::string& apiserver_binary);
  ~DevClusterLauncher();

  const std::string& kubeconfigPath() const { return kubeconfig_; }
  // "http://127.0.0.1:PORT", for tests that compact etcd.
  const std::string& etcdEndpoint() const { return etcd_endpoint_; }
  const std::string& logDir() const { return dir_; }

  void stop();

private:
  DevClusterLauncher() = default;

  std::string dir_;
  std::string kubeconfig_;
  std::string etcd_endpoint_;
  pid_t etcd_pid_ = -1;
  pid_t apiserver_pid_ = -1;
};

}  // namespace novacron::conformance
