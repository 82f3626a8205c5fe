#include "tests/mocks/mock_kube_client.h"

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <thread>

#include "lib/core/check.h"
#include "lib/kube/selector.h"
#include "tests/mocks/status_vocabulary.h"

namespace novacron::testing {

using kube::Json;
using kube::WatchEvent;
using kube::WatchEventType;

namespace {

bool isCustomResource(const kube::ResourceType& resource) {
  const std::string& g = resource.group;
  bool builtin = g.empty() || (g.size() >= 7 && g.compare(g.size() - 7, 7, ".k8s.io") == 0);
  return !builtin;
}

bool isCrd(const kube::ResourceType& resource) {
  return resource.group == "apiextensions.k8s.io" && resource.plural == "customresourcedefinitions";
}

// Kinds with metadata.generation: kube-apiserver's strategies set it for custom resources and CRDs;
// of the built-in kinds the fake serves (ConfigMaps, Secrets, Leases, Events, Namespaces) none has
// it.
bool usesGeneration(const kube::ResourceType& resource) {
  return isCustomResource(resource) || isCrd(resource);
}

// Kinds with a status subresource. Every custom resource is assumed to have one (NovaCron's CRDs
// do); ConfigMaps, Secrets, Leases and Events have none.
bool hasStatusSubresource(const kube::ResourceType& resource) {
  return isCustomResource(resource) || isCrd(resource) ||
         (resource.group.empty() && resource.plural == "namespaces");
}

// The field selectors kube-apiserver accepts for a kind: metadata.name and metadata.namespace
// everywhere, plus a few per built-in kind. Only equality terms are allowed.
core::Status checkFieldSelector(const kube::ResourceType& resource, const kube::Selector& fields) {
  static const std::map<std::string, std::vector<std::string>> kExtra = {
      {"namespaces", {"status.phase"}},
      {"secrets", {"type"}},
      {"events",
       {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
        "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
        "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"}},
      {"events.events.k8s.io",
       {"regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "reason",
        "reportingController", "type"}},
  };
  for (const auto& r : fields.requirements()) {
    if (r.op != kube::Selector::Op::kEquals && r.op != kube::Selector::Op::kNotEquals) {
      return core::invalidArgumentError("invalid field selector: \"" + r.key +
                                        "\": only =, == and != are supported");
    }
    if (r.key == "metadata.name" || r.key == "metadata.namespace") {
      continue;
    }
    auto it = kExtra.find(resource.qualifiedName());
    if (isCustomResource(resource) || it == kExtra.end() ||
        std::find(it->second.begin(), it->second.end(), r.key) == it->second.end()) {
      return core::invalidArgumentError("field label not supported: " + r.key);
    }
  }
  return core::okStatus();
}

core::Status noStatusSubresource() {
  return core::notFoundError("the server could not find the requested resource");
}

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

bool hasFinalizers(const Json& object) {
  auto meta = object.find("metadata");
  if (meta == object.end()) {
    return false;
  }
  auto it = meta->find("finalizers");
  return it != meta->end() && it->is_array() && !it->empty();
}

bool hasDeletionTimestamp(const Json& object) {
  return !metaString(object, "deletionTimestamp").empty();
}

// The parts of an object whose change bumps its generation: everything but metadata (and status
// where a status subresource owns it).
Json specPart(const kube::ResourceType& resource, const Json& object) {
  Json copy = object;
  copy.erase("metadata");
  copy.erase("apiVersion");
  copy.erase("kind");
  if (hasStatusSubresource(resource)) {
    copy.erase("status");
  }
  return copy;
}

std::vector<std::string> finalizersOf(const Json& object) {
  std::vector<std::string> out;
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) {
    return out;
  }
  auto it = meta->find("finalizers");
  if (it != meta->end() && it->is_array()) {
    for (const auto& f : *it) {
      if (f.is_string()) {
        out.push_back(f.get<std::string>());
      }
    }
  }
  return out;
}

Json withoutResourceVersion(Json object) {
  if (object.contains("metadata") && object["metadata"].is_object()) {
    object["metadata"].erase("resourceVersion");
    object["metadata"].erase("managedFields");
  }
  return object;
}

core::Status conflict(const kube::ResourceType& resource, const std::string& name) {
  return core::conflictError("Operation cannot be fulfilled on " + resource.qualifiedName() +
                             " \"" + name +
                             "\": the object has been modified; please apply your changes to the "
                             "latest version and try again");
}

core::Status notFound(const kube::ResourceType& resource, std::string_view name) {
  return core::notFoundError(resource.qualifiedName() + " \"" + std::string(name) + "\" not found");
}

}  // namespace

