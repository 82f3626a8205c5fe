#include "lib/kube/rest_client.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>

#include "lib/core/check.h"
#include "lib/core/token_bucket.h"
#include "lib/kube/api_status.h"
#include "lib/kube/cpprestsdk_transport.h"
#include "lib/kube/list_items.h"

namespace novacron::kube {
namespace {

constexpr char kJson[] = "application/json";

std::string metaString(const Json& object, const char* field) {
  if (!object.is_object()) {
    return {};
  }
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) {
    return {};
  }
  auto it = meta->find(field);
  if (it == meta->end() || !it->is_string()) {
    return {};
  }
  return it->get<std::string>();
}

std::optional<WatchEventType> parseEventType(std::string_view text) {
  if (text == "ADDED") {
    return WatchEventType::kAdded;
  }
  if (text == "MODIFIED") {
    return WatchEventType::kModified;
  }
  if (text == "DELETED") {
    return WatchEventType::kDeleted;
  }
  if (text == "BOOKMARK") {
    return WatchEventType::kBookmark;
  }
  if (text == "ERROR") {
    return WatchEventType::kError;
  }
  return std::nullopt;
}

// State shared between the transport's reader thread (line callback) and the handle.
struct WatchState {
  std::mutex mu;
  core::Status error;                // guarded by mu; set when the stream told us how it failed
  bool stopped_by_callback = false;  // guarded by mu
};

class RestWatchHandle final : public WatchHandle {
public:
  RestWatchHandle(std::shared_ptr<WatchState> state, StreamHandlePtr stream)
      : state_(std::move(state)), stream_(std::move(stream)) {}
  ~RestWatchHandle() override { stream_.reset(); }  // cancels and joins the reader

  void stop() override { stream_->cancel(); }

  core::Status wait() override {
    StreamResult result = stream_->wait();
    std::lock_guard lock(state_->mu);
    if (!state_->error.isOk()) {
      return state_->error;
    }
    switch (result.end) {
    case StreamEnd::kEof:
      return core::okStatus();
    case StreamEnd::kCancelled:
      return core::cancelledError(state_->stopped_by_callback ? "watch stopped by its callback"
                                                              : "watch stopped");
    case StreamEnd::kError:
      return result.status.isOk() ? core::unavailableError("watch stream failed") : result.status;
    }
    return core::internalError("unknown stream end");
  }

  bool done() const override { return stream_->done(); }

private:
  std::shared_ptr<WatchState> state_;
  StreamHandlePtr stream_;
};

class RestClient final : public Client, public ItemLister {
public:
  RestClient(HttpTransportPtr transport, RestClientOptions options)
      : transport_(std::move(transport)),
        options_(std::move(options)),
        clock_(options_.clock ? options_.clock : core::systemClock()),
        limiter_(options_.qps, options_.burst, clock_),
        registry_(options_.registry ? options_.registry : metrics::defaultRegistry()),
        requests_(prometheus::BuildCounter()
                      .Name("rest_client_requests_total")
                      .Help("Requests to the Kubernetes API server, by HTTP code, method and "
                            "resource (code \"<error>\" when no response arrived)")
                      .Register(*registry_)),
        durations_(prometheus::BuildHistogram()
                       .Name("rest_client_request_duration_seconds")
                       .Help("Latency of requests to the Kubernetes API server (for watches: "
                             "until the response headers)")
                       .Register(*registry_)) {
    NOVACRON_CHECK(transport_ != nullptr, "RestClient needs a transport");
    if (!options_.sleep) {
      options_.sleep = [clock = clock_](std::chrono::nanoseconds d) { clock->sleepFor(d); };
    }
  }

  core::StatusOr<Json> get(const ResourceType& resource, std::string_view ns,
                           std::string_view name) override {
    NOVACRON_RETURN_IF_ERROR(checkName(resource, ns, name));
    return call("GET", resource, resourcePath(resource, ns, name), nullptr, {});
  }

  core::StatusOr<Json> list(const ResourceType& resource, std::string_view ns,
                            const ListOptions& options) override {
    return call("GET", resource, listPath(resource, ns, options), nullptr, {});
  }

