// B3 (issue 15): placement throughput through the API, reserve + bind + label, not just the pure
// scheduler. The dev API server on real etcd holds `hypervisors` Hypervisors (registered with
// status and a heartbeat Lease, as node-daemons do) and `vms` unbound VirtualMachines; then the
// controller (in-process) starts and the benchmark counts, from a watch, how fast VMs get bound
// (status.hypervisor set and the label written). No node-daemons: this is the controller's side
// only.
//
// Phases: (1) the Hypervisors, Leases and a first controller that writes their status once (as a
// running cluster would have it), stopped; (2) the VMs, created while no controller runs; (3) a
// fresh controller: its informers list everything, then it places. Printed: the time to list and
// sync, to bind all, VMs bound per second from the first binding to the last, the controller's API
// writes per VM by verb and the conflicts (from the dev API server's audit log).
// Asserts nothing about time. The last line is machine-readable ("RESULT key=value ...").
//   controller_placement_throughput_bench [hypervisors=5000] [vms=10000] [vm_workers=32]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include <prometheus/registry.h>
#include <sys/resource.h>

#include "controller/controller_app.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/kube/rest_client.h"
#include "tests/bench/common/audit_counts.h"
#include "tests/bench/common/etcd_metrics.h"
#include "tests/bench/common/proc_cpu.h"
#include "tests/integration/node-daemon/cluster_helpers.h"
#include "tests/testing/bench_cluster.h"
#include "tests/unit/controller/cluster_objects.h"

namespace ctl = novacron::controller;
namespace api = novacron::api;
namespace kube = novacron::kube;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kNs = "bench-placement";

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// CPU seconds (user + system) this process has used so far: the controller, and the benchmark's
// own watch, which costs little beside it.
double processCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

// Runs fn(i) for i in [0, n) on `threads` threads.
void parallelFor(int n, int threads, const std::function<void(int)>& fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        fn(i);
      }
    });
  }
  for (auto& t : pool) {
    t.join();
  }
}

std::string hypervisorName(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "hv-%05d", i);
  return name;
}

std::string nowRfc3339() {
  return api::formatTimestamp(api::toTimestamp(std::chrono::system_clock::now()));
}

kube::ClientPtr restClient(const novacron::testing::DevCluster& cluster, const std::string& agent,
                           double qps, const std::shared_ptr<prometheus::Registry>& registry) {
  kube::RestClientOptions rest;
  rest.qps = qps;
  rest.burst = static_cast<int>(qps);
  rest.user_agent = agent;
  rest.registry = registry;
  auto client = novacron::testing::restClientFor(cluster, rest);
  return client.isOk() ? *client : nullptr;
}

std::unique_ptr<ctl::ControllerApp> startController(const kube::ClientPtr& client, int workers,
                                                    const std::string& identity) {
  ctl::ControllerAppOptions options;
  options.config.scheduler.policy = ctl::scheduler::Policy::kSpread;
  options.config.workers.vm = workers;
  options.config.leader_election.enabled = false;
  // No node-daemon renews the Leases here: keep them fresh for the whole run.
  options.config.health.heartbeat_timeout = std::chrono::hours(1);
  options.identity = identity;
  options.registry = std::make_shared<prometheus::Registry>();
  auto app = std::make_unique<ctl::ControllerApp>(client, options);
  app->startLeading();
  return app;
}

}  // namespace