struct FakeClient::WatchState {
  std::string resource;
  bool namespaced = true;
  std::string ns;
  kube::Selector labels;
  kube::Selector fields;
  bool bookmarks = false;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<WatchEvent> queue;  // guarded by mu
  bool ended = false;            // guarded by mu; the "server" closed the watch
  core::Status end_status;       // guarded by mu
  bool stopped = false;          // guarded by mu; the client stopped the watch
  bool finished = false;         // guarded by mu; the delivery thread is done
  core::Status result;           // guarded by mu

  bool matches(const Json& object) const {
    if (object.is_null()) {
      return false;
    }
    if (namespaced && !ns.empty() && metaString(object, "namespace") != ns) {
      return false;
    }
    return labels.matchesLabels(object) && fields.matchesFields(object);
  }

  bool open() {
    std::lock_guard lock(mu);
    return !ended && !stopped;
  }

  // Queues the event this watch sees for a change from `old_object` to `object`.
  void offer(WatchEventType type, const Json& object, const Json& old_object) {
    bool now = matches(object);
    bool before = matches(old_object);
    std::optional<WatchEventType> seen;
    switch (type) {
    case WatchEventType::kAdded:
      if (now) {
        seen = WatchEventType::kAdded;
      }
      break;
    case WatchEventType::kModified:
      if (now && before) {
        seen = WatchEventType::kModified;
      } else if (now) {
        seen = WatchEventType::kAdded;
      } else if (before) {
        seen = WatchEventType::kDeleted;
      }
      break;
    case WatchEventType::kDeleted:
      if (now || before) {
        seen = WatchEventType::kDeleted;
      }
      break;
    default:
      break;
    }
    if (!seen) {
      return;
    }
    {
      std::lock_guard lock(mu);
      if (ended || stopped) {
        return;
      }
      queue.push_back({*seen, object});
    }
    cv.notify_all();
  }

  void push(WatchEvent event) {
    {
      std::lock_guard lock(mu);
      if (ended || stopped) {
        return;
      }
      queue.push_back(std::move(event));
    }
    cv.notify_all();
  }

  void end(core::Status status) {
    {
      std::lock_guard lock(mu);
      if (ended || stopped) {
        return;
      }
      if (status.code() == core::StatusCode::kGone) {
        queue.push_back({WatchEventType::kError, Json{{"kind", "Status"},
                                                      {"apiVersion", "v1"},
                                                      {"status", "Failure"},
                                                      {"message", status.message()},
                                                      {"reason", "Expired"},
                                                      {"code", 410}}});
      }
      ended = true;
      end_status = std::move(status);
    }
    cv.notify_all();
  }
};

namespace {

class FakeWatchHandle final : public kube::WatchHandle {
public:
  FakeWatchHandle(std::shared_ptr<FakeClient::WatchState> state, kube::WatchCallback callback)
      : state_(std::move(state)) {
    thread_ = std::thread([this, cb = std::move(callback)]() mutable { run(cb); });
  }
  ~FakeWatchHandle() override {
    stop();
    thread_.join();
  }

  void stop() override {
    {
      std::lock_guard lock(state_->mu);
      state_->stopped = true;
    }
    state_->cv.notify_all();
  }

  core::Status wait() override {
    std::unique_lock lock(state_->mu);
    state_->cv.wait(lock, [&] { return state_->finished; });
    return state_->result;
  }

  bool done() const override {
    std::lock_guard lock(state_->mu);
    return state_->finished;
  }

private:
  void run(kube::WatchCallback& callback) {
    core::Status result;
    while (true) {
      WatchEvent event;
      {
        std::unique_lock lock(state_->mu);
        state_->cv.wait(lock,
                        [&] { return state_->stopped || !state_->queue.empty() || state_->ended; });
        if (state_->stopped) {
          result = core::cancelledError("watch stopped");
          break;
        }
        if (state_->queue.empty()) {
          result = state_->end_status;
          break;
        }
        event = std::move(state_->queue.front());
        state_->queue.pop_front();
      }
      if (!callback(std::move(event))) {
        std::lock_guard lock(state_->mu);
        state_->stopped = true;
        result = core::cancelledError("watch stopped by its callback");
        break;
      }
    }
    {
      std::lock_guard lock(state_->mu);
      state_->finished = true;
      state_->result = result;
    }
    state_->cv.notify_all();
  }

