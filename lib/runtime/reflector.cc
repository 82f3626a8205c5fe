#include "lib/runtime/reflector.h"

#include <algorithm>
#include <random>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <spdlog/spdlog.h>

#include "lib/kube/list_items.h"

namespace novacron::runtime {
namespace {

using nlohmann::json;

constexpr ReflectorState kAllStates[] = {ReflectorState::kIdle, ReflectorState::kListing,
                                         ReflectorState::kWatching, ReflectorState::kBackoff,
                                         ReflectorState::kStopped};

std::string resourceVersionOf(const json& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) {
    return {};
  }
  auto rv = meta->find("resourceVersion");
  return rv != meta->end() && rv->is_string() ? rv->get<std::string>() : std::string();
}

// List items come without apiVersion/kind; decoders and handlers expect whole objects.
void fillTypeMeta(json& object, const kube::ResourceType& resource) {
  if (!object.is_object()) {
    return;
  }
  if (!object.contains("apiVersion")) {
    object["apiVersion"] = resource.apiVersion();
  }
  if (!object.contains("kind")) {
    object["kind"] = resource.kind;
  }
}

}  // namespace

std::string_view reflectorStateName(ReflectorState state) {
  switch (state) {
  case ReflectorState::kIdle:
    return "Idle";
  case ReflectorState::kListing:
    return "Listing";
  case ReflectorState::kWatching:
    return "Watching";
  case ReflectorState::kBackoff:
    return "Backoff";
  case ReflectorState::kStopped:
    return "Stopped";
  }
  return "Unknown";
}

struct Reflector::Metrics {
  Metrics(prometheus::Registry& registry, const std::string& resource) {
    auto& state_family = prometheus::BuildGauge()
                             .Name("novacron_reflector_state")
                             .Help("1 for the reflector's current state, 0 for the others")
                             .Register(registry);
    for (ReflectorState s : kAllStates) {
      states.push_back(&state_family.Add(
          {{"resource", resource}, {"state", std::string(reflectorStateName(s))}}));
    }
    lists = &prometheus::BuildCounter()
                 .Name("novacron_reflector_lists_total")
                 .Help("Successful (re)lists")
                 .Register(registry)
                 .Add({{"resource", resource}});
    auto& restarts = prometheus::BuildCounter()
                         .Name("novacron_reflector_watch_restarts_total")
                         .Help("Watches that ended, by reason (ended, gone, error)")
                         .Register(registry);
    ended = &restarts.Add({{"resource", resource}, {"reason", "ended"}});
    gone = &restarts.Add({{"resource", resource}, {"reason", "gone"}});
    error = &restarts.Add({{"resource", resource}, {"reason", "error"}});
  }
  std::vector<prometheus::Gauge*> states;
  prometheus::Counter* lists;
  prometheus::Counter* ended;
  prometheus::Counter* gone;
  prometheus::Counter* error;
};

Reflector::Reflector(kube::ClientPtr client, kube::ResourceType resource, ReflectorSink& sink,
                     ReflectorOptions options)
    : client_(std::move(client)),
      resource_(std::move(resource)),
      sink_(sink),
      options_(std::move(options)) {
  auto registry = options_.registry ? options_.registry : metrics::defaultRegistry();
  metrics_ = std::make_unique<Metrics>(*registry, resource_.qualifiedName());
  setState(ReflectorState::kIdle);
}

Reflector::~Reflector() {
  stop();
}

void Reflector::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stop_) {
    return;
  }
  thread_ = std::thread([this] { run(); });
}

void Reflector::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    if (current_ != nullptr) {
      current_->stop();
    }
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
  }
  setState(ReflectorState::kStopped);
}

std::string Reflector::lastSyncResourceVersion() const {
  std::lock_guard lock(mu_);
  return resource_version_;
}

void Reflector::setResourceVersion(std::string rv) {
  std::lock_guard lock(mu_);
  resource_version_ = std::move(rv);
}

void Reflector::setState(ReflectorState state) {
  state_.store(state);
  for (size_t i = 0; i < std::size(kAllStates); ++i) {
    metrics_->states[i]->Set(kAllStates[i] == state ? 1 : 0);
  }
}

bool Reflector::backoff(core::ExponentialBackoff& backoff) {
  setState(ReflectorState::kBackoff);
  const auto delay = backoff.next();
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, delay, [this] { return stop_; });
}

void Reflector::run() {
  core::ExponentialBackoff backoff_delays(options_.backoff);
  bool need_list = true;
  auto stopped = [this] {
    std::lock_guard lock(mu_);
    return stop_;
  };
  while (!stopped()) {
    if (need_list) {
      setState(ReflectorState::kListing);
      core::Status listed = listOnce();
      if (!listed.isOk()) {
        spdlog::warn("reflector {}: list failed: {}", resource_.qualifiedName(), listed.toString());
        if (!backoff(backoff_delays)) {
          break;
        }
        continue;
      }
      need_list = false;
    }
    setState(ReflectorState::kWatching);
    const auto started = std::chrono::steady_clock::now();
    bool saw_events = false;
    core::Status ended = watchOnce(saw_events);
    if (stopped()) {
      break;
    }
    if (ended.isOk()) {
      metrics_->ended->Increment();
      // A watch that lived a while or delivered something was healthy; one that ends at once
      // without events (a server shutting down) must not make us spin.
      if (saw_events || std::chrono::steady_clock::now() - started > std::chrono::seconds(1)) {
        backoff_delays.reset();
      } else if (!backoff(backoff_delays)) {
        break;
      }
      continue;
    }
    if (ended.code() == core::StatusCode::kGone) {
      metrics_->gone->Increment();
      spdlog::info("reflector {}: resourceVersion {} expired, relisting", resource_.qualifiedName(),
                   lastSyncResourceVersion());
      need_list = true;
      continue;
    }
    metrics_->error->Increment();
    spdlog::warn("reflector {}: watch failed: {}", resource_.qualifiedName(), ended.toString());
    if (!backoff(backoff_delays)) {
      break;
    }
  }
  setState(ReflectorState::kStopped);
}

