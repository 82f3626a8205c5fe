// The shared state of the conformance suite: a transport to the cluster under test (KUBECONFIG, or
// a dev API server started for the run), a namespace of its own, and the suite's test-only CRD
// (widgets.conformance.novacron.io). Set up once per test binary by a GoogleTest environment and
// torn down (namespace and CRD deleted, dev server stopped) at the end.
//
// Environment variables:
//   KUBECONFIG                   cluster to test (a single file); unset or empty: start etcd +
//                                novacron-dev-apiserver with tests/testing's DevCluster (the ctest
//                                entry always does this)
//   NOVACRON_CONFORMANCE_ETCD    http://127.0.0.1:PORT of the cluster's etcd (enables the
//                                compaction / 410 Gone test); set automatically for the dev server
//   NOVACRON_DEV_APISERVER       path of novacron-dev-apiserver (default: the build tree's, via
//                                NOVACRON_BINARY_DIR)
//
// Thread-safety: set up before tests run; read-only afterwards (Api itself is thread-safe).
#pragma once

#include <optional>
#include <string>

#include "tests/conformance/http_api.h"

namespace novacron::conformance {

inline constexpr const char* kGroup = "conformance.novacron.io";
inline constexpr const char* kWidgetApiVersion = "conformance.novacron.io/v1";

class Cluster {
public:
  static Cluster& get();

  Api& api();
  kube::HttpTransport& transport();
  const std::string& ns() const { return ns_; }
  // The kubeconfig in use (KUBECONFIG's first entry, or the dev cluster's).
  const std::string& kubeconfigPath() const { return kubeconfig_; }

  // "/apis/conformance.novacron.io/v1/namespaces/<ns>/widgets[/<name>]"
  std::string widgets() const;
  std::string widget(const std::string& name) const { return widgets() + "/" + name; }
  // "/api/v1/namespaces/<ns>/<resource>[/<name>]" and the coordination.k8s.io Lease path.
  std::string core(const std::string& resource, const std::string& name = "") const;
  std::string leases(const std::string& name = "") const;

  // A name unique within this run: "<prefix>-<n>".
  std::string uniqueName(const std::string& prefix);

  // etcd of the cluster, when the suite may touch it (NOVACRON_CONFORMANCE_ETCD or the dev server).
  const std::optional<std::string>& etcdEndpoint() const { return etcd_; }

  // Set by the environment.
  void setUp();
  void tearDown();

private:
  struct State;
  State* state_ = nullptr;
  std::string ns_;
  std::string kubeconfig_;
  std::optional<std::string> etcd_;
  int counter_ = 0;
};

// {"apiVersion": ..., "kind": "Widget", "metadata": {"name": name}, "spec": spec}
Json widgetObject(const std::string& name, const Json& spec);

// The suite's CRD object.
Json widgetCrd();

}  // namespace novacron::conformance
