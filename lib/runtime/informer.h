// Informer<T>: a Reflector feeding a Store<T> of decoded objects, plus event handlers.
//
//   Informer<api::VirtualMachine> vms(client, kube::kVirtualMachine,
//                                     api::fromJson<api::VirtualMachine>);
//   vms.addIndexer("hypervisor", [](const api::VirtualMachine& vm) { ... });
//   vms.addEventHandler(enqueueKeys<api::VirtualMachine>(queue));
//   vms.start();
//   vms.waitForSync(std::chrono::seconds(30));
//   auto vm = vms.store().get("default/web-1");   // std::shared_ptr<const api::VirtualMachine>
//
// Objects are decoded once, when they arrive, and cached as immutable snapshots; readers share
// them. An object that fails to decode is logged (warn), counted in
// novacron_informer_decode_errors_total{resource} and skipped: the cache keeps the last version
// that decoded (it is never dropped, so nobody acts on a false absence).
// Handlers receive the key and snapshots; per STYLE.md they should only enqueue keys. After a
// relist every listed object is reported again through on_update (like client-go's resync), and
// objects that vanished meanwhile through on_delete, so level-based reconcilers converge.
// The first list's objects are reported through on_add once the whole list is stored, in server
// order (not while it arrives): what handlers allocate for each key (a work queue's entries,
// freed after the first reconcile pass) then does not sit between the cached objects, where it
// left holes smaller than a page that malloc could not return (issue 15 B4).
// hasSynced() turns true once the first list has been stored and its handlers have run.
//
// Threads: handlers run on the reflector's threads, one event at a time, in server order.
// Thread-safety: store(), hasSynced(), waitForSync(), state() are safe from any thread;
// addIndexer/addEventHandler must be called before start().
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <prometheus/counter.h>

#include "lib/core/check.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/metrics/registry.h"
#include "lib/runtime/key_list.h"
#include "lib/runtime/reflector.h"
#include "lib/runtime/store.h"
#include "lib/runtime/workqueue.h"

namespace novacron::runtime {

namespace informer_detail {
// Non-template helpers (informer.cc).
prometheus::Counter& decodeErrors(const metrics::RegistryPtr& registry,
                                  const std::string& resource);
void logDecodeError(const std::string& resource, const std::string& key,
                    const core::Status& status);
}  // namespace informer_detail

template <typename T>
struct EventHandlers {
  using Ptr = std::shared_ptr<const T>;
  std::function<void(const std::string& key, const Ptr& obj)> on_add;
  std::function<void(const std::string& key, const Ptr& old_obj, const Ptr& new_obj)> on_update;
  std::function<void(const std::string& key, const Ptr& last)> on_delete;
};

// Handlers that enqueue the object's key on every add, update and delete.
template <typename T>
EventHandlers<T> enqueueKeys(WorkQueue& queue) {
  return EventHandlers<T>{
      [&queue](const std::string& key, const auto&) { queue.add(key); },
      [&queue](const std::string& key, const auto&, const auto&) { queue.add(key); },
      [&queue](const std::string& key, const auto&) { queue.add(key); }};
}

// Decoder for an informer of plain JSON objects.
inline core::StatusOr<nlohmann::json> identityDecoder(const nlohmann::json& json) {
  return json;
}

template <typename T>
class Informer final : private ReflectorSink {
public:
  using Ptr = std::shared_ptr<const T>;
  using Decoder = std::function<core::StatusOr<T>(const nlohmann::json&)>;

  Informer(kube::ClientPtr client, kube::ResourceType resource, Decoder decoder,
           ReflectorOptions options = {})
      : decoder_(std::move(decoder)),
        resource_name_(resource.qualifiedName()),
        decode_errors_(&informer_detail::decodeErrors(options.registry, resource_name_)),
        reflector_(std::move(client), std::move(resource), *this, std::move(options)) {}
  ~Informer() override { stop(); }
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void addIndexer(const std::string& name, typename Store<T>::IndexFunc func) {
    store_.addIndexer(name, std::move(func));
  }
  void addEventHandler(EventHandlers<T> handlers) {
    std::lock_guard lock(mu_);
    NOVACRON_CHECK(!started_, "addEventHandler after start");
    handlers_.push_back(std::move(handlers));
  }

  void start() {
    {
      std::lock_guard lock(mu_);
      started_ = true;
    }
    reflector_.start();
  }
  void stop() { reflector_.stop(); }