  std::shared_ptr<FakeClient::WatchState> state_;
  std::thread thread_;
};

}  // namespace

FakeClient::FakeClient(core::ClockPtr clock)
    : clock_(clock ? std::move(clock) : core::systemClock()) {}

FakeClient::~FakeClient() {
  endWatches(core::cancelledError("fake client destroyed"));
}

std::string FakeClient::nowTimestamp() const {
  std::time_t t = std::chrono::system_clock::to_time_t(clock_->wallNow());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void FakeClient::setCallHook(CallHook hook) {
  std::lock_guard lock(mu_);
  hook_ = hook ? std::make_shared<const CallHook>(std::move(hook)) : nullptr;
}

core::Status FakeClient::injectedFailure(Verb verb, const kube::ResourceType& resource) {
  std::shared_ptr<const CallHook> hook;
  {
    std::lock_guard lock(mu_);
    hook = hook_;
  }
  if (hook) {
    (*hook)(verb, resource.plural);
  }
  std::lock_guard lock(mu_);
  for (auto it = failures_.begin(); it != failures_.end(); ++it) {
    if (it->verb == verb && (it->plural.empty() || it->plural == resource.plural)) {
      core::Status error = it->error;
      if (--it->times <= 0) {
        failures_.erase(it);
      }
      return error;
    }
  }
  return core::okStatus();
}

void FakeClient::record(Verb verb, const kube::ResourceType& resource, std::string_view ns,
                        std::string_view name) {
  std::lock_guard lock(mu_);
  actions_.push_back({verb, resource.plural, std::string(ns), std::string(name)});
}

std::string FakeClient::resolveNamespace(const kube::ResourceType& resource, std::string_view ns,
                                         const Json& object) const {
  if (!resource.namespaced) {
    return {};
  }
  if (!ns.empty()) {
    return std::string(ns);
  }
  return metaString(object, "namespace");
}

void FakeClient::emitLocked(const kube::ResourceType& resource, WatchEventType type,
                            const Json& object, const Json& old_object) {
  std::string name = resource.qualifiedName();
  history_.push_back({name, type, object, old_object, rv_});
  while (history_.size() > history_limit_) {
    compacted_rv_ = history_.front().rv;
    history_.pop_front();
  }
  std::erase_if(watches_, [](const std::shared_ptr<WatchState>& w) { return !w->open(); });
  for (const auto& w : watches_) {
    if (w->resource == name) {
      w->offer(type, object, old_object);
    }
  }
}

core::StatusOr<Json> FakeClient::get(const kube::ResourceType& resource, std::string_view ns,
                                     std::string_view name) {
  NOVACRON_RETURN_IF_ERROR(injectedFailure(Verb::kGet, resource));
  record(Verb::kGet, resource, ns, name);
  std::lock_guard lock(mu_);
  auto& objects = store_[resource.qualifiedName()];
  auto it = objects.find({resource.namespaced ? std::string(ns) : "", std::string(name)});
  if (it == objects.end()) {
    return notFound(resource, name);
  }
  return it->second;
}

core::StatusOr<Json> FakeClient::list(const kube::ResourceType& resource, std::string_view ns,
                                      const kube::ListOptions& options) {
  NOVACRON_RETURN_IF_ERROR(injectedFailure(Verb::kList, resource));
  record(Verb::kList, resource, ns, "");
  NOVACRON_ASSIGN_OR_RETURN(auto labels, kube::Selector::parse(options.label_selector));
  NOVACRON_ASSIGN_OR_RETURN(auto fields, kube::Selector::parseFields(options.field_selector));
  NOVACRON_RETURN_IF_ERROR(checkFieldSelector(resource, fields));
  std::lock_guard lock(mu_);
  Json items = Json::array();
  std::string next;
  auto& objects = store_[resource.qualifiedName()];
  auto it = objects.begin();
  if (!options.continue_token.empty()) {
    size_t slash = options.continue_token.find('/');
    if (slash == std::string::npos) {
      return core::invalidArgumentError("invalid continue token");
    }
    it = objects.upper_bound(
        {options.continue_token.substr(0, slash), options.continue_token.substr(slash + 1)});
  }
  for (; it != objects.end(); ++it) {
    if (resource.namespaced && !ns.empty() && it->first.first != ns) {
      continue;
    }
    if (!labels.matchesLabels(it->second) || !fields.matchesFields(it->second)) {
      continue;
    }
    if (options.limit > 0 && static_cast<int64_t>(items.size()) >= options.limit) {
      auto last = std::prev(it);
      next = last->first.first + "/" + last->first.second;
      break;
    }
    items.push_back(it->second);
  }
  Json meta = {{"resourceVersion", std::to_string(rv_)}};
  if (!next.empty()) {
    meta["continue"] = next;
  }
  return Json{{"apiVersion", resource.apiVersion()},
              {"kind", resource.kind + "List"},
              {"metadata", meta},
              {"items", std::move(items)}};
}

core::StatusOr<Json> FakeClient::create(const kube::ResourceType& resource, std::string_view ns,
                                        const Json& object) {
  NOVACRON_RETURN_IF_ERROR(injectedFailure(Verb::kCreate, resource));
  if (!object.is_object()) {
    return core::invalidArgumentError("create: object must be a JSON object");
  }
  std::string namespace_name = resolveNamespace(resource, ns, object);
  std::string name = metaString(object, "name");
  record(Verb::kCreate, resource, namespace_name, name);
  if (resource.namespaced && namespace_name.empty()) {
    return core::invalidArgumentError("create " + resource.qualifiedName() +
                                      ": metadata.namespace: Required value");
  }
  if (!metaString(object, "resourceVersion").empty()) {
    return core::invalidArgumentError(
        "create " + resource.qualifiedName() +
        ": resourceVersion should not be set on objects to be created");
  }
  std::lock_guard lock(mu_);
  auto& objects = store_[resource.qualifiedName()];
  if (name.empty()) {
    std::string prefix = metaString(object, "generateName");
    if (prefix.empty()) {
      return core::invalidArgumentError("create " + resource.qualifiedName() +
                                        ": metadata.name: Required value");
    }
    name = prefix + std::to_string(10000 + uid_counter_ + 1);
  }
  Key key{namespace_name, name};
  if (objects.contains(key)) {
    return core::alreadyExistsError(resource.qualifiedName() + " \"" + name + "\" already exists");
  }
  Json stored = object;
  stored["apiVersion"] = resource.apiVersion();
  stored["kind"] = resource.kind;
  Json& meta = stored["metadata"];
  meta["name"] = name;
  if (resource.namespaced) {
    meta["namespace"] = namespace_name;
  } else {
    meta.erase("namespace");
  }
  meta.erase("deletionTimestamp");
  meta.erase("deletionGracePeriodSeconds");
  meta["uid"] = "fake-uid-" + std::to_string(++uid_counter_);
  meta["creationTimestamp"] = nowTimestamp();
  if (usesGeneration(resource)) {
    meta["generation"] = 1;
  } else {
    meta.erase("generation");
  }
  if (isCustomResource(resource)) {
    stored.erase("status");  // the status subresource owns status; create ignores it
  }
  meta["resourceVersion"] = std::to_string(++rv_);
  objects[key] = stored;
  emitLocked(resource, WatchEventType::kAdded, stored, Json());
  return stored;
}

core::StatusOr<Json> FakeClient::applyUpdateLocked(const kube::ResourceType& resource,
                                                   const Key& key, const Json& object,
                                                   bool status_only) {
  auto& objects = store_[resource.qualifiedName()];
  auto it = objects.find(key);
  if (it == objects.end()) {
    return notFound(resource, key.second);
  }
  const Json& current = it->second;
  std::string rv = metaString(object, "resourceVersion");
  if (rv.empty() && isCustomResource(resource)) {
    return core::invalidArgumentError(resource.qualifiedName() + " \"" + key.second +
                                      "\" is invalid: metadata.resourceVersion: Invalid value: "
                                      "0x0: must be specified for an update");
  }
  if (!rv.empty() && rv != metaString(current, "resourceVersion")) {
    return conflict(resource, key.second);
  }
  std::string uid = metaString(object, "uid");
  if (!uid.empty() && uid != metaString(current, "uid")) {
    return conflict(resource, key.second);
  }
  bool status_subresource = hasStatusSubresource(resource);
  Json next;
  if (status_only) {
    next = current;
    if (object.contains("status")) {
      next["status"] = object["status"];
    } else {
      next.erase("status");
    }
  } else {
    next = object;
    next["apiVersion"] = resource.apiVersion();
    next["kind"] = resource.kind;
    if (!next.contains("metadata") || !next["metadata"].is_object()) {
      next["metadata"] = Json::object();
    }
    Json& meta = next["metadata"];
    for (const char* field : {"name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                              "deletionGracePeriodSeconds", "generation"}) {
      if (current["metadata"].contains(field)) {
        meta[field] = current["metadata"][field];
      } else {
        meta.erase(field);
      }
    }
    if (status_subresource) {
      if (current.contains("status")) {
        next["status"] = current["status"];
      } else {
        next.erase("status");
      }
    }
    if (usesGeneration(resource) && specPart(resource, next) != specPart(resource, current)) {
      meta["generation"] = current["metadata"].value("generation", 0) + 1;
    }
    if (hasDeletionTimestamp(current)) {
      std::vector<std::string> before = finalizersOf(current);
      for (const auto& f : finalizersOf(next)) {
        if (std::find(before.begin(), before.end(), f) == before.end()) {
          return core::invalidArgumentError(
              resource.qualifiedName() + " \"" + key.second +
              "\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if "
              "the object is being deleted, found new finalizers []string{\"" +
              f + "\"}");
        }
      }
    }
  }
  next["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"];
  if (withoutResourceVersion(next) == withoutResourceVersion(current)) {
    return current;  // a no-op write does not bump the resourceVersion, as in kube-apiserver
  }
  Json old = current;
  next["metadata"]["resourceVersion"] = std::to_string(++rv_);
  if (hasDeletionTimestamp(next) && !hasFinalizers(next)) {
    // As in kube-apiserver, the write that empties the finalizers deletes the stored object, and
    // the DELETED event carries that last stored state at the deletion's resourceVersion.
    Json gone = old;
    gone["metadata"]["resourceVersion"] = next["metadata"]["resourceVersion"];
    objects.erase(it);
    emitLocked(resource, WatchEventType::kDeleted, gone, old);
    return next;
  }
  it->second = next;
  emitLocked(resource, WatchEventType::kModified, next, old);
  return next;
}

core::StatusOr<Json> FakeClient::update(const kube::ResourceType& resource, std::string_view ns,
                                        const Json& object) {
  NOVACRON_RETURN_IF_ERROR(injectedFailure(Verb::kUpdate, resource));
  std::string namespace_name = resolveNamespace(resource, ns, object);
  std::string name = metaString(object, "name");
  record(Verb::kUpdate, resource, namespace_name, name);
  std::lock_guard lock(mu_);
  return applyUpdateLocked(resource, {namespace_name, name}, object, false);
}

core::StatusOr<Json> FakeClient::updateStatus(const kube::ResourceType& resource,
                                              std::string_view ns, const Json& object) {
  NOVACRON_RETURN_IF_ERROR(injectedFailure(Verb::kUpdateStatus, resource));
  std::string namespace_name = resolveNamespace(resource, ns, object);
  std::string name = metaString(object, "name");
  record(Verb::kUpdateStatus, resource, namespace_name, name);
  if (!hasStatusSubresource(resource)) {
    return noStatusSubresource();
  }
  std::lock_guard lock(mu_);
  auto written = applyUpdateLocked(resource, {namespace_name, name}, object, true);
  if (written.isOk()) {
    noteStatusWrite(*written);  // docs/api.md contract test
  }
  return written;
}

core::StatusOr<Json> FakeClient::patch(const kube::ResourceType& resource, std::string_view ns,
                                       std::string_view name, kube::PatchType type,
                                       const Json& patch, std::string_view subresource) {
  NOVACRON_RETURN_IF_ERROR(injectedFailure(Verb::kPatch, resource));
  std::string namespace_name = resource.namespaced ? std::string(ns) : std::string();
  record(Verb::kPatch, resource, namespace_name, name);
  if (!subresource.empty() && (subresource != "status" || !hasStatusSubresource(resource))) {
    return noStatusSubresource();
  }
  std::lock_guard lock(mu_);
  auto& objects = store_[resource.qualifiedName()];
  Key key{namespace_name, std::string(name)};
  auto it = objects.find(key);
  if (it == objects.end()) {
    return notFound(resource, name);
  }
  Json patched = it->second;
  try {
    if (type == kube::PatchType::kMerge) {
      if (!patch.is_object()) {
        return core::invalidArgumentError("merge patch must be a JSON object");
      }
      patched.merge_patch(patch);
    } else {
      if (!patch.is_array()) {
        return core::invalidArgumentError("json patch must be a JSON array");
      }
      patched = patched.patch(patch);
    }
  } catch (const nlohmann::json::other_error& e) {
    // nlohmann reports a failed "test" operation as other_error 501.
    return core::conflictError("json patch test failed on " + resource.qualifiedName() + " \"" +
                               std::string(name) + "\": " + e.what());
  } catch (const nlohmann::json::out_of_range& e) {
    // A path the patch names is missing: the object is not what the caller read (RestClient maps
    // the server's 422 for this to kConflict too).
    return core::conflictError("json patch does not apply to " + resource.qualifiedName() + " \"" +
                               std::string(name) + "\": " + e.what());
  } catch (const nlohmann::json::exception& e) {
    return core::invalidArgumentError("applying patch to " + resource.qualifiedName() + " \"" +
                                      std::string(name) + "\": " + e.what());
  }
  if (!patched.is_object()) {
    return core::invalidArgumentError("patch result is not an object");
  }
  if (metaString(patched, "resourceVersion") != metaString(it->second, "resourceVersion")) {
    return conflict(resource, std::string(name));
  }
  auto written = applyUpdateLocked(resource, key, patched, subresource == "status");
  if (written.isOk() && subresource == "status") {
    noteStatusWrite(*written);  // docs/api.md contract test
  }
  return written;
}

core::Status FakeClient::remove(const kube::ResourceType& resource, std::string_view ns,
                                std::string_view name, const kube::DeleteOptions& options) {
  NOVACRON_RETURN_IF_ERROR(injectedFailure(Verb::kDelete, resource));
  std::string namespace_name = resource.namespaced ? std::string(ns) : std::string();
  record(Verb::kDelete, resource, namespace_name, name);
  std::lock_guard lock(mu_);
  auto& objects = store_[resource.qualifiedName()];
  auto it = objects.find({namespace_name, std::string(name)});
  if (it == objects.end()) {
    return notFound(resource, name);
  }
  if ((options.precondition_uid && *options.precondition_uid != metaString(it->second, "uid")) ||
      (options.precondition_resource_version &&
       *options.precondition_resource_version != metaString(it->second, "resourceVersion"))) {
    return conflict(resource, std::string(name));
  }
  Json old = it->second;
  if (hasFinalizers(it->second)) {
    if (!hasDeletionTimestamp(it->second)) {
      Json& meta = it->second["metadata"];
      meta["deletionTimestamp"] = nowTimestamp();
      meta["deletionGracePeriodSeconds"] = 0;
      if (meta.contains("generation")) {
        meta["generation"] = meta["generation"].get<int64_t>() + 1;  // as kube's markAsDeleting
      }
      meta["resourceVersion"] = std::to_string(++rv_);
      emitLocked(resource, WatchEventType::kModified, it->second, old);
    }
    return core::okStatus();
  }
  Json gone = it->second;
  gone["metadata"]["resourceVersion"] = std::to_string(++rv_);
  objects.erase(it);
  emitLocked(resource, WatchEventType::kDeleted, gone, old);
  return core::okStatus();
}

core::StatusOr<kube::WatchHandlePtr> FakeClient::watch(const kube::ResourceType& resource,
                                                       std::string_view ns,
                                                       const kube::WatchOptions& options,
                                                       kube::WatchCallback callback) {
  NOVACRON_RETURN_IF_ERROR(injectedFailure(Verb::kWatch, resource));
  record(Verb::kWatch, resource, ns, "");
  auto state = std::make_shared<WatchState>();
  state->resource = resource.qualifiedName();
  state->namespaced = resource.namespaced;
  state->ns = resource.namespaced ? std::string(ns) : std::string();
  NOVACRON_ASSIGN_OR_RETURN(state->labels, kube::Selector::parse(options.label_selector));
  NOVACRON_ASSIGN_OR_RETURN(state->fields, kube::Selector::parseFields(options.field_selector));
  NOVACRON_RETURN_IF_ERROR(checkFieldSelector(resource, state->fields));
  state->bookmarks = options.allow_watch_bookmarks;
  {
    std::lock_guard lock(mu_);
    if (options.resource_version.empty() || options.resource_version == "0") {
      for (const auto& [key, object] : store_[state->resource]) {
        state->offer(WatchEventType::kAdded, object, Json());
      }
    } else {
      int64_t from = 0;
      try {
        from = std::stoll(options.resource_version);
      } catch (const std::exception&) {
        return core::invalidArgumentError("invalid resourceVersion \"" + options.resource_version +
                                          "\"");
      }
      if (from < compacted_rv_) {
        core::Status gone =
            core::goneError("too old resource version: " + options.resource_version + " (" +
                            std::to_string(compacted_rv_) + ")");
        if (!gone_as_error_event_) {
          return gone;
        }
        state->end(std::move(gone));  // queues the ERROR event, then ends with kGone
        return kube::WatchHandlePtr(std::make_unique<FakeWatchHandle>(state, std::move(callback)));
      }
      for (const auto& event : history_) {
        if (event.rv > from && event.resource == state->resource) {
          state->offer(event.type, event.object, event.old_object);
        }
      }
    }
    watches_.push_back(state);
  }
  return kube::WatchHandlePtr(std::make_unique<FakeWatchHandle>(state, std::move(callback)));
}

void FakeClient::failNext(Verb verb, std::string plural, core::Status error, int times) {
  NOVACRON_CHECK(!error.isOk(), "failNext needs an error");
  std::lock_guard lock(mu_);
  failures_.push_back({verb, std::move(plural), std::move(error), times});
}

std::vector<FakeClient::Action> FakeClient::actions() const {
  std::lock_guard lock(mu_);
  return actions_;
}

size_t FakeClient::countActions(Verb verb, std::string_view plural) const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& a : actions_) {
    if (a.verb == verb && (plural.empty() || a.resource == plural)) {
      ++n;
    }
  }
  return n;
}

