// DevCluster: a throw-away Kubernetes API for integration tests — a real etcd plus the
// novacron-dev-apiserver binary, on free loopback ports, in a fresh temporary directory.
//
//   auto cluster = novacron::testing::DevCluster::start();   // StatusOr<unique_ptr<DevCluster>>
//   ASSERT_TRUE(cluster.isOk()) << cluster.status();
//   (*cluster)->kubeconfigPath();   // kubeconfig (token user, context "novacron-dev"; a
//                                   // client-certificate user in context "novacron-dev-cert")
//   (*cluster)->serverUrl();        // "https://127.0.0.1:<port>"
//   (*cluster)->token();            // bearer token
//   (*cluster)->caCertPath();       // CA bundle that signed the server certificate
//   (*cluster)->clientCertPath(), clientKeyPath()  // admin client certificate
//   (*cluster)->etcdEndpoint();     // "http://127.0.0.1:<port>" (tests may talk to etcd)
//   (*cluster)->stopApiServer(); (*cluster)->startApiServer();  // restart; etcd keeps the data,
//                                   // same port, same certificates and token
//   (*cluster)->compact();          // compacts etcd history up to the current revision, so
//                                   // older resourceVersions answer 410 Gone
//   (*cluster)->stop();             // or just let the destructor kill both processes
//
// Both child processes die with the test process (PR_SET_PDEATHSIG) and their logs stay in
// dir()/etcd.log and dir()/apiserver.log (the directory is removed on stop() unless
// NOVACRON_KEEP_TEST_DIRS=1). The apiserver binary is found via options, then
// $NOVACRON_DEV_APISERVER, then $NOVACRON_BINARY_DIR/dev-apiserver/novacron-dev-apiserver.
//
// Thread-safety: not thread-safe; use one DevCluster from one test thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

#include "lib/core/status.h"
#include "lib/core/statusor.h"

namespace novacron::testing {

struct DevClusterOptions {
  std::string apiserver_binary;  // empty: see header comment
  std::string etcd_binary = "etcd";
  // How often watches with allowWatchBookmarks get a BOOKMARK while their resource changes (kube:
  // about a minute; see dev-apiserver/bookmark_schedule.h).
  std::chrono::milliseconds bookmark_interval{std::chrono::seconds(1)};
  std::chrono::seconds startup_timeout{30};
  std::string log_level = "info";
  // Further novacron-dev-apiserver flags, e.g. "--watch-window=4".
  std::vector<std::string> extra_apiserver_args;
};

class DevCluster {
public:
  static core::StatusOr<std::unique_ptr<DevCluster>> start(DevClusterOptions options = {});
  ~DevCluster();
  DevCluster(const DevCluster&) = delete;
  DevCluster& operator=(const DevCluster&) = delete;

  const std::string& kubeconfigPath() const { return kubeconfig_; }
  std::string serverUrl() const;
  int apiServerPort() const { return api_port_; }
  const std::string& token() const { return token_; }
  std::string caCertPath() const { return dir_ + "/certs/ca.crt"; }
  std::string clientCertPath() const { return dir_ + "/certs/client.crt"; }
  std::string clientKeyPath() const { return dir_ + "/certs/client.key"; }
  std::string etcdEndpoint() const;
  const std::string& dir() const { return dir_; }
  // The child processes (benchmarks read their CPU time); -1 when not running.
  pid_t etcdPid() const { return etcd_pid_; }
  pid_t apiServerPid() const { return api_pid_; }

  core::Status stopApiServer();
  core::Status startApiServer();
  // Compacts etcd at its current revision and returns that revision.
  core::StatusOr<int64_t> compact();
  core::StatusOr<int64_t> currentRevision();
  void stop();

private:
  DevCluster() = default;
  core::Status startEtcd();

  DevClusterOptions options_;
  std::string dir_;
  std::string kubeconfig_;
  std::string token_;
  int etcd_port_ = 0;
  int etcd_peer_port_ = 0;
  int api_port_ = 0;
  pid_t etcd_pid_ = -1;
  pid_t api_pid_ = -1;
};

// A free TCP port on 127.0.0.1 (bound and released; tiny race accepted in tests).
int pickFreePort();

}  // namespace novacron::testing