  // The page's text is parsed with a callback that hands out each element of "items" as soon as
  // it is complete and drops it from the tree being built (list_items.h).
  core::StatusOr<Json> listItems(const ResourceType& resource, std::string_view ns,
                                 const ListOptions& options, const ItemCallback& on_item) override {
    std::string what;
    auto text = fetch("GET", resource, listPath(resource, ns, options), nullptr, {}, nullptr, what);
    if (!text.isOk()) {
      return text.status();
    }
    std::string top_key;
    Json::parser_callback_t callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
      if (event == Json::parse_event_t::key && depth == 1) {
        top_key = parsed.is_string() ? parsed.get<std::string>() : std::string();
      } else if (event == Json::parse_event_t::object_end && depth == 2 && top_key == "items") {
        on_item(std::move(parsed));
        return false;  // not kept in the list object
      }
      return true;
    };
    Json parsed = Json::parse(*text, callback, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return core::internalError(what + ": response is not a JSON object: " + text->substr(0, 200));
    }
    return parsed;
  }

  core::StatusOr<Json> create(const ResourceType& resource, std::string_view ns,
                              const Json& object) override {
    std::string namespace_name = resolveNamespace(resource, ns, object);
    if (resource.namespaced && namespace_name.empty()) {
      return core::invalidArgumentError("create " + resource.qualifiedName() +
                                        ": no namespace given");
    }
    return call("POST", resource, resourcePath(resource, namespace_name), &object, kJson);
  }

  core::StatusOr<Json> update(const ResourceType& resource, std::string_view ns,
                              const Json& object) override {
    return put(resource, ns, object, {});
  }

  core::StatusOr<Json> updateStatus(const ResourceType& resource, std::string_view ns,
                                    const Json& object) override {
    return put(resource, ns, object, "status");
  }

  core::StatusOr<Json> patch(const ResourceType& resource, std::string_view ns,
                             std::string_view name, PatchType type, const Json& patch,
                             std::string_view subresource) override {
    NOVACRON_RETURN_IF_ERROR(checkName(resource, ns, name));
    const char* content_type =
        type == PatchType::kMerge ? "application/merge-patch+json" : "application/json-patch+json";
    ErrorRefiner refine = nullptr;
    if (type == PatchType::kJsonPatch) {
      refine = refineJsonPatchError;
    }
    return call("PATCH", resource, resourcePath(resource, ns, name, subresource), &patch,
                content_type, refine);
  }

  core::Status remove(const ResourceType& resource, std::string_view ns, std::string_view name,
                      const DeleteOptions& options) override {
    NOVACRON_RETURN_IF_ERROR(checkName(resource, ns, name));
    Json body;
    if (options.precondition_uid || options.precondition_resource_version ||
        options.propagation_policy || options.grace_period_seconds) {
      body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
      if (options.precondition_uid) {
        body["preconditions"]["uid"] = *options.precondition_uid;
      }
      if (options.precondition_resource_version) {
        body["preconditions"]["resourceVersion"] = *options.precondition_resource_version;
      }
      if (options.propagation_policy) {
        body["propagationPolicy"] = *options.propagation_policy;
      }
      if (options.grace_period_seconds) {
        body["gracePeriodSeconds"] = *options.grace_period_seconds;
      }
    }
    auto result = call("DELETE", resource, resourcePath(resource, ns, name),
                       body.is_null() ? nullptr : &body, body.is_null() ? "" : kJson);
    return result.status();
  }

