#include "dev-apiserver/controllers.h"

#include <spdlog/spdlog.h>

namespace novacron::devapi {

using nlohmann::json;

namespace {

constexpr const char* kNamespacePrefix = "/registry/namespaces/";

std::vector<std::string> finalizers(const json& obj) {
  std::vector<std::string> out;
  const json& f = obj.value("metadata", json::object()).value("finalizers", json::array());
  for (const auto& x : f) {
    if (x.is_string()) {
      out.push_back(x.get<std::string>());
    }
  }
  return out;
}

bool hasFinalizer(const json& obj, const std::string& name) {
  auto f = finalizers(obj);
  return std::find(f.begin(), f.end(), name) != f.end();
}

bool removeFinalizer(json& obj, const std::string& name) {
  if (!obj.contains("metadata") || !obj["metadata"].contains("finalizers")) {
    return false;
  }
  json& f = obj["metadata"]["finalizers"];
  json kept = json::array();
  for (const auto& x : f) {
    if (x != name) {
      kept.push_back(x);
    }
  }
  if (kept.size() == f.size()) {
    return false;
  }
  if (kept.empty()) {
    obj["metadata"].erase("finalizers");
  } else {
    f = kept;
  }
  return true;
}

}  // namespace

Controllers::Controllers(ApiServer& api, WatchHub& hub) : api_(api), hub_(hub) {}

Controllers::~Controllers() {
  stop();
}

core::Status Controllers::start() {
  hub_.subscribe([this](const HubEvent& e) {
    observe(e.key, e.is_delete || e.obj().is_null() ? nullptr : &e.obj());
  });
  NOVACRON_ASSIGN_OR_RETURN(auto all, api_.etcd().range("/registry/", prefixEnd("/registry/")));
  for (const auto& kv : all.kvs) {
    json obj = json::parse(kv.value, nullptr, false);
    if (!obj.is_discarded()) {
      observe(kv.key, &obj);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [owner, deps] : dependents_) {
      if (!live_uids_.count(owner)) {
        dead_owner_uids_.insert(owner);
      }
    }
  }
  thread_ = std::thread([this] { run(); });
  return core::okStatus();
}

void Controllers::stop() {
  stopping_ = true;
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Controllers::observe(const std::string& key, const json* obj) {
  std::lock_guard<std::mutex> lock(mu_);
  // Forget what we knew about this key.
  auto old = key_to_uid_.find(key);
  std::string old_uid = old == key_to_uid_.end() ? "" : old->second;
  for (const auto& owner : owners_of_[key]) {
    dependents_[owner].erase(key);
    if (dependents_[owner].empty()) {
      dependents_.erase(owner);
    }
  }
  owners_of_.erase(key);
  if (obj == nullptr) {
    key_to_uid_.erase(key);
    deleting_.erase(key);
    if (!old_uid.empty()) {
      live_uids_.erase(old_uid);
      if (dependents_.count(old_uid)) {
        dead_owner_uids_.insert(old_uid);
      }
    }
    // A dependent vanished: its owners' foreground deletion may now finish.
    cv_.notify_all();
    return;
  }
  const json& m = obj->value("metadata", json::object());
  std::string uid = m.value("uid", "");
  if (!old_uid.empty() && old_uid != uid) {
    live_uids_.erase(old_uid);
  }
  key_to_uid_[key] = uid;
  live_uids_.insert(uid);
  std::vector<std::string> owners;
  for (const auto& ref : m.value("ownerReferences", json::array())) {
    std::string ouid = ref.value("uid", "");
    if (!ouid.empty()) {
      owners.push_back(ouid);
      dependents_[ouid].insert(key);
      if (!live_uids_.count(ouid)) {
        dead_owner_uids_.insert(ouid);
      }
    }
  }
  if (!owners.empty()) {
    owners_of_[key] = owners;
  }
  bool deleting = m.contains("deletionTimestamp") && !m["deletionTimestamp"].is_null();
  if (deleting && (key.rfind(kNamespacePrefix, 0) == 0 || hasFinalizer(*obj, "orphan") ||
                   hasFinalizer(*obj, "foregroundDeletion"))) {
    deleting_.insert(key);
  } else {
    deleting_.erase(key);
  }
  cv_.notify_all();
}

void Controllers::run() {
  while (!stopping_) {
    std::set<std::string> dead;
    std::set<std::string> deleting;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200),
                   [&] { return stopping_.load() || !dead_owner_uids_.empty(); });
      if (stopping_) {
        return;
      }
      dead.swap(dead_owner_uids_);
      deleting = deleting_;
    }
    for (const auto& uid : dead) {
      collectDependentsOf(uid);
    }
    for (const auto& key : deleting) {
      processDeleting(key);
    }
  }
}