  bool hasSynced() const {
    std::lock_guard lock(mu_);
    return synced_;
  }
  // Waits (real time) until hasSynced(); false on timeout.
  bool waitForSync(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return synced_cv_.wait_for(lock, timeout, [this] { return synced_; });
  }

  const Store<T>& store() const { return store_; }
  ReflectorState state() const { return reflector_.state(); }
  const Reflector& reflector() const { return reflector_; }

private:
  // ReflectorSink, called on the reflector's threads, never concurrently.
  // Decodes what the reflector hands over, then frees its JSON, then puts the decoded objects
  // into the store. Since kube::listItems the reflector hands over one item at a time during a
  // list (only one item's JSON tree is alive at once, not a page's) and an empty first page to
  // start a list; the glibc heap holes this leaves are returned by the process's HeapScavenger
  // (lib/core/heap_scavenger.h; issue 15 B4, tests/bench/README.md "B4, fifth pass").
  void listPage(std::vector<nlohmann::json>&& items, bool first) override {
    if (first) {
      listed_.clear();
    }
    std::vector<std::pair<std::string, core::StatusOr<T>>> decoded;
    decoded.reserve(items.size());
    for (const auto& item : items) {
      std::string key = objectKeyOf(item);
      if (!key.empty()) {
        decoded.emplace_back(std::move(key), decoder_(item));
      }
    }
    std::vector<nlohmann::json>().swap(items);  // the page's JSON, freed at once
    for (auto& [key, object] : decoded) {
      insertDecoded(key, std::move(object), announced_);
      listed_.add(key);
    }
  }

  void listDone(const std::string&) override {
    for (const auto& key : store_.keys()) {
      if (!listed_.contains(key)) {
        // Before the first list is done, an object a failed list attempt stored was never
        // announced: it goes without an on_delete.
        if (Ptr old = store_.remove(key); old && announced_) {
          dispatchDelete(key, old);
        }
      }
    }
    if (!announced_) {
      for (size_t i = 0; i < listed_.size(); ++i) {
        const std::string key(listed_.at(i));
        if (Ptr obj = store_.get(key)) {
          dispatchUpsert(key, nullptr, obj);
        }
      }
      announced_ = true;
    }
    listed_.clear();
    {
      std::lock_guard lock(mu_);
      synced_ = true;
    }
    synced_cv_.notify_all();
  }

  void apply(kube::WatchEventType type, nlohmann::json&& object) override {
    std::string key = objectKeyOf(object);
    if (key.empty()) {
      return;
    }
    if (type == kube::WatchEventType::kDeleted) {
      if (Ptr old = store_.remove(key)) {
        dispatchDelete(key, old);
      }
      return;
    }
    upsert(key, object);
  }

  void upsert(const std::string& key, const nlohmann::json& object) {
    insertDecoded(key, decoder_(object), true);
  }

  // Stores a decoded object; reports it to the handlers if `dispatch`.
  void insertDecoded(const std::string& key, core::StatusOr<T>&& decoded, bool dispatch) {
    if (!decoded.isOk()) {
      informer_detail::logDecodeError(resource_name_, key, decoded.status());
      decode_errors_->Increment();
      return;
    }
    Ptr now = std::make_shared<const T>(std::move(decoded).value());
    Ptr old = store_.upsert(key, now);
    if (dispatch) {
      dispatchUpsert(key, old, now);
    }
  }

  // on_update if there was an `old` object, else on_add.
  void dispatchUpsert(const std::string& key, const Ptr& old, const Ptr& now) {
    for (const auto& h : handlers_) {
      if (old) {
        if (h.on_update) {
          h.on_update(key, old, now);
        }
      } else if (h.on_add) {
        h.on_add(key, now);
      }
    }
  }

  void dispatchDelete(const std::string& key, const Ptr& old) {
    for (const auto& h : handlers_) {
      if (h.on_delete) {
        h.on_delete(key, old);
      }
    }
  }

  const Decoder decoder_;
  const std::string resource_name_;
  prometheus::Counter* const decode_errors_;
  Store<T> store_;
  mutable std::mutex mu_;
  mutable std::condition_variable synced_cv_;
  bool started_ = false;                    // guarded by mu_
  bool synced_ = false;                     // guarded by mu_
  std::vector<EventHandlers<T>> handlers_;  // written before start, then read-only
  // The reflector's threads only: keys of the list in progress; whether the first list is done
  // (its objects were reported to the handlers).
  KeyList listed_;
  bool announced_ = false;
  Reflector reflector_;  // last: its thread uses everything above
};

}  // namespace novacron::runtime
