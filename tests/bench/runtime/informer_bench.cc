// Informer benchmark: memory per cached object vs the object's JSON size, and events/s through
// watch (JSON text parsed as the REST client would) -> decode -> store -> handler -> workqueue ->
// 2 workers. Prints its numbers; asserts nothing about time.
//
// The API server is replaced by an in-process client that serves a prepared list and streams
// prepared watch events as fast as the informer takes them, so the numbers are the runtime's own.
//
// Usage: runtime_informer_bench [objects=10000] [events=30000]
// CPU seconds are printed beside wall time because the 2 cores are often shared.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <malloc.h>
#include <sys/resource.h>

#include "lib/api/codec.h"
#include "lib/runtime/informer.h"
#include "lib/runtime/workqueue.h"

namespace novacron {
namespace {

using nlohmann::json;

size_t heapInUse() {
  return mallinfo2().uordblks;
}

double cpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return tv(usage.ru_utime) + tv(usage.ru_stime);
}

class BenchHandle final : public kube::WatchHandle {
public:
  BenchHandle(const std::vector<std::string>* events, kube::WatchCallback callback)
      : thread_([this, events, cb = std::move(callback)] {
          for (const auto& line : *events) {
            if (stop_) {
              break;
            }
            json e = json::parse(line);
            kube::WatchEvent event;
            event.type = e["type"] == "ADDED" ? kube::WatchEventType::kAdded
                                              : kube::WatchEventType::kModified;
            event.object = std::move(e["object"]);
            if (!cb(std::move(event))) {
              break;
            }
          }
          // Then idle like a quiet watch until stopped.
          while (!stop_) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          done_ = true;
        }) {}
  ~BenchHandle() override {
    stop();
    thread_.join();
  }
  void stop() override { stop_ = true; }
  core::Status wait() override {
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return core::cancelledError("stopped");
  }
  bool done() const override { return done_; }

private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

class BenchClient final : public kube::Client {
public:
  json list_body;
  std::vector<std::string> events;

