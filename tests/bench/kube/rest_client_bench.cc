// Prints the throughput of lib/kube's real transport over TLS on loopback: watch events per second
// through RestClient (cpprestsdk stream read line by line, JSON parse, callback) and sequential
// GETs per second on a kept-alive connection. The server is the Beast-based TlsTestServer, which
// costs CPU too on a 2-core machine; numbers are for comparing changes, not absolutes.
//
//   kube_rest_client_bench [events=20000] [gets=2000]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <prometheus/registry.h>

#include "lib/kube/rest_client.h"
#include "tests/integration/kube/test_pki.h"
#include "tests/integration/kube/tls_test_server.h"

namespace {

using namespace novacron;  // NOLINT: a benchmark's main

std::string eventLine(int i) {
  // Roughly the size of a VirtualMachine watch event (~700 bytes).
  kube::Json object = {{"apiVersion", "novacron.io/v1alpha1"},
                       {"kind", "VirtualMachine"},
                       {"metadata",
                        {{"name", "vm-" + std::to_string(i)},
                         {"namespace", "default"},
                         {"uid", "0b6c1f3e-2f4c-4a8e-9d1a-" + std::to_string(100000000000 + i)},
                         {"resourceVersion", std::to_string(1000 + i)},
                         {"generation", 1},
                         {"labels", {{"novacron.io/hypervisor", "node-a"}, {"app", "bench"}}}}},
                       {"spec",
                        {{"resources", {{"cpus", 2}, {"memory", "2Gi"}}},
                         {"runStrategy", "Always"},
                         {"disks", {{{"name", "root"}, {"image", {{"url", "image:debian-12"}}}}}}}},
                       {"status",
                        {{"phase", "Running"},
                         {"hypervisor", "node-a"},
                         {"conditions",
                          {{{"type", "Ready"},
                            {"status", "True"},
                            {"reason", "Running"},
                            {"lastTransitionTime", "2026-01-01T00:00:00Z"}}}}}}};
  return kube::Json{{"type", "MODIFIED"}, {"object", object}}.dump() + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  int events = argc > 1 ? std::atoi(argv[1]) : 20000;
  int gets = argc > 2 ? std::atoi(argv[2]) : 2000;
  testing::TestPki pki = testing::makeTestPki();
  std::string line = eventLine(1);
  testing::TlsTestServer server(
      pki, false, [&](const testing::TestHttpRequest& req, testing::TestResponder& out) {
        if (req.target.find("watch=true") == std::string::npos) {
          out.respond(200, R"({"kind":"ConfigMap","metadata":{"name":"x"}})");
          return;
        }
        out.startStream(200);
        std::string batch;
        for (int i = 0; i < events; ++i) {
          batch += line;
          if (batch.size() > 16 * 1024) {
            out.write(batch);
            batch.clear();
          }
        }
        out.write(batch);
      });

  kube::Config config;
  config.server = server.url();
  config.ca_pem = pki.ca_pem;
  config.token = "bench";
  config.source = "bench";
  kube::RestClientOptions options;
  options.qps = 0;
  options.registry = std::make_shared<prometheus::Registry>();
  auto client = kube::newRestClient(config, options);
  if (!client.isOk()) {
    std::fprintf(stderr, "client: %s\n", client.status().toString().c_str());
    return 1;
  }

  std::atomic<int> seen{0};
  auto start = std::chrono::steady_clock::now();
  auto watch = (*client)->watch(kube::kVirtualMachine, "default", {}, [&](kube::WatchEvent&&) {
    ++seen;
    return true;
  });
  if (!watch.isOk()) {
    std::fprintf(stderr, "watch: %s\n", watch.status().toString().c_str());
    return 1;
  }
  core::Status end = (*watch)->wait();
  double watch_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  start = std::chrono::steady_clock::now();
  int ok = 0;
  for (int i = 0; i < gets; ++i) {
    ok += (*client)->get(kube::kConfigMap, "default", "x").isOk() ? 1 : 0;
  }
  double get_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("kube_rest_client_bench (TLS loopback, cpprestsdk, 2 shared cores)\n");
  std::printf("  watch: %d events of %zu bytes in %.3f s = %.0f events/s, %.1f MB/s (end: %s)\n",
              seen.load(), line.size(), watch_s, seen.load() / watch_s,
              seen.load() * static_cast<double>(line.size()) / watch_s / 1e6,
              end.toString().c_str());
  std::printf("  get:   %d/%d sequential GETs in %.3f s = %.0f requests/s, %.2f ms each\n", ok,
              gets, get_s, gets / get_s, get_s * 1000 / gets);
  return seen.load() == events && ok == gets ? 0 : 1;
}
