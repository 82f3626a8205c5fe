// BenchCluster: what the controller benchmarks (tests/bench/controller/) start from — a DevCluster
// (etcd + the dev API server) whose audit log is on, in a fresh scratch directory the benchmark
// may also use (node-daemon roots, node files), with NovaCron's CRDs installed and a namespace for
// the benchmark's objects, plus a client for setting up. restClientFor() makes further clients
// (each with its own user agent, rate limit and metrics registry) and restWrites() counts the
// writes one of them made.
//
//   auto bench = novacron::testing::BenchCluster::start({.scratch_prefix = "placement-bench",
//                                                        .ns = "bench-placement"});
//   (*bench)->setup().create(...);   (*bench)->auditFile();   (*bench)->cluster().kubeconfigPath();
//
// The scratch directory is removed with the BenchCluster unless NOVACRON_KEEP_TEST_DIRS=1 or
// keepScratchDir() (then its path is printed). Stop whatever writes into it (node-daemons) before
// the BenchCluster goes. Thread-safety: setup() is a thread-safe client; the rest is for the
// benchmark's main thread.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <prometheus/registry.h>

#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/kube/rest_client.h"
#include "tests/testing/dev_cluster.h"

namespace novacron::testing {

struct BenchClusterOptions {
  std::string scratch_prefix = "bench";  // the scratch directory is /tmp/novacron-<prefix>-XXXXXX
  std::string ns = "bench";              // created for the benchmark's namespaced objects
  std::string log_level = "info";        // the dev API server's
  double setup_qps = 500;                // the setup client's rate limit (and burst)
};

class BenchCluster {
public:
  [[nodiscard]] static core::StatusOr<std::unique_ptr<BenchCluster>> start(
      const BenchClusterOptions& options);
  ~BenchCluster();
  BenchCluster(const BenchCluster&) = delete;
  BenchCluster& operator=(const BenchCluster&) = delete;

  const std::string& scratchDir() const { return scratch_; }
  std::string auditFile() const { return scratch_ + "/audit.log"; }
  DevCluster& cluster() { return *cluster_; }
  kube::Client& setup() { return *setup_; }
  const kube::ClientPtr& setupClient() const { return setup_; }
  // Keeps the scratch directory (for its logs) when the benchmark fails.
  void keepScratchDir() { keep_ = true; }

private:
  BenchCluster() = default;

  std::string scratch_;
  std::unique_ptr<DevCluster> cluster_;
  kube::ClientPtr setup_;
  bool keep_ = false;
};

// A REST client for `cluster` (its kubeconfig) with these options (user agent, qps, registry).
[[nodiscard]] core::StatusOr<kube::ClientPtr> restClientFor(const DevCluster& cluster,
                                                            kube::RestClientOptions options);

// The REST writes counted in `registry`'s rest_client_requests_total (every method but GET, LIST
// and WATCH): their total, and added to `by_method` per method.
double restWrites(prometheus::Registry& registry, std::map<std::string, double>& by_method);

}  // namespace novacron::testing