core::Status Reflector::listOnce() {
  kube::ListOptions list_options;
  list_options.label_selector = options_.label_selector;
  list_options.field_selector = options_.field_selector;
  list_options.limit = options_.page_size;
  std::string rv;
  bool restarted = false;
  // Every list starts with an empty first page (the sink forgets a failed list's keys), then
  // hands each item over as soon as the client parsed it (kube::listItems: one item's JSON tree
  // alive at a time, not a page's).
  sink_.listPage({}, true);
  auto on_item = [this](json&& item) {
    fillTypeMeta(item, resource_);
    std::vector<json> one;
    one.push_back(std::move(item));
    sink_.listPage(std::move(one), false);
  };
  while (true) {
    auto page = kube::listItems(*client_, resource_, options_.ns, list_options, on_item);
    if (!page.isOk()) {
      // A continue token can expire between pages: start over once with a fresh list.
      if (page.status().code() == core::StatusCode::kGone && !list_options.continue_token.empty() &&
          !restarted) {
        restarted = true;
        list_options.continue_token.clear();
        sink_.listPage({}, true);
        continue;
      }
      return page.status().withContext("listing " + resource_.qualifiedName());
    }
    json& body = *page;
    rv = resourceVersionOf(body);
    std::string next;
    if (auto meta = body.find("metadata"); meta != body.end() && meta->is_object()) {
      if (auto cont = meta->find("continue"); cont != meta->end() && cont->is_string()) {
        next = cont->get<std::string>();
      }
    }
    if (next.empty()) {
      break;
    }
    list_options.continue_token = std::move(next);
  }
  setResourceVersion(rv);
  ++lists_;
  metrics_->lists->Increment();
  sink_.listDone(rv);
  return core::okStatus();
}

core::Status Reflector::watchOnce(bool& saw_events) {
  kube::WatchOptions watch_options;
  watch_options.resource_version = lastSyncResourceVersion();
  watch_options.allow_watch_bookmarks = true;
  watch_options.label_selector = options_.label_selector;
  watch_options.field_selector = options_.field_selector;
  {
    // Spread watch renewals of many reflectors, as client-go does.
    thread_local std::mt19937 rng(std::random_device{}());
    const int64_t base = options_.watch_timeout.count();
    watch_options.timeout_seconds =
        base + static_cast<int64_t>(std::uniform_int_distribution<int64_t>(0, base)(rng));
  }
  // Last time the watch delivered anything (steady clock, ns), for the idle watchdog.
  auto last_activity = std::make_shared<std::atomic<int64_t>>(
      std::chrono::steady_clock::now().time_since_epoch().count());
  auto callback = [this, &saw_events, last_activity](kube::WatchEvent&& event) {
    last_activity->store(std::chrono::steady_clock::now().time_since_epoch().count());
    switch (event.type) {
    case kube::WatchEventType::kBookmark:
      if (std::string rv = resourceVersionOf(event.object); !rv.empty()) {
        setResourceVersion(std::move(rv));
      }
      return true;
    case kube::WatchEventType::kError:
      return true;  // the watch ends with the status it carries
    case kube::WatchEventType::kAdded:
    case kube::WatchEventType::kModified:
    case kube::WatchEventType::kDeleted: {
      saw_events = true;
      std::string rv = resourceVersionOf(event.object);
      fillTypeMeta(event.object, resource_);
      sink_.apply(event.type, std::move(event.object));
      if (!rv.empty()) {
        setResourceVersion(std::move(rv));
      }
      return true;
    }
    }
    return true;
  };
  auto handle = client_->watch(resource_, options_.ns, watch_options, callback);
  if (!handle.isOk()) {
    return handle.status();
  }
  {
    std::lock_guard lock(mu_);
    if (stop_) {
      (*handle)->stop();
    }
    current_ = handle->get();
  }
  // Watchdog: stops a watch that has gone silent (e.g. a half-open connection after the server
  // vanished without closing it), so the loop resumes it instead of waiting forever.
  std::mutex watchdog_mu;
  std::condition_variable watchdog_cv;
  bool finished = false;  // guarded by watchdog_mu
  std::atomic<bool> idle{false};
  const auto idle_limit = options_.watch_idle_timeout;
  const auto check_every =
      std::clamp(idle_limit / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  std::thread watchdog([&] {
    std::unique_lock lock(watchdog_mu);
    while (!watchdog_cv.wait_for(lock, check_every, [&] { return finished; })) {
      const auto last = std::chrono::steady_clock::time_point(
          std::chrono::steady_clock::duration(last_activity->load()));
      if (std::chrono::steady_clock::now() - last > idle_limit) {
        idle = true;
        (*handle)->stop();
        return;
      }
    }
  });
  core::Status ended = (*handle)->wait();
  {
    std::lock_guard lock(watchdog_mu);
    finished = true;
  }
  watchdog_cv.notify_all();
  watchdog.join();
  {
    std::lock_guard lock(mu_);
    current_ = nullptr;
  }
  if (idle) {
    return core::unavailableError("watch of " + resource_.qualifiedName() + " silent for " +
                                  std::to_string(idle_limit.count()) + " ms");
  }
  return ended;
}

}  // namespace novacron::runtime