  core::StatusOr<WatchHandlePtr> watch(const ResourceType& resource, std::string_view ns,
                                       const WatchOptions& options,
                                       WatchCallback callback) override {
    QueryParams query{{"watch", "true"}};
    if (!options.resource_version.empty()) {
      query.emplace_back("resourceVersion", options.resource_version);
    }
    if (options.allow_watch_bookmarks) {
      query.emplace_back("allowWatchBookmarks", "true");
    }
    if (options.timeout_seconds) {
      query.emplace_back("timeoutSeconds", std::to_string(*options.timeout_seconds));
    }
    if (!options.label_selector.empty()) {
      query.emplace_back("labelSelector", options.label_selector);
    }
    if (!options.field_selector.empty()) {
      query.emplace_back("fieldSelector", options.field_selector);
    }
    HttpRequest request =
        makeRequest("GET", resourcePath(resource, ns) + buildQuery(query), nullptr, {});
    // The server may stay silent for the whole watch (no bookmarks, no changes): allow the
    // server-side timeout plus a margin between two reads.
    request.timeout = std::chrono::seconds(options.timeout_seconds.value_or(3600) + 60);
    std::string what = "watch " + resource.qualifiedName() +
                       (ns.empty() ? std::string() : " in " + std::string(ns));
    auto state = std::make_shared<WatchState>();
    LineCallback on_line = [state, what, cb = std::move(callback)](std::string_view line) {
      auto fail = [&](core::Status status) {
        std::lock_guard lock(state->mu);
        state->error = std::move(status);
        return false;
      };
      Json frame = Json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!frame.is_object() || !frame.contains("type") || !frame["type"].is_string()) {
        return fail(
            core::internalError(what + ": malformed event: " + std::string(line.substr(0, 200))));
      }
      auto type = parseEventType(frame["type"].get<std::string>());
      if (!type) {
        return fail(
            core::internalError(what + ": unknown event type " + frame["type"].get<std::string>()));
      }
      WatchEvent event{*type, std::move(frame["object"])};
      if (*type == WatchEventType::kError) {
        core::Status status = statusFromStatusObject(event.object, 500, what);
        cb(std::move(event));
        return fail(std::move(status));
      }
      if (!cb(std::move(event))) {
        std::lock_guard lock(state->mu);
        state->stopped_by_callback = true;
        return false;
      }
      return true;
    };
    rateLimit();
    auto start = clock_->now();
    auto stream = transport_->openStream(request, std::move(on_line));
    if (!stream.isOk()) {
      observe("WATCH", resource, "<error>", start);
      return stream.status().withContext(what);
    }
    const HttpResponse& head = (*stream)->response();
    observe("WATCH", resource, std::to_string(head.status), start);
    if (head.status < 200 || head.status >= 300) {
      return statusFromResponse(head, what);
    }
    return WatchHandlePtr(std::make_unique<RestWatchHandle>(state, std::move(stream).value()));
  }

