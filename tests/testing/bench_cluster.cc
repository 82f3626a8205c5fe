#include "tests/testing/bench_cluster.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <stdlib.h>

#include "lib/kube/config.h"
#include "tests/integration/node-daemon/cluster_helpers.h"

namespace novacron::testing {

core::StatusOr<std::unique_ptr<BenchCluster>> BenchCluster::start(
    const BenchClusterOptions& options) {
  std::unique_ptr<BenchCluster> bench(new BenchCluster());
  std::string tmpl = "/tmp/novacron-" + options.scratch_prefix + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return core::internalError("cannot create a scratch directory from " + tmpl);
  }
  bench->scratch_ = tmpl;
  DevClusterOptions cluster_options;
  cluster_options.extra_apiserver_args = {"--audit-log=" + bench->auditFile()};
  cluster_options.log_level = options.log_level;
  NOVACRON_ASSIGN_OR_RETURN(bench->cluster_, DevCluster::start(cluster_options));
  kube::RestClientOptions rest;
  rest.qps = options.setup_qps;
  rest.burst = static_cast<int>(options.setup_qps);
  rest.user_agent = "bench-setup";
  rest.registry = std::make_shared<prometheus::Registry>();
  NOVACRON_ASSIGN_OR_RETURN(bench->setup_, restClientFor(*bench->cluster_, rest));
  NOVACRON_RETURN_IF_ERROR(node::testing::installCrds(*bench->setup_, options.ns));
  return bench;
}

BenchCluster::~BenchCluster() {
  setup_.reset();
  cluster_.reset();
  if (scratch_.empty()) {
    return;
  }
  if (keep_ || std::getenv("NOVACRON_KEEP_TEST_DIRS") != nullptr) {
    std::printf("  kept %s (audit.log, node-daemon logs)\n", scratch_.c_str());
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(scratch_, ignored);
}

core::StatusOr<kube::ClientPtr> restClientFor(const DevCluster& cluster,
                                              kube::RestClientOptions options) {
  NOVACRON_ASSIGN_OR_RETURN(kube::Config config,
                            kube::loadKubeconfigFile(cluster.kubeconfigPath()));
  return kube::newRestClient(config, std::move(options));
}

double restWrites(prometheus::Registry& registry, std::map<std::string, double>& by_method) {
  double total = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != "rest_client_requests_total") {
      continue;
    }
    for (const auto& metric : family.metric) {
      std::string method;
      for (const auto& label : metric.label) {
        if (label.name == "method") {
          method = label.value;
        }
      }
      if (method == "GET" || method == "LIST" || method == "WATCH" || method.empty()) {
        continue;
      }
      by_method[method] += metric.counter.value;
      total += metric.counter.value;
    }
  }
  return total;
}

}  // namespace novacron::testing
