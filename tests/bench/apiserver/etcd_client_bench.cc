// Benchmark of the dev API server's etcd client (dev-apiserver/etcd_client.h) against real etcd:
// conditional updates (one etcd Txn each, what every API write costs the dev API server) from
// several threads, the way the server's request threads issue them. Prints ops/s and the CPU per
// update of this process (the client side) and of etcd. Asserts nothing about time.
//
//   etcd_client_bench [updates=20000] [threads=8] [value_bytes=2000]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "dev-apiserver/etcd_client.h"
#include "tests/bench/common/proc_cpu.h"
#include "tests/testing/dev_cluster.h"

namespace {

using Clock = std::chrono::steady_clock;

double selfCpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const int updates = argc > 1 ? std::stoi(argv[1]) : 20000;
  const int threads = argc > 2 ? std::stoi(argv[2]) : 8;
  const size_t value_bytes = argc > 3 ? std::stoul(argv[3]) : 2000;

  novacron::testing::DevClusterOptions opts;
  opts.log_level = "warn";
  auto cluster = novacron::testing::DevCluster::start(opts);
  if (!cluster.isOk()) {
    std::fprintf(stderr, "DevCluster: %s\n", cluster.status().toString().c_str());
    return 1;
  }
  auto client = novacron::devapi::EtcdClient::create((*cluster)->etcdEndpoint());
  if (!client.isOk()) {
    std::fprintf(stderr, "etcd client: %s\n", client.status().toString().c_str());
    return 1;
  }
  const std::string value(value_bytes, 'x');
  // One key per thread, created first; each update is conditional on the last revision.
  std::vector<int64_t> revisions(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    auto created = (*client)->create("/bench/key-" + std::to_string(t), value);
    if (!created.isOk() || !created->succeeded) {
      std::fprintf(stderr, "create failed\n");
      return 1;
    }
    revisions[static_cast<size_t>(t)] = created->revision;
  }

  std::atomic<int> errors{0};
  const double cpu_start = selfCpuSeconds();
  const double etcd_start = novacron::bench::processCpuSecondsOf((*cluster)->etcdPid());
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      const std::string key = "/bench/key-" + std::to_string(t);
      int64_t rev = revisions[static_cast<size_t>(t)];
      for (int i = t; i < updates; i += threads) {
        auto r = (*client)->update(key, value, rev);
        if (!r.isOk() || !r->succeeded) {
          ++errors;
          return;
        }
        rev = r->revision;
      }
    });
  }
  for (auto& th : pool) {
    th.join();
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = selfCpuSeconds() - cpu_start;
  const double etcd = novacron::bench::processCpuSecondsOf((*cluster)->etcdPid()) - etcd_start;
  double load[3] = {0, 0, 0};
  ::getloadavg(load, 3);
  std::printf(
      "etcd client: %d conditional updates of %zu bytes from %d threads in %.2f s = %.0f/s; CPU "
      "per update: client %.1f us, etcd %.1f us; errors %d; load %.1f\n",
      updates, value_bytes, threads, wall, updates / wall, cpu * 1e6 / updates,
      etcd * 1e6 / updates, errors.load(), load[0]);
  std::printf("RESULT updates=%d threads=%d ops_per_s=%.0f client_cpu_us=%.1f etcd_cpu_us=%.1f\n",
              updates, threads, updates / wall, cpu * 1e6 / updates, etcd * 1e6 / updates);
  return errors.load() == 0 ? 0 : 1;
}