void Controllers::collectDependentsOf(const std::string& owner_uid) {
  std::set<std::string> deps;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (live_uids_.count(owner_uid)) {
      return;
    }
    auto it = dependents_.find(owner_uid);
    if (it == dependents_.end()) {
      return;
    }
    deps = it->second;
  }
  for (const auto& key : deps) {
    bool delete_it = false;
    auto s = api_.updateKey(key, [&](json& obj) {
      json& refs = obj["metadata"]["ownerReferences"];
      json alive = json::array();
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& r : refs) {
          if (live_uids_.count(r.value("uid", ""))) {
            alive.push_back(r);
          }
        }
      }
      if (alive.empty()) {
        delete_it = true;
        return false;
      }
      if (alive.size() == refs.size()) {
        return false;
      }
      refs = alive;
      return true;
    });
    if (delete_it) {
      s = api_.deleteKey(key, "");
    }
    if (!s.isOk() && s.code() != core::StatusCode::kNotFound) {
      spdlog::warn("garbage collector: {}: {}", key, s.toString());
      std::lock_guard<std::mutex> lock(mu_);
      dead_owner_uids_.insert(owner_uid);
    }
  }
}

void Controllers::processDeleting(const std::string& key) {
  auto cur = api_.readKey(key);
  if (!cur.isOk() || !*cur) {
    return;
  }
  const json& obj = (*cur)->obj;
  if (key.rfind(kNamespacePrefix, 0) == 0) {
    finalizeNamespace(key, key.substr(std::string(kNamespacePrefix).size()));
    return;
  }
  std::string uid = obj["metadata"].value("uid", "");
  std::set<std::string> deps;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = dependents_.find(uid);
    if (it != dependents_.end()) {
      deps = it->second;
    }
  }
  if (hasFinalizer(obj, "orphan")) {
    for (const auto& dep : deps) {
      auto s = api_.updateKey(dep, [&](json& d) {
        json& refs = d["metadata"]["ownerReferences"];
        json kept = json::array();
        for (const auto& r : refs) {
          if (r.value("uid", "") != uid) {
            kept.push_back(r);
          }
        }
        if (kept.size() == refs.size()) {
          return false;
        }
        if (kept.empty()) {
          d["metadata"].erase("ownerReferences");
        } else {
          refs = kept;
        }
        return true;
      });
      (void)s;
    }
    (void)api_.updateKey(key, [](json& o) { return removeFinalizer(o, "orphan"); });
    return;
  }
  if (hasFinalizer(obj, "foregroundDeletion")) {
    if (deps.empty()) {
      (void)api_.updateKey(key, [](json& o) { return removeFinalizer(o, "foregroundDeletion"); });
      return;
    }
    for (const auto& dep : deps) {
      auto s = api_.deleteKey(dep, "");
      (void)s;
    }
  }
}

void Controllers::finalizeNamespace(const std::string& key, const std::string& name) {
  size_t remaining = 0;
  for (const auto& t : api_.registry().namespacedStorage()) {
    std::string prefix = t->prefix(name);
    auto r = api_.etcd().range(prefix, prefixEnd(prefix));
    if (!r.isOk()) {
      return;
    }
    for (const auto& kv : r->kvs) {
      ++remaining;
      json obj = json::parse(kv.value, nullptr, false);
      if (!obj.is_discarded() && !obj["metadata"].contains("deletionTimestamp")) {
        (void)api_.deleteKey(kv.key, "");
      }
    }
  }
  if (remaining > 0) {
    return;
  }
  auto s = api_.updateKey(key, [](json& ns) {
    json& spec = ns["spec"];
    if (!spec.contains("finalizers") || spec["finalizers"].empty()) {
      return false;
    }
    spec["finalizers"] = json::array();
    return true;
  });
  if (!s.isOk() && s.code() != core::StatusCode::kNotFound) {
    spdlog::warn("namespace controller: {}: {}", key, s.toString());
  }
}

}  // namespace novacron::devapi