int main(int argc, char** argv) {
  const int hypervisors = argc > 1 ? std::stoi(argv[1]) : 5000;
  const int vms = argc > 2 ? std::stoi(argv[2]) : 10000;
  const int workers = argc > 3 ? std::stoi(argv[3]) : 32;

  novacron::testing::BenchClusterOptions bench_options;
  bench_options.scratch_prefix = "placement-bench";
  bench_options.ns = kNs;
  bench_options.log_level = "warn";
  bench_options.setup_qps = 100000;
  auto bench = novacron::testing::BenchCluster::start(bench_options);
  if (!bench.isOk()) {
    std::fprintf(stderr, "bench cluster: %s\n", bench.status().toString().c_str());
    return 1;
  }
  const novacron::testing::DevCluster& cluster = (*bench)->cluster();
  const kube::ClientPtr& setup = (*bench)->setupClient();
  const std::string audit_file = (*bench)->auditFile();

  // (1) The fleet, as node-daemons register it: Hypervisor, its status, its heartbeat Lease.
  const auto setup_start = Clock::now();
  std::atomic<int> failed{0};
  parallelFor(hypervisors, 16, [&](int i) {
    const std::string name = hypervisorName(i);
    auto hv = ctl::ctltest::makeHypervisor(name, 64, 256 * ctl::ctltest::kGi);
    if (!ctl::ctltest::registerHypervisor(*setup, hv).isOk() ||
        !setup
             ->create(kube::kLease, "novacron-node-lease",
                      ctl::ctltest::makeLease(name, nowRfc3339()))
             .isOk()) {
      ++failed;
    }
  });
  std::printf("setup: %d hypervisors registered in %.1f s (%d failed)\n", hypervisors,
              seconds(Clock::now() - setup_start), failed.load());
  {
    // A first controller writes every Hypervisor's status once, then goes away.
    auto warm_client =
        restClient(cluster, "novacron-controller", 5000, std::make_shared<prometheus::Registry>());
    auto warm = startController(warm_client, workers, "bench-warmup");
    const auto warm_start = Clock::now();
    novacron::node::testing::pollUntil(
        [&] {
          auto list = setup->list(kube::kHypervisor, "", {});
          if (!list.isOk()) {
            return false;
          }
          int done = 0;
          for (const auto& item : (*list)["items"]) {
            done += item.contains("/status/allocated"_json_pointer) ? 1 : 0;
          }
          return done == hypervisors;
        },
        600s);
    std::printf("setup: the controller wrote every Hypervisor's status in %.1f s\n",
                seconds(Clock::now() - warm_start));
    warm->stopLeading();
  }

  // (2) The VMs, while no controller runs.
  const auto create_start = Clock::now();
  parallelFor(vms, 16, [&](int i) {
    auto vm = ctl::ctltest::makeVm(kNs, "vm-" + std::to_string(i), 1, 1 * ctl::ctltest::kGi);
    if (!setup->create(kube::kVirtualMachine, kNs, api::toJson(vm)).isOk()) {
      ++failed;
    }
  });
  std::printf("setup: %d VMs created in %.1f s (%d failed in all)\n", vms,
              seconds(Clock::now() - create_start), failed.load());

  // (3) A fresh controller places them; a watch sees each placement end: the label, the last of
  // its writes, on a VM whose status names the hypervisor. The watch selects labelled VMs only, so
  // the benchmark, on the very cores it measures, decodes one event per VM instead of every one
  // (the binding's status write too).
  std::mutex mu;
  std::set<std::string> bound;
  Clock::time_point first_bound{};
  Clock::time_point last_bound{};
  kube::WatchOptions placed;
  placed.label_selector = std::string(novacron::api::kHypervisorLabel);
  auto watch = setup->watch(kube::kVirtualMachine, kNs, placed, [&](kube::WatchEvent&& event) {
    const auto& status = event.object["status"];
    if (!status.is_object() || !status.contains("hypervisor")) {
      return true;
    }
    std::lock_guard lock(mu);
    if (bound.insert(event.object["metadata"].value("name", "")).second) {
      last_bound = Clock::now();
      if (bound.size() == 1) {
        first_bound = last_bound;
      }
    }
    return true;
  });
  const auto audit_from = novacron::bench::auditSize(audit_file);
  auto registry = std::make_shared<prometheus::Registry>();
  auto client = restClient(cluster, "novacron-controller", 100000, registry);
  const auto start = Clock::now();
  const double cpu_start = processCpuSeconds();
  const auto etcd_before = novacron::bench::etcdCounters(cluster.etcdEndpoint());
  const double api_cpu_start = novacron::bench::processCpuSecondsOf(cluster.apiServerPid());
  const double etcd_cpu_start = novacron::bench::processCpuSecondsOf(cluster.etcdPid());
  auto app = startController(client, workers, "bench");
  novacron::node::testing::pollUntil([&] { return app->ready(); }, 300s);
  const auto synced = Clock::now();
  novacron::node::testing::pollUntil(
      [&] {
        std::lock_guard lock(mu);
        return static_cast<int>(bound.size()) == vms;
      },
      600s);
  const auto end = Clock::now();
  const double cpu_ms_per_vm = (processCpuSeconds() - cpu_start) * 1000 / vms;
  const double api_cpu_ms_per_vm =
      (novacron::bench::processCpuSecondsOf(cluster.apiServerPid()) - api_cpu_start) * 1000 / vms;
  const double etcd_cpu_ms_per_vm =
      (novacron::bench::processCpuSecondsOf(cluster.etcdPid()) - etcd_cpu_start) * 1000 / vms;
  const auto etcd_after = novacron::bench::etcdCounters(cluster.etcdEndpoint());
  std::map<std::string, double> by_method;
  const double writes = novacron::testing::restWrites(*registry, by_method);
  app->stopLeading();
  if (watch.isOk()) {
    (*watch)->stop();
  }
  const auto audit = novacron::bench::readAudit(audit_file, audit_from);

  std::lock_guard lock(mu);
  const double placing = seconds(last_bound - first_bound);
  const double rate = placing > 0 ? static_cast<double>(bound.size()) / placing : 0;
  std::printf(
      "placement through the API: %zu/%d VMs bound on %d hypervisors by %d VM workers; informers "
      "listed and synced in %.1f s, first binding %.1f s after start, all bound %.1f s after "
      "start\n",
      bound.size(), vms, hypervisors, workers, seconds(synced - start),
      seconds(first_bound - start), seconds(end - start));
  std::printf("  %.0f VMs bound per second (first binding to last)\n", rate);
  std::printf(
      "  controller CPU: %.2f ms per VM (user + system, listing included), i.e. %.0f VMs/s per "
      "core were it alone; the rest of the machine ran the dev API server and etcd\n",
      cpu_ms_per_vm, cpu_ms_per_vm > 0 ? 1000 / cpu_ms_per_vm : 0);
  const double all_ms = cpu_ms_per_vm + api_cpu_ms_per_vm + etcd_cpu_ms_per_vm;
  std::printf(
      "  CPU per VM from the controller's start to the last binding: controller %.2f ms, dev API "
      "server %.2f ms, etcd %.2f ms; together %.2f ms, i.e. at most %.0f VMs/s on 2 idle cores\n",
      cpu_ms_per_vm, api_cpu_ms_per_vm, etcd_cpu_ms_per_vm, all_ms, all_ms > 0 ? 2000 / all_ms : 0);
  std::printf("  etcd per VM (requests by gRPC method, reads, writes, raft proposals, fsyncs):\n");
  novacron::bench::printEtcdCounterDeltas(etcd_before, etcd_after, vms);
  double load[3] = {0, 0, 0};
  if (::getloadavg(load, 3) == 3) {
    std::printf("  load average at the end: %.1f %.1f %.1f\n", load[0], load[1], load[2]);
  }
  std::printf("  controller API writes per VM: %.2f (", writes / vms);
  for (const auto& [method, n] : by_method) {
    std::printf("%s %.2f ", method.c_str(), n / vms);
  }
  std::printf(
      ")\n  API writes by component and verb (per VM; conflicts in brackets; no-ops, answered "
      "without a write, in braces):\n");
  for (const auto& [component, verbs] : audit.writes) {
    for (const auto& [verb, n] : verbs) {
      const long conflicts = audit.conflictsOf(component, verb);
      std::printf("    %-22s %-32s %6.2f  [%ld] {%ld}\n", component.c_str(), verb.c_str(),
                  static_cast<double>(n) / vms, conflicts, audit.noopsOf(component, verb));
    }
  }
  std::printf(
      "RESULT hypervisors=%d vms=%d workers=%d bound=%zu vms_per_s=%.0f sync_s=%.1f total_s=%.1f "
      "conflicts=%ld controller_writes_per_vm=%.2f controller_cpu_ms_per_vm=%.2f "
      "apiserver_cpu_ms_per_vm=%.2f etcd_cpu_ms_per_vm=%.2f\n",
      hypervisors, vms, workers, bound.size(), rate, seconds(synced - start), seconds(end - start),
      audit.total_conflicts, writes / vms, cpu_ms_per_vm, api_cpu_ms_per_vm, etcd_cpu_ms_per_vm);
  return 0;
}