private:
  static core::Status checkName(const ResourceType& resource, std::string_view ns,
                                std::string_view name) {
    if (name.empty()) {
      return core::invalidArgumentError(resource.qualifiedName() + ": empty name");
    }
    if (resource.namespaced && ns.empty()) {
      return core::invalidArgumentError(resource.qualifiedName() + " \"" + std::string(name) +
                                        "\": no namespace given");
    }
    return core::okStatus();
  }

  static std::string resolveNamespace(const ResourceType& resource, std::string_view ns,
                                      const Json& object) {
    if (!resource.namespaced) {
      return {};
    }
    return ns.empty() ? metaString(object, "namespace") : std::string(ns);
  }

  core::StatusOr<Json> put(const ResourceType& resource, std::string_view ns, const Json& object,
                           std::string_view subresource) {
    std::string namespace_name = resolveNamespace(resource, ns, object);
    std::string name = metaString(object, "name");
    NOVACRON_RETURN_IF_ERROR(checkName(resource, namespace_name, name));
    return call("PUT", resource, resourcePath(resource, namespace_name, name, subresource), &object,
                kJson);
  }

  HttpRequest makeRequest(std::string method, std::string path, const Json* body,
                          std::string_view content_type) const {
    HttpRequest request;
    request.method = std::move(method);
    request.path = std::move(path);
    request.headers.emplace_back("Accept", kJson);
    request.headers.emplace_back("User-Agent", options_.user_agent);
    if (body != nullptr) {
      request.headers.emplace_back("Content-Type", std::string(content_type));
      request.body = body->dump();
    }
    request.timeout = options_.timeout;
    return request;
  }

  void rateLimit() {
    auto delay = limiter_.reserve();
    if (delay > std::chrono::nanoseconds(0)) {
      options_.sleep(delay);
    }
  }

  void observe(const std::string& method, const ResourceType& resource, const std::string& code,
               core::Clock::TimePoint start) {
    std::string name = resource.qualifiedName();
    requests_.Add({{"code", code}, {"method", method}, {"resource", name}}).Increment();
    double seconds = std::chrono::duration<double>(clock_->now() - start).count();
    durations_.Add({{"method", method}, {"resource", name}}, metrics::latencyBuckets())
        .Observe(seconds);
  }

  // A 422 without field errors on a JSON patch means the patch did not apply to the stored object:
  // a "test" op failed or a path it names is gone. kube-apiserver reports that with a generic
  // message ("the server rejected our request..."), but it always means the object is not what
  // the caller read: a conflict, not bad input. (Schema failures of the result carry field causes
  // and stay kInvalidArgument.)
  static core::Status refineJsonPatchError(const HttpResponse& response, core::Status status) {
    if (response.status != 422 || status.code() != core::StatusCode::kInvalidArgument) {
      return status;
    }
    Json body = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_object() && body.contains("details") && body["details"].is_object() &&
        body["details"].contains("causes") && body["details"]["causes"].is_array()) {
      for (const auto& cause : body["details"]["causes"]) {
        if (cause.is_object() && !cause.value("field", std::string()).empty()) {
          return status;
        }
      }
    }
    return core::conflictError(status.message() +
                               ": the JSON patch did not apply to the current object (a test op "
                               "failed or a path is missing); re-read and retry");
  }

  using ErrorRefiner = core::Status (*)(const HttpResponse&, core::Status);

  // The body of a 2xx answer; the answer's error otherwise. `what` is set to "METHOD path".
  core::StatusOr<std::string> fetch(const char* method, const ResourceType& resource,
                                    std::string path, const Json* body,
                                    std::string_view content_type, ErrorRefiner refine,
                                    std::string& what) {
    HttpRequest request = makeRequest(method, std::move(path), body, content_type);
    what = std::string(method) + " " + request.path;
    rateLimit();
    auto start = clock_->now();
    auto response = transport_->send(request);
    if (!response.isOk()) {
      observe(method, resource, "<error>", start);
      return response.status().withContext(what);
    }
    observe(method, resource, std::to_string(response->status), start);
    if (response->status < 200 || response->status >= 300) {
      core::Status status = statusFromResponse(*response, what);
      return refine != nullptr ? refine(*response, std::move(status)) : status;
    }
    return std::move(response->body);
  }

  core::StatusOr<Json> call(const char* method, const ResourceType& resource, std::string path,
                            const Json* body, std::string_view content_type,
                            ErrorRefiner refine = nullptr) {
    std::string what;
    auto text = fetch(method, resource, std::move(path), body, content_type, refine, what);
    if (!text.isOk()) {
      return text.status();
    }
    if (text->empty()) {
      return Json::object();
    }
    Json parsed = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return core::internalError(what + ": response is not JSON: " + text->substr(0, 200));
    }
    return parsed;
  }

  std::string listPath(const ResourceType& resource, std::string_view ns,
                       const ListOptions& options) {
    QueryParams query;
    if (!options.label_selector.empty()) {
      query.emplace_back("labelSelector", options.label_selector);
    }
    if (!options.field_selector.empty()) {
      query.emplace_back("fieldSelector", options.field_selector);
    }
    if (options.limit > 0) {
      query.emplace_back("limit", std::to_string(options.limit));
    }
    if (!options.continue_token.empty()) {
      query.emplace_back("continue", options.continue_token);
    }
    if (!options.resource_version.empty()) {
      query.emplace_back("resourceVersion", options.resource_version);
    }
    return resourcePath(resource, ns) + buildQuery(query);
  }

  HttpTransportPtr transport_;
  RestClientOptions options_;
  core::ClockPtr clock_;
  core::TokenBucket limiter_;
  metrics::RegistryPtr registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
};

}  // namespace

ClientPtr newRestClient(HttpTransportPtr transport, RestClientOptions options) {
  return std::make_shared<RestClient>(std::move(transport), std::move(options));
}

core::StatusOr<ClientPtr> newRestClient(const Config& config, RestClientOptions options) {
  NOVACRON_ASSIGN_OR_RETURN(HttpTransportPtr transport, newCpprestsdkTransport(config));
  return newRestClient(std::move(transport), std::move(options));
}

}  // namespace novacron::kube
