// Background controllers that kube-controller-manager would run against a real cluster, kept
// inside the dev API server so deletion semantics match: the garbage collector (ownerReferences:
// background deletion of orphaned dependents, foregroundDeletion and orphan finalizers) and the
// namespace controller (deleting a namespace deletes its objects, then the namespace).
//
// Thread-safety: start()/stop() from one thread; event intake runs on the WatchHub thread and
// work on the controllers' own thread; shared state is guarded by mu_.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dev-apiserver/api_server.h"
#include "dev-apiserver/watch_hub.h"

namespace novacron::devapi {

class Controllers {
public:
  Controllers(ApiServer& api, WatchHub& hub);
  ~Controllers();
  core::Status start();
  void stop();

private:
  void observe(const std::string& key, const nlohmann::json* obj);
  void run();
  void collectDependentsOf(const std::string& owner_uid);
  void processDeleting(const std::string& key);
  void finalizeNamespace(const std::string& key, const std::string& name);

  ApiServer& api_;
  WatchHub& hub_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::map<std::string, std::string> key_to_uid_;  // live objects
  std::set<std::string> live_uids_;
  std::map<std::string, std::vector<std::string>> owners_of_;  // key -> owner uids
  std::map<std::string, std::set<std::string>> dependents_;    // owner uid -> keys
  std::set<std::string> dead_owner_uids_;                      // to collect
  std::set<std::string> deleting_;  // keys needing finalizer work (namespaces, fg, orphan)
};

}  // namespace novacron::devapi
