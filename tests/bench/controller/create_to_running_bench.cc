// End-to-end placement latency: the controller (in-process) with node-daemon processes on libvirt's
// test driver against the dev API server on real etcd. Creates VMs at a fixed rate and prints
// create->Running p50/p95/p99, plus API writes per VM: the controller's own REST writes (by
// verb) and every write that reached etcd (its revision delta: controller, node-daemons, their
// heartbeats and Events). With the dev API server's audit log it also prints B2: every write from
// create to Running by component (controller, node-daemon) and verb, and the 409s among them.
// Asserts nothing about time. The last line is machine-readable ("RESULT key=value ...") for
// hack/bench.sh.
//   controller_create_to_running_bench [vms=100] [rate_per_s=10] [nodes=3] [vms_per_node=0]
//                                      [settle_s=15]
// vms_per_node > 0: each node-daemon's fake host (libvirt's test driver with a node file) is sized
// for that many VMs; test:///default's 16 CPUs and 3 GiB hold only 48 of these VMs (64 MiB, the
// smallest valid size), so 1,000 VMs on 20 of them left 40 unschedulable. The wait for Running is
// then 10 minutes instead of 2 (B1x). The VMs have a 1 MiB empty disk (the test driver runs no
// guest; sizes only count in the ledger).
// B2 is printed twice: the writes from the first create to the last Running, and again once the
// system has been left alone for settle_s more seconds (0: not waited for), which adds what the
// VMs still caused after that (until the fourteenth pass: the hypervisors' status.allocated
// summaries, written up to 10 s after their ledgers).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <prometheus/registry.h>

#include "controller/controller_app.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/kube/rest_client.h"
#include "tests/bench/common/audit_counts.h"
#include "tests/bench/common/proc_cpu.h"
#include "tests/integration/controller/node_daemon_process.h"
#include "tests/integration/node-daemon/cluster_helpers.h"
#include "tests/testing/bench_cluster.h"

namespace ctl = novacron::controller;
namespace api = novacron::api;
namespace kube = novacron::kube;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kNs = "bench-controller";

api::VirtualMachine makeVm(const std::string& name) {
  api::VirtualMachine vm;
  vm.metadata.namespace_ = kNs;
  vm.metadata.name = name;
  vm.spec.resources.cpus = 1;
  vm.spec.resources.memory = api::Quantity::fromBytes(64LL << 20);
  vm.spec.terminationGracePeriodSeconds = 2;
  api::Disk d;
  d.name = "root";
  d.emptyDisk = api::EmptyDiskSource{};
  d.emptyDisk->size = api::Quantity::fromBytes(1LL << 20);
  vm.spec.disks = {d};
  api::Network n;
  n.name = "default";
  vm.spec.networks = {n};
  return vm;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  auto index = static_cast<std::size_t>(std::lround(p * static_cast<double>(values.size() - 1)));
  return values[std::min(index, values.size() - 1)];
}

// Mean and count of the histogram `family` over the series whose label `label` is `value`.
std::pair<double, double> histogramMean(prometheus::Registry& registry, const std::string& family,
                                        const std::string& label, const std::string& value) {
  double sum = 0;
  double count = 0;
  for (const auto& f : registry.Collect()) {
    if (f.name != family) {
      continue;
    }
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) {
        if (l.name == label && l.value == value) {
          sum += m.histogram.sample_sum;
          count += static_cast<double>(m.histogram.sample_count);
        }
      }
    }
  }
  return {count > 0 ? sum / count : 0, count};
}

// B2 counts the writes of the controller and the node-daemons, without the time-driven ones, which
// come as often with no VM at all: Lease renewals (heartbeats, leader election) and the
// node-daemons' refresh of their Hypervisor's status (host facts and lastHeartbeatTime: written
// when a host fact changed, else every 5 min, node-daemon/hypervisor/registrar.h; the benchmark
// runs no migration, the only other reason a node-daemon writes it). Both are listed, with their
// conflicts.
bool isNovacronComponent(const std::string& component) {
  return component == "novacron-controller" || component == "novacron-node-daemon";
}
bool isLease(const std::string& verb) {
  return verb.find("leases") != std::string::npos;
}
bool isHostStatusRefresh(const std::string& component, const std::string& verb) {
  return component == "novacron-node-daemon" && verb == "PUT hypervisors/status";
}
bool isTimeDriven(const std::string& component, const std::string& verb) {
  return isLease(verb) || isHostStatusRefresh(component, verb);
}

