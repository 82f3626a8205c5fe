// Benchmark of novacron-dev-apiserver on a DevCluster (etcd + the server, HTTPS + token):
// create/update/get throughput of a custom resource (schema admission included) from several
// client threads, then watch fan-out latency: W concurrent watchers on one collection, E updates,
// time from the update's response to each watcher receiving the event.
// Prints numbers and conditions; asserts nothing about time.
//
//   apiserver_bench [--objects=2000] [--threads=8] [--watchers=1000] [--events=20]
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include "tests/testing/dev_cluster.h"
#include "tests/testing/kube_http.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using novacron::testing::DevCluster;
using novacron::testing::KubeHttp;

const char* kCrd = R"({
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "benches.bench.novacron.io"},
  "spec": {"group": "bench.novacron.io", "scope": "Namespaced",
    "names": {"plural": "benches", "singular": "bench", "kind": "Bench"},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "subresources": {"status": {}},
      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
          "size": {"type": "integer", "minimum": 0},
          "name": {"type": "string", "maxLength": 63},
          "tags": {"type": "array", "items": {"type": "string"}}}},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}})";

const std::string kPath = "/apis/bench.novacron.io/v1/namespaces/default/benches";

double percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  size_t idx = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[idx];
}

void report(const char* what, size_t ops, double seconds, const std::vector<double>& lat_ms) {
  std::printf("%-8s %6zu ops in %6.2f s = %8.0f ops/s   latency ms p50 %6.2f p99 %6.2f max %6.2f\n",
              what, ops, seconds, static_cast<double>(ops) / seconds, percentile(lat_ms, 0.5),
              percentile(lat_ms, 0.99), percentile(lat_ms, 1.0));
}

json bench(const std::string& name, int size) {
  return {{"apiVersion", "bench.novacron.io/v1"},
          {"kind", "Bench"},
          {"metadata", {{"name", name}, {"labels", {{"app", "bench"}}}}},
          {"spec", {{"size", size}, {"name", name}, {"tags", {"a", "b", "c"}}}}};
}

int flag(int argc, char** argv, const std::string& name, int def) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--" + name + "=", 0) == 0) {
      return std::stoi(a.substr(name.size() + 3));
    }
  }
  return def;
}

// Runs fn(i) for i in [0, n) on `threads` threads; returns per-op latencies (ms) and wall time.
template <typename Fn>
std::pair<std::vector<double>, double> runParallel(int n, int threads, Fn fn) {
  std::vector<std::vector<double>> lat(static_cast<size_t>(threads));
  std::atomic<int> next{0};
  auto start = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      int i;
      while ((i = next++) < n) {
        auto s = Clock::now();
        fn(i);
        lat[static_cast<size_t>(t)].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - s).count());
      }
    });
  }
  for (auto& t : ts) {
    t.join();
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& v : lat) {
    all.insert(all.end(), v.begin(), v.end());
  }
  return {all, secs};
}

}  // namespace

