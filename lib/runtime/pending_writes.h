// PendingWrites: what this process wrote that its informer cache may not show yet (the
// "expectations" of kube's controllers, reduced to one write per key). A reconcile that runs
// again before the watch delivered its own write sees the old copy, decides the same write again
// and, carrying the old resourceVersion, gets a 409 and a retry (issue 15: about a third of a
// wasted write per VM). With this, it sees that the same write, based on the same version, was
// already done, and skips it: the watch event of that write brings the key back anyway.
//
//   if (pending.alreadyWritten(key, cached.metadata.resourceVersion, fingerprint)) return ok;
//   ... write, conditional on cached.metadata.resourceVersion ...
//   pending.wrote(key, cached.metadata.resourceVersion, fingerprint);
//
// An entry only matches the exact version it was based on: once the cache shows any other version
// (ours or anyone's), the entry is dropped and the caller compares and writes as usual. So a
// change by someone else is never hidden. Thread-safety: all methods are safe from any thread.
#pragma once

#include <map>
#include <mutex>
#include <string>

namespace novacron::runtime {

class PendingWrites {
public:
  // Records a successful write of `fingerprint` (what was written, in any stable form) based on
  // `based_on` (the resourceVersion the write carried).
  void wrote(const std::string& key, const std::string& based_on, std::string fingerprint) {
    std::lock_guard lock(mu_);
    pending_[key] = Entry{based_on, std::move(fingerprint)};
  }

  // True when the same write, based on the same version, already succeeded: skip it.
  bool alreadyWritten(const std::string& key, const std::string& cached_version,
                      const std::string& fingerprint) {
    std::lock_guard lock(mu_);
    auto it = pending_.find(key);
    if (it == pending_.end()) {
      return false;
    }
    if (it->second.based_on != cached_version) {
      pending_.erase(it);  // the cache moved on: compare against what it shows now
      return false;
    }
    return it->second.fingerprint == fingerprint;
  }

  // True when a write of any fingerprint, based on `cached_version`, already succeeded: the cache
  // is behind this process's own write, so any other write based on it would only meet a 409.
  // Skip it; the watch event of the write that landed brings the key back with the new version.
  bool behindOwnWrite(const std::string& key, const std::string& cached_version) {
    std::lock_guard lock(mu_);
    auto it = pending_.find(key);
    return it != pending_.end() && it->second.based_on == cached_version;
  }

  void forget(const std::string& key) {
    std::lock_guard lock(mu_);
    pending_.erase(key);
  }

private:
  struct Entry {
    std::string based_on;
    std::string fingerprint;
  };
  std::mutex mu_;
  std::map<std::string, Entry> pending_;  // guarded by mu_
};

}  // namespace novacron::runtime