void FakeClient::clearActions() {
  std::lock_guard lock(mu_);
  actions_.clear();
}

void FakeClient::compact() {
  std::lock_guard lock(mu_);
  history_.clear();
  compacted_rv_ = rv_;
}

void FakeClient::setHistoryLimit(size_t limit) {
  std::lock_guard lock(mu_);
  history_limit_ = limit;
  while (history_.size() > history_limit_) {
    compacted_rv_ = history_.front().rv;
    history_.pop_front();
  }
}

void FakeClient::setGoneAsErrorEvent(bool on) {
  std::lock_guard lock(mu_);
  gone_as_error_event_ = on;
}

void FakeClient::sendBookmarks() {
  std::lock_guard lock(mu_);
  for (const auto& w : watches_) {
    if (!w->bookmarks) {
      continue;
    }
    // Bookmarks carry the kind and the resourceVersion only.
    Json object = {{"metadata", {{"resourceVersion", std::to_string(rv_)}}}};
    w->push({WatchEventType::kBookmark, std::move(object)});
  }
}

void FakeClient::endWatches(core::Status status) {
  std::vector<std::shared_ptr<WatchState>> watches;
  {
    std::lock_guard lock(mu_);
    watches.swap(watches_);
  }
  for (const auto& w : watches) {
    w->end(status);
  }
}

int FakeClient::activeWatches() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& w : watches_) {
    if (w->open()) {
      ++n;
    }
  }
  return n;
}

int64_t FakeClient::resourceVersion() const {
  std::lock_guard lock(mu_);
  return rv_;
}

std::vector<Json> FakeClient::objects(const kube::ResourceType& resource) const {
  std::lock_guard lock(mu_);
  std::vector<Json> out;
  auto it = store_.find(resource.qualifiedName());
  if (it != store_.end()) {
    for (const auto& [key, object] : it->second) {
      out.push_back(object);
    }
  }
  return out;
}

}  // namespace novacron::testing