int main(int argc, char** argv) {
  const int objects = flag(argc, argv, "objects", 2000);
  const int threads = flag(argc, argv, "threads", 8);
  const int watchers = flag(argc, argv, "watchers", 1000);
  const int events = flag(argc, argv, "events", 20);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  novacron::testing::DevClusterOptions opts;
  opts.log_level = "warn";
  auto cluster = DevCluster::start(opts);
  if (!cluster.isOk()) {
    std::fprintf(stderr, "DevCluster: %s\n", cluster.status().toString().c_str());
    return 1;
  }
  KubeHttp http("127.0.0.1", (*cluster)->apiServerPort(), (*cluster)->caCertPath(),
                (*cluster)->token());
  auto crd = http.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", kCrd);
  if (!crd.isOk() || crd->code != 201) {
    std::fprintf(stderr, "creating the CRD failed\n");
    return 1;
  }
  std::printf(
      "novacron-dev-apiserver benchmark: %u cores, %d client threads, %d objects, "
      "etcd 3.4 on loopback, HTTPS with bearer token, custom resource with schema\n",
      std::thread::hardware_concurrency(), threads, objects);

  std::vector<std::string> rvs(static_cast<size_t>(objects));
  std::atomic<int> errors{0};
  auto [create_lat, create_s] = runParallel(objects, threads, [&](int i) {
    auto r = http.request("POST", kPath, bench("b-" + std::to_string(i), i).dump());
    if (!r.isOk() || r->code != 201) {
      ++errors;
      return;
    }
    rvs[static_cast<size_t>(i)] = r->json()["metadata"]["resourceVersion"];
  });
  report("create", static_cast<size_t>(objects), create_s, create_lat);

  auto [update_lat, update_s] = runParallel(objects, threads, [&](int i) {
    json obj = bench("b-" + std::to_string(i), i + 1);
    obj["metadata"]["resourceVersion"] = rvs[static_cast<size_t>(i)];
    auto r = http.request("PUT", kPath + "/b-" + std::to_string(i), obj.dump());
    if (!r.isOk() || r->code != 200) {
      ++errors;
    }
  });
  report("update", static_cast<size_t>(objects), update_s, update_lat);

  auto [get_lat, get_s] = runParallel(objects, threads, [&](int i) {
    auto r = http.request("GET", kPath + "/b-" + std::to_string(i));
    if (!r.isOk() || r->code != 200) {
      ++errors;
    }
  });
  report("get", static_cast<size_t>(objects), get_s, get_lat);

  auto list_start = Clock::now();
  auto list = http.request("GET", kPath);
  double list_ms = std::chrono::duration<double, std::milli>(Clock::now() - list_start).count();
  if (!list.isOk() || list->code != 200) {
    std::fprintf(stderr, "list failed\n");
    return 1;
  }
  json listed = list->json();
  std::printf("list     %6zu items in %.1f ms\n", listed["items"].size(), list_ms);

  // Watch fan-out.
  auto fan = http.request("POST", kPath, bench("fan", 0).dump());
  if (!fan.isOk() || fan->code != 201) {
    std::fprintf(stderr, "creating the fan-out object failed\n");
    return 1;
  }
  std::string from = fan->json()["metadata"]["resourceVersion"];
  std::mutex mu;
  std::condition_variable cv;
  std::map<int, Clock::time_point> sent;  // event index -> time the update returned
  std::vector<double> fan_lat;
  std::map<int, int> received;
  std::vector<std::unique_ptr<novacron::testing::WatchStream>> streams(
      static_cast<size_t>(watchers));
  auto connect_start = Clock::now();
  auto [conn_lat, conn_s] = runParallel(watchers, 16, [&](int i) {
    auto w = http.watch(
        kPath + "?watch=true&fieldSelector=metadata.name%3Dfan&resourceVersion=" + from,
        "application/json", [&](const std::string& line) {
          auto now = Clock::now();
          auto e = json::parse(line, nullptr, false);
          if (e.is_discarded() || e["type"] != "MODIFIED") {
            return;
          }
          int idx = e["object"]["spec"]["size"].get<int>();
          std::lock_guard<std::mutex> lock(mu);
          auto it = sent.find(idx);
          if (it != sent.end()) {
            fan_lat.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
          }
          received[idx]++;
          cv.notify_all();
        });
    if (w.isOk()) {
      streams[static_cast<size_t>(i)] = std::move(*w);
    } else {
      ++errors;
    }
  });
  (void)conn_lat;
  std::printf("watch    %6d watchers connected in %.2f s\n", watchers,
              std::chrono::duration<double>(Clock::now() - connect_start).count());
  (void)conn_s;
  std::vector<double> complete_ms;
  int missing = 0;
  for (int e = 1; e <= events; ++e) {
    json patch = {{"spec", {{"size", e}}}};
    auto t0 = Clock::now();
    {
      std::lock_guard<std::mutex> lock(mu);
      sent[e] = t0;  // refined below once the write returns
    }
    auto r = http.request("PATCH", kPath + "/fan", patch.dump(), "application/merge-patch+json");
    if (!r.isOk() || r->code != 200) {
      ++errors;
      continue;
    }
    std::unique_lock<std::mutex> lock(mu);
    bool all = cv.wait_for(lock, std::chrono::seconds(10), [&] { return received[e] >= watchers; });
    complete_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (!all) {
      missing += watchers - received[e];
    }
  }
  std::printf(
      "fan-out  %d watchers x %d events: delivery latency ms (from the PATCH request) "
      "p50 %.2f p90 %.2f p99 %.2f max %.2f; all-watchers-received ms p50 %.2f max %.2f; "
      "missing %d\n",
      watchers, events, percentile(fan_lat, 0.5), percentile(fan_lat, 0.9),
      percentile(fan_lat, 0.99), percentile(fan_lat, 1.0), percentile(complete_ms, 0.5),
      percentile(complete_ms, 1.0), missing);
  for (auto& s : streams) {
    if (s) {
      s->close();
    }
  }
  streams.clear();
  std::printf("errors   %d\n", errors.load());
  return errors.load() == 0 && missing == 0 ? 0 : 1;
}