  core::StatusOr<json> get(const kube::ResourceType&, std::string_view, std::string_view) override {
    return core::notFoundError("bench");
  }
  core::StatusOr<json> list(const kube::ResourceType&, std::string_view,
                            const kube::ListOptions&) override {
    return list_body;
  }
  core::StatusOr<json> create(const kube::ResourceType&, std::string_view, const json&) override {
    return core::unavailableError("bench");
  }
  core::StatusOr<json> update(const kube::ResourceType&, std::string_view, const json&) override {
    return core::unavailableError("bench");
  }
  core::StatusOr<json> updateStatus(const kube::ResourceType&, std::string_view,
                                    const json&) override {
    return core::unavailableError("bench");
  }
  core::StatusOr<json> patch(const kube::ResourceType&, std::string_view, std::string_view,
                             kube::PatchType, const json&, std::string_view) override {
    return core::unavailableError("bench");
  }
  core::Status remove(const kube::ResourceType&, std::string_view, std::string_view,
                      const kube::DeleteOptions&) override {
    return core::unavailableError("bench");
  }
  core::StatusOr<kube::WatchHandlePtr> watch(const kube::ResourceType&, std::string_view,
                                             const kube::WatchOptions&,
                                             kube::WatchCallback callback) override {
    return kube::WatchHandlePtr(std::make_unique<BenchHandle>(&events, std::move(callback)));
  }
};

json sampleVm() {
  const char* src = std::getenv("NOVACRON_SOURCE_DIR");
  const std::string path = std::string(src ? src : NOVACRON_SOURCE_DIR_DEFAULT) +
                           "/config/samples/virtualmachine_cloudinit.yaml";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = api::yamlToJson(text.str());
  if (!parsed.isOk()) {
    std::fprintf(stderr, "cannot read %s: %s\n", path.c_str(), parsed.status().toString().c_str());
    std::exit(1);
  }
  json vm = *parsed;
  // What the API server adds.
  vm["metadata"]["uid"] = "0b6f3c1e-8d1a-4c8e-9d2f-5a6b7c8d9e0f";
  vm["metadata"]["generation"] = 3;
  vm["metadata"]["creationTimestamp"] = "2026-11-21T23:30:00Z";
  vm["metadata"]["finalizers"] = json::array({"novacron.io/domain"});
  vm["status"] = {{"phase", "Running"},
                  {"hypervisor", "hv-0001"},
                  {"observedGeneration", 3},
                  {"conditions", json::array({{{"type", "Ready"},
                                               {"status", "True"},
                                               {"observedGeneration", 3},
                                               {"lastTransitionTime", "2026-11-21T23:31:00Z"},
                                               {"reason", "DomainRunning"},
                                               {"message", "domain is running"}}})}};
  return vm;
}

json vmNumber(const json& base, int i, int64_t rv) {
  json vm = base;
  vm["metadata"]["name"] = "vm-" + std::to_string(i);
  vm["metadata"]["resourceVersion"] = std::to_string(rv);
  return vm;
}

template <typename T>
void run(const char* label, typename runtime::Informer<T>::Decoder decoder, int objects,
         int events) {
  const json base = sampleVm();
  if (!decoder(base).isOk()) {
    std::printf("%s: sample does not decode: %s\n", label,
                decoder(base).status().toString().c_str());
    return;
  }
  auto client = std::make_shared<BenchClient>();
  client->list_body = {{"kind", "VirtualMachineList"},
                       {"apiVersion", "novacron.io/v1alpha1"},
                       {"metadata", {{"resourceVersion", std::to_string(objects)}}},
                       {"items", json::array()}};
  size_t json_bytes = 0;
  for (int i = 0; i < objects; ++i) {
    json vm = vmNumber(base, i, i + 1);
    json_bytes += vm.dump().size();
    client->list_body["items"].push_back(std::move(vm));
  }
  for (int e = 0; e < events; ++e) {
    json vm = vmNumber(base, e % objects, objects + 1 + e);
    vm["status"]["conditions"][0]["message"] = "update " + std::to_string(e);
    client->events.push_back(json{{"type", "MODIFIED"}, {"object", std::move(vm)}}.dump());
  }

  // Baseline: the same objects as plain nlohmann::json trees.
  double tree_bytes = 0;
  {
    malloc_trim(0);
    const size_t start = heapInUse();
    std::vector<json> copy = client->list_body["items"];
    tree_bytes = static_cast<double>(heapInUse() - start) / objects;
  }

  runtime::WorkQueue queue(runtime::WorkQueueOptions{});
  std::atomic<int> seen{0};
  std::atomic<int> processed{0};
  runtime::ReflectorOptions options;
  options.registry = std::make_shared<prometheus::Registry>();
  auto informer =
      std::make_unique<runtime::Informer<T>>(client, kube::kVirtualMachine, decoder, options);
  auto enqueue = runtime::enqueueKeys<T>(queue);
  informer->addEventHandler(enqueue);
  informer->addEventHandler(runtime::EventHandlers<T>{
      [&](const std::string&, const auto&) { ++seen; },
      [&](const std::string&, const auto&, const auto&) { ++seen; }, nullptr});
  std::vector<std::thread> workers;
  for (int w = 0; w < 2; ++w) {
    workers.emplace_back([&] {
      while (auto key = queue.get()) {
        ++processed;
        queue.done(*key);
      }
    });
  }

  malloc_trim(0);
  const size_t before = heapInUse();
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = cpuSeconds();
  informer->start();
  informer->waitForSync(std::chrono::minutes(5));
  const auto t_sync = std::chrono::steady_clock::now();
  const double cpu_sync = cpuSeconds();
  // Synced is signalled from inside the list handling; the list's temporary copy is freed once
  // the reflector moves on to watching.
  while (informer->state() != runtime::ReflectorState::kWatching) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  // Memory once the list is cached (watch events are still streaming; measure before they do
  // much by taking the sample right after sync).
  const size_t after = heapInUse();
  while (seen.load() < objects + events) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const auto t_events = std::chrono::steady_clock::now();
  const double cpu_events = cpuSeconds();
  while (queue.len() > 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const auto t_drained = std::chrono::steady_clock::now();
  informer->stop();
  queue.shutDown();
  for (auto& t : workers) {
    t.join();
  }
  auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  const double per_object = static_cast<double>(after - before) / objects;
  std::printf(
      "%-6s objects=%d  JSON text %zu B/object  plain nlohmann tree %.0f B/object  informer "
      "(cache + index + queued key) %.0f B/object = %.2fx the JSON text\n",
      label, objects, json_bytes / objects, tree_bytes, per_object,
      per_object * objects / static_cast<double>(json_bytes));
  std::printf("%-6s initial list->decode->store: %.3f s wall, %.3f s CPU (%.0f objects/CPU-s)\n",
              label, secs(t_sync - t0), cpu_sync - cpu0, objects / (cpu_sync - cpu0));
  std::printf(
      "%-6s %d watch events: %.3f s wall => %.0f events/s; %.3f s CPU => %.0f "
      "events/CPU-s (parse->decode->store->handlers->queue, 2 workers); queue drained "
      "at %.3f s; %d reconciles after dedup\n",
      label, events, secs(t_events - t_sync), events / secs(t_events - t_sync),
      cpu_events - cpu_sync, events / (cpu_events - cpu_sync), secs(t_drained - t_sync),
      processed.load());
}

}  // namespace
}  // namespace novacron

int main(int argc, char** argv) {
  const int objects = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int events = argc > 2 ? std::atoi(argv[2]) : 30000;
  double load[1] = {0};
  if (getloadavg(load, 1) != 1) {
    load[0] = -1;
  }
  std::printf(
      "runtime informer bench: %u hardware threads (load average %.1f: other work shares them), "
      "2 queue workers, sample config/samples/virtualmachine_cloudinit.yaml plus server metadata "
      "and status\n",
      std::thread::hardware_concurrency(), load[0]);
  novacron::run<nlohmann::json>("json", novacron::runtime::identityDecoder, objects, events);
  novacron::run<novacron::api::VirtualMachine>(
      "typed", novacron::api::fromJson<novacron::api::VirtualMachine>, objects, events);
  return 0;
}