// Writes per VM that B2 counts: all of them, and those to VMs and Hypervisors (not Events).
struct WritesPerVm {
  double all = 0;
  double objects = 0;
};
WritesPerVm writesPerVm(const novacron::bench::AuditCounts& audit, int vms) {
  WritesPerVm out;
  for (const auto& [component, verbs] : audit.writes) {
    if (!isNovacronComponent(component)) {
      continue;
    }
    for (const auto& [verb, n] : verbs) {
      if (isTimeDriven(component, verb)) {
        continue;
      }
      out.all += static_cast<double>(n) / vms;
      if (verb.find("events") == std::string::npos) {
        out.objects += static_cast<double>(n) / vms;
      }
    }
  }
  return out;
}

long long wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  const int vms = argc > 1 ? std::stoi(argv[1]) : 100;
  const double rate = argc > 2 ? std::stod(argv[2]) : 10.0;
  const int nodes = argc > 3 ? std::stoi(argv[3]) : 3;
  const int vms_per_node = argc > 4 ? std::stoi(argv[4]) : 0;
  const int settle_s = argc > 5 ? std::stoi(argv[5]) : 15;

  novacron::testing::BenchClusterOptions bench_options;
  bench_options.scratch_prefix = "controller-bench";
  bench_options.ns = kNs;
  auto bench = novacron::testing::BenchCluster::start(bench_options);
  if (!bench.isOk()) {
    std::fprintf(stderr, "bench cluster: %s\n", bench.status().toString().c_str());
    return 1;
  }
  novacron::testing::DevCluster& cluster = (*bench)->cluster();
  kube::Client& setup = (*bench)->setup();
  const std::string root = (*bench)->scratchDir();
  const std::string audit_file = (*bench)->auditFile();
  std::string libvirt_uri = "test:///default";
  if (vms_per_node > 0) {
    // CPUs for vms_per_node VMs of 1 vCPU at the default cpu overcommit 4, memory to spare.
    const int threads = std::max(1, (vms_per_node + 3) / 4);
    std::ofstream node_file(root + "/node.xml");
    node_file << "<node><cpu><mhz>2000</mhz><model>x86_64</model><nodes>1</nodes><sockets>1"
              << "</sockets><cores>" << threads << "</cores><threads>1</threads></cpu><memory>"
              << (static_cast<long long>(vms_per_node) * 64 + 8192) * 1024 << "</memory></node>\n";
    libvirt_uri = "test://" + root + "/node.xml";
  }
  std::vector<std::unique_ptr<ctl::ctltest::NodeDaemonProcess>> daemons;
  for (int i = 0; i < nodes; ++i) {
    daemons.push_back(std::make_unique<ctl::ctltest::NodeDaemonProcess>());
    const std::string name = "node-" + std::to_string(i);
    std::string dir = root;
    dir.append("/").append(name);
    (void)daemons.back()->start(name, cluster.kubeconfigPath(), dir, libvirt_uri);
  }
  bool registered = novacron::node::testing::pollUntil(
      [&] {
        for (int i = 0; i < nodes; ++i) {
          if (!setup.get(kube::kHypervisor, "", "node-" + std::to_string(i)).isOk()) {
            return false;
          }
        }
        return true;
      },
      60s);
  if (!registered) {
    std::fprintf(stderr, "node-daemons did not register (logs under %s)\n", root.c_str());
    (*bench)->keepScratchDir();
    return 1;
  }

  auto controller_registry = std::make_shared<prometheus::Registry>();
  kube::RestClientOptions rest;
  rest.registry = controller_registry;
  rest.user_agent = "novacron-controller";
  if (std::getenv("BENCH_DEFAULT_QPS") == nullptr) {  // set: the library default (before)
    rest.qps = ctl::kClientQps;
    rest.burst = ctl::kClientBurst;
  }
  auto controller_client = novacron::testing::restClientFor(cluster, rest);
  if (!controller_client.isOk()) {
    std::fprintf(stderr, "controller client: %s\n", controller_client.status().toString().c_str());
    return 1;
  }
  ctl::ControllerAppOptions options;
  options.config.scheduler.policy = ctl::scheduler::Policy::kSpread;
  if (const char* workers = std::getenv("BENCH_VM_WORKERS")) {  // the controller's workers.vm
    options.config.workers.vm = std::max(1, std::atoi(workers));
  }
  options.identity = "bench";
  options.registry = std::make_shared<prometheus::Registry>();
  ctl::ControllerApp app(*controller_client, options);
  app.startLeading();
  novacron::node::testing::pollUntil([&] { return app.ready(); }, 30s);
  // The controller writes each Hypervisor's status once when it first sees it (Schedulable, the
  // ledger's totals): per hypervisor, not per VM, so it must land before the measured window, not
  // race its first creates (it did: 0.001-0.008 writes per VM over 4 at 1,000 VMs).
  const bool hypervisors_seen = novacron::node::testing::pollUntil(
      [&] {
        for (int i = 0; i < nodes; ++i) {
          auto hv = setup.get(kube::kHypervisor, "", "node-" + std::to_string(i));
          if (!hv.isOk() || !hv->contains("/status/allocated"_json_pointer)) {
            return false;
          }
        }
        return true;
      },
      60s);
  if (!hypervisors_seen) {
    std::fprintf(stderr, "the controller did not write every Hypervisor's status within 60 s\n");
  }

  std::mutex mu;
  std::map<std::string, Clock::time_point> created;
  std::map<std::string, long long> created_wall_ms;
  std::map<std::string, double> latency_ms;
  std::map<std::string, long long> running_wall_ms;
  auto watch =
      setup.watch(kube::kVirtualMachine, kNs, kube::WatchOptions{}, [&](kube::WatchEvent&& event) {
        auto vm = api::virtualMachineFromJson(event.object);
        if (!vm.isOk() || vm->status.phase != api::VirtualMachinePhase::kRunning) {
          return true;
        }
        std::lock_guard lock(mu);
        auto it = created.find(vm->metadata.name);
        if (it != created.end() && !latency_ms.contains(vm->metadata.name)) {
          latency_ms[vm->metadata.name] =
              std::chrono::duration<double, std::milli>(Clock::now() - it->second).count();
          running_wall_ms[vm->metadata.name] = wallMs();
        }
        return true;
      });
  auto revision_before = cluster.currentRevision();
  const auto audit_from = novacron::bench::auditSize(audit_file);
  std::map<std::string, double> before_by_method;
  const double writes_before =
      novacron::testing::restWrites(*controller_registry, before_by_method);
  // CPU of every process of the benchmark from the first create to the last Running (the
  // node-daemons' with the tools they ran, e.g. qemu-img), against the whole machine's.
  struct CpuSample {
    double api = 0, etcd = 0, node_daemons = 0, self = 0, machine = 0, load = 0;
  };
  auto sampleCpu = [&] {
    namespace b = novacron::bench;
    CpuSample c{b::processCpuSecondsOf(cluster.apiServerPid()),
                b::processCpuSecondsOf(cluster.etcdPid()),
                0,
                b::processCpuSecondsOf(::getpid()),
                b::machineBusySeconds(),
                b::loadAverage()};
    for (const auto& d : daemons) {
      c.node_daemons += b::processCpuSecondsOf(d->pid(), /*with_children=*/true);
    }
    return c;
  };
  const CpuSample cpu_start = sampleCpu();
  const auto start = Clock::now();
  // A few creating threads, each on its share of the schedule, so that one slow create does not
  // delay the ones after it (the rate stays the rate asked for).
  const int creators = rate > 20 ? 8 : 1;
  std::vector<std::thread> creating;
  creating.reserve(creators);
  for (int c = 0; c < creators; ++c) {
    creating.emplace_back([&, c] {
      for (int i = c; i < vms; i += creators) {
        std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(i / rate)));
        std::string name = "vm-" + std::to_string(i);
        {
          std::lock_guard lock(mu);
          created[name] = Clock::now();
          created_wall_ms[name] = wallMs();
        }
        (void)setup.create(kube::kVirtualMachine, kNs, api::toJson(makeVm(name)));
      }
    });
  }
  for (auto& t : creating) {
    t.join();
  }
  novacron::node::testing::pollUntil(
      [&] {
        std::lock_guard lock(mu);
        return static_cast<int>(latency_ms.size()) == vms;
      },
      vms_per_node > 0 ? std::chrono::milliseconds(600s) : std::chrono::milliseconds(120s));
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const CpuSample cpu_end = sampleCpu();
  auto revision_after = cluster.currentRevision();
  const auto audit = novacron::bench::readAudit(audit_file, audit_from);
  std::map<std::string, double> by_method;
  const double writes =
      novacron::testing::restWrites(*controller_registry, by_method) - writes_before;

  std::vector<double> values;
  {
    std::lock_guard lock(mu);
    for (const auto& [name, ms] : latency_ms) {
      values.push_back(ms);
    }
  }
  std::printf(
      "create->Running: %zu/%d VMs Running, created at %.1f/s on %d node-daemons (libvirt test "
      "driver), wall %.1fs\n",
      values.size(), vms, rate, nodes, elapsed);
  std::printf("  p50=%.0f ms  p95=%.0f ms  p99=%.0f ms  max=%.0f ms\n", percentile(values, 0.5),
              percentile(values, 0.95), percentile(values, 0.99), percentile(values, 1.0));
  std::printf("  controller API writes per VM: %.2f (", writes / vms);
  for (const auto& [method, n] : by_method) {
    std::printf("%s %.2f ", method.c_str(), (n - before_by_method[method]) / vms);
  }
  std::printf(")\n");
  if (revision_before.isOk() && revision_after.isOk()) {
    std::printf(
        "  etcd writes per VM (all components incl. heartbeats and Events during the run): %.2f\n",
        static_cast<double>(*revision_after - *revision_before) / vms);
  }
  {
    const double api = cpu_end.api - cpu_start.api;
    const double etcd = cpu_end.etcd - cpu_start.etcd;
    const double node_daemons = cpu_end.node_daemons - cpu_start.node_daemons;
    const double self = cpu_end.self - cpu_start.self;
    const double total = api + etcd + node_daemons + self;
    const double cores = static_cast<double>(std::thread::hardware_concurrency());
    std::printf(
        "  CPU s, first create to last Running: dev API server %.1f, etcd %.1f, node-daemons "
        "%.1f (with the tools they ran), benchmark with the controller %.1f; total %.1f = %.1f "
        "ms per VM; machine busy %.1f of %.1f CPU s; load average %.1f -> %.1f\n",
        api, etcd, node_daemons, self, total, total * 1000 / vms,
        cpu_end.machine - cpu_start.machine, elapsed * cores, cpu_start.load, cpu_end.load);
  }
  {
    std::vector<std::pair<double, std::string>> slowest;
    std::lock_guard lock(mu);
    slowest.reserve(latency_ms.size());
    for (const auto& [name, ms] : latency_ms) {
      slowest.emplace_back(ms, name);
    }
    std::sort(slowest.rbegin(), slowest.rend());
    std::printf("  slowest:");
    for (std::size_t i = 0; i < std::min<std::size_t>(3, slowest.size()); ++i) {
      std::printf(" %s (%.0f ms, created at %lld)", slowest[i].second.c_str(), slowest[i].first,
                  created_wall_ms[slowest[i].second]);
    }
    std::printf("\n");
  }
  // B2: the writes of the controller and the node-daemons during the run, per VM. The time-driven
  // ones are listed, not counted.
  std::printf(
      "  API writes during the run by component and verb (per VM; conflicts, 409 or failed patch "
      "test 422, in brackets; no-ops, answered without a write, in braces):\n");
  for (const auto& [component, verbs] : audit.writes) {
    if (!isNovacronComponent(component)) {
      continue;
    }
    for (const auto& [verb, n] : verbs) {
      std::printf("    %-22s %-32s %6.2f  [%ld] {%ld}%s\n", component.c_str(), verb.c_str(),
                  static_cast<double>(n) / vms, audit.conflictsOf(component, verb),
                  audit.noopsOf(component, verb),
                  isLease(verb)                          ? "  (heartbeat, not counted)"
                  : isHostStatusRefresh(component, verb) ? "  (host status refresh, not counted)"
                                                         : "");
    }
  }
  const WritesPerVm during = writesPerVm(audit, vms);
  std::printf(
      "  writes per VM (controller + node-daemon, without the time-driven): %.2f; of them to VMs "
      "and Hypervisors: %.3f (the rest: Events); conflicts: %ld\n",
      during.all, during.objects, audit.total_conflicts);
  {
    // Where the controller's VM keys waited: in its work queue (workers busy) or in the
    // reconcile itself (API round trips), averaged over every key processed during the run.
    auto [wait, adds] = histogramMean(*options.registry, "workqueue_queue_duration_seconds", "name",
                                      "virtualmachine");
    auto [work, done] = histogramMean(*options.registry, "workqueue_work_duration_seconds", "name",
                                      "virtualmachine");
    std::printf(
        "  controller VM queue: %.0f keys processed, mean wait in queue %.1f ms, mean "
        "reconcile %.1f ms\n",
        done, wait * 1000, work * 1000);
    // Hypervisor reconciles read every VM bound there (400 in B1x): how many the run cost.
    auto [hv_work, hv_done] =
        histogramMean(*options.registry, "workqueue_work_duration_seconds", "name", "hypervisor");
    std::printf("  controller hypervisor queue: %.0f reconciles (%.2f per VM), mean %.1f ms\n",
                hv_done, hv_done / vms, hv_work * 1000);
  }
  // B2 until settled: writes these VMs caused after the last one was Running (Events, a ledger
  // repair, a late status) belong to them too. Counted again once the system has been left alone
  // for `settle_s`.
  WritesPerVm until_settled = during;
  if (settle_s > 0) {
    std::this_thread::sleep_for(std::chrono::seconds(settle_s));
    const auto settled = novacron::bench::readAudit(audit_file, audit_from);
    until_settled = writesPerVm(settled, vms);
    std::printf("  API writes in the %d s after the last Running (per VM, [conflicts]):", settle_s);
    bool any = false;
    for (const auto& [component, verbs] : settled.writes) {
      if (!isNovacronComponent(component)) {
        continue;
      }
      for (const auto& [verb, n] : verbs) {
        const long later = n - novacron::bench::AuditCounts::countOf(audit.writes, component, verb);
        if (later > 0 && !isTimeDriven(component, verb)) {
          std::printf("%s %s %s %.2f [%ld]", any ? "," : "", component.c_str(), verb.c_str(),
                      static_cast<double>(later) / vms,
                      settled.conflictsOf(component, verb) - audit.conflictsOf(component, verb));
          any = true;
        }
      }
    }
    std::printf("%s\n", any ? "" : " none");
    std::printf(
        "  writes per VM until settled (controller + node-daemon, without the time-driven): %.2f; "
        "to VMs and Hypervisors: %.3f\n",
        until_settled.all, until_settled.objects);
  }
  std::printf(
      "RESULT vms=%d rate=%.1f nodes=%d running=%zu p50_ms=%.0f p95_ms=%.0f p99_ms=%.0f "
      "max_ms=%.0f conflicts=%ld writes_per_vm=%.2f object_writes_per_vm=%.2f "
      "writes_settled_per_vm=%.2f object_writes_settled_per_vm=%.2f settle_s=%d wall_s=%.1f\n",
      vms, rate, nodes, values.size(), percentile(values, 0.5), percentile(values, 0.95),
      percentile(values, 0.99), percentile(values, 1.0), audit.total_conflicts, during.all,
      during.objects, until_settled.all, until_settled.objects, settle_s, elapsed);
  {
    // Per VM: wall-clock ms before its create was sent and when the benchmark saw it Running, to
    // join with the audit log's timestamps (kept with NOVACRON_KEEP_TEST_DIRS=1).
    std::lock_guard lock(mu);
    std::ofstream timeline(root + "/timeline.tsv");
    for (const auto& [name, ms] : created_wall_ms) {
      auto running = running_wall_ms.find(name);
      timeline << name << '\t' << ms << '\t'
               << (running == running_wall_ms.end() ? 0 : running->second) << '\n';
    }
  }
  if (watch.isOk()) {
    (*watch)->stop();
  }
  app.stopLeading();
  daemons.clear();  // before the BenchCluster removes their directories
  return 0;
}
