// Store<T>: the informer's read-only, thread-safe cache of decoded objects.
//
// Objects are immutable snapshots (std::shared_ptr<const T>): a reader keeps a consistent object
// for as long as it holds the pointer, however the cache changes meanwhile, and never copies it.
// To modify an object, copy it first (STYLE.md). Keys are "namespace/name" (just "name" for
// cluster-scoped objects), see objectKey().
//
// Indexers map an object to zero or more index values ("by label app=web", "by hypervisor") so
// byIndex() answers "which VMs run on hypervisor h1" without scanning. Register indexers before
// the informer starts.
// Only the informer writes (replace/upsert/remove); everyone else reads.
// Thread-safety: every method is safe from any thread (a shared_mutex: readers do not block each
// other).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/core/check.h"

namespace novacron::runtime {

// "namespace/name", or "name" when the namespace is empty.
std::string objectKey(std::string_view ns, std::string_view name);
// objectKey() of a JSON object's metadata.
std::string objectKeyOf(const nlohmann::json& object);
// Splits a key back into {namespace, name}.
std::pair<std::string, std::string> splitObjectKey(std::string_view key);

template <typename T>
class Store {
public:
  using Ptr = std::shared_ptr<const T>;
  // Index values of an object (empty: not indexed).
  using IndexFunc = std::function<std::vector<std::string>(const T&)>;

  void addIndexer(const std::string& name, IndexFunc func) {
    std::unique_lock lock(mu_);
    NOVACRON_CHECK(!indexers_.contains(name), "duplicate indexer " + name);
    indexers_[name] = std::move(func);
    auto& index = indices_[name];
    for (const auto& [key, obj] : items_) {
      for (auto& value : indexers_[name](*obj)) {
        index[value].insert(&key);
      }
    }
  }

  Ptr get(const std::string& key) const {
    std::shared_lock lock(mu_);
    auto it = items_.find(key);
    return it == items_.end() ? nullptr : it->second;
  }
  std::vector<Ptr> list() const {
    std::shared_lock lock(mu_);
    std::vector<Ptr> out;
    out.reserve(items_.size());
    for (const auto& [key, obj] : items_) {
      out.push_back(obj);
    }
    return out;
  }
  std::vector<std::string> keys() const {
    std::shared_lock lock(mu_);
    std::vector<std::string> out;
    out.reserve(items_.size());
    for (const auto& [key, obj] : items_) {
      out.push_back(key);
    }
    return out;
  }
  size_t size() const {
    std::shared_lock lock(mu_);
    return items_.size();
  }
  // Objects whose indexer `index` produced `value`. Crashes on an unknown index name (a bug).
  std::vector<Ptr> byIndex(const std::string& index, const std::string& value) const {
    std::shared_lock lock(mu_);
    auto idx = indices_.find(index);
    NOVACRON_CHECK(idx != indices_.end(), "unknown index " + index);
    std::vector<Ptr> out;
    auto it = idx->second.find(value);
    if (it != idx->second.end()) {
      for (const std::string* key : it->second) {
        out.push_back(items_.at(*key));
      }
    }
    return out;
  }
  std::vector<std::string> indexKeys(const std::string& index, const std::string& value) const {
    std::shared_lock lock(mu_);
    auto idx = indices_.find(index);
    NOVACRON_CHECK(idx != indices_.end(), "unknown index " + index);
    std::vector<std::string> out;
    if (auto it = idx->second.find(value); it != idx->second.end()) {
      out.reserve(it->second.size());
      for (const std::string* key : it->second) {
        out.push_back(*key);
      }
    }
    return out;
  }

  // --- writers (the informer) ---
  // Inserts or replaces; returns the previous snapshot (nullptr if new).
  Ptr upsert(const std::string& key, Ptr obj) {
    std::unique_lock lock(mu_);
    Ptr old;
    auto it = items_.find(key);
    if (it != items_.end()) {
      old = std::move(it->second);
      unindexLocked(it->first, *old);
      it->second = obj;
    } else {
      it = items_.emplace(key, obj).first;
    }
    indexLocked(it->first, *obj);
    return old;
  }
  // Removes; returns the removed snapshot (nullptr if absent).
  Ptr remove(const std::string& key) {
    std::unique_lock lock(mu_);
    auto it = items_.find(key);
    if (it == items_.end()) {
      return nullptr;
    }
    Ptr old = std::move(it->second);
    unindexLocked(it->first, *old);  // before the key it points to is freed
    items_.erase(it);
    return old;
  }

private:
  // `key`: the key as stored in items_ (the index points to it).
  void indexLocked(const std::string& key, const T& obj) {
    for (auto& [name, func] : indexers_) {
      for (auto& value : func(obj)) {
        indices_[name][value].insert(&key);
      }
    }
  }
  void unindexLocked(const std::string& key, const T& obj) {
    for (auto& [name, func] : indexers_) {
      auto& index = indices_[name];
      for (auto& value : func(obj)) {
        auto it = index.find(value);
        if (it != index.end()) {
          if (auto k = it->second.find(key); k != it->second.end()) {
            it->second.erase(k);
          }
          if (it->second.empty()) {
            index.erase(it);
          }
        }
      }
    }
  }

  // An index holds pointers to the keys in items_ (whose nodes never move), in key order: a copy
  // of every key per index cost ~50 B per object more (issue 15 B4).
  struct KeyLess {
    using is_transparent = void;
    bool operator()(const std::string* a, const std::string* b) const { return *a < *b; }
    bool operator()(const std::string* a, const std::string& b) const { return *a < b; }
    bool operator()(const std::string& a, const std::string* b) const { return a < *b; }
  };
  using KeySet = std::set<const std::string*, KeyLess>;

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Ptr> items_;  // guarded by mu_
  std::map<std::string, IndexFunc> indexers_;   // guarded by mu_
  // guarded by mu_; index name -> value -> keys (pointing into items_).
  std::map<std::string, std::unordered_map<std::string, KeySet>> indices_;
};

// Indexer by the value of label `label` on JSON objects (objects without the label: no entry).
std::vector<std::string> jsonLabelValues(const nlohmann::json& object, const std::string& label);

// Indexer by label for typed API objects (anything with metadata.labels) or JSON.
template <typename T>
typename Store<T>::IndexFunc labelIndexer(std::string label) {
  return [label = std::move(label)](const T& obj) -> std::vector<std::string> {
    if constexpr (std::is_same_v<T, nlohmann::json>) {
      return jsonLabelValues(obj, label);
    } else {
      auto it = obj.metadata.labels.find(label);
      if (it == obj.metadata.labels.end()) {
        return {};
      }
      return {it->second};
    }
  };
}

}  // namespace novacron::runtime
