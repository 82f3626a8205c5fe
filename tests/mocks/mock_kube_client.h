// FakeClient: an in-memory kube::Client that behaves like an API server closely enough to unit-test
// reflectors, informers, leader election and reconcilers without one. Where it models a rule, it
// follows kube-apiserver as the dev API server does; tests/contract/kube_client_contract_test.cc
// runs the same cases against both and is the place to add a case before changing a rule here.
//
// What it models:
//   - one cluster-wide resourceVersion counter; every write bumps it and stamps the object;
//     writes that change nothing keep the version; uid and creationTimestamp on create;
//   - metadata.generation for custom resources (group not "" and not *.k8s.io) and CRDs only:
//     1 on create, +1 when anything outside metadata/status changes and when deletion starts;
//     other kinds (ConfigMap, Lease, Event, ...) have none;
//   - optimistic concurrency: update/updateStatus/patch/remove with a stale resourceVersion (or
//     uid precondition) → kConflict; create of an existing name → kAlreadyExists; generateName;
//   - a status subresource for custom resources, CRDs and Namespaces (update ignores .status,
//     updateStatus changes only .status; create of a custom resource drops .status); other kinds
//     answer updateStatus and status patches with kNotFound; custom resources refuse
//     unconditional updates (no resourceVersion → kInvalidArgument);
//   - finalizers: remove() of an object with finalizers only sets deletionTimestamp (and
//     deletionGracePeriodSeconds 0); no finalizer can be added after that (kInvalidArgument); the
//     write that empties the finalizers deletes the object (its DELETED event carries the last
//     stored state);
//   - list with label selectors, field selectors (metadata.name, metadata.namespace and the few
//     per-kind fields kube supports; =, ==, != only; others → kInvalidArgument), limit/continue;
//   - watch from "" (synthetic ADDEDs of current state), or from a resourceVersion (replays the
//     retained history after it; older than the retained history → an ERROR event with code 410,
//     then wait() reports kGone, as from kube-apiserver); label/field selectors with
//     ADDED/DELETED when an object enters/leaves the selection; bookmarks on request;
//   - JSON patch failures: a failed "test" op or a missing path → kConflict (as RestClient reports
//     kube-apiserver's 422 for them), a malformed patch → kInvalidArgument.
// Fault injection: failNext(), setCallHook(), compact(), endWatches(), sendBookmarks(),
// setGoneAsErrorEvent(). Each watch delivers on its own thread, in resourceVersion order, never
// under the fake's lock. Thread-safety: all methods are safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "lib/core/clock.h"
#include "lib/kube/client.h"

namespace novacron::testing {

class FakeClient final : public kube::Client {
public:
  enum class Verb { kGet, kList, kCreate, kUpdate, kUpdateStatus, kPatch, kDelete, kWatch };
  struct Action {
    Verb verb;
    std::string resource;  // plural, e.g. "leases"
    std::string ns;
    std::string name;
  };

  explicit FakeClient(core::ClockPtr clock = nullptr);
  ~FakeClient() override;  // ends every open watch (they report kCancelled)

  // kube::Client
  core::StatusOr<kube::Json> get(const kube::ResourceType& resource, std::string_view ns,
                                 std::string_view name) override;
  core::StatusOr<kube::Json> list(const kube::ResourceType& resource, std::string_view ns,
                                  const kube::ListOptions& options) override;
  core::StatusOr<kube::Json> create(const kube::ResourceType& resource, std::string_view ns,
                                    const kube::Json& object) override;
  core::StatusOr<kube::Json> update(const kube::ResourceType& resource, std::string_view ns,
                                    const kube::Json& object) override;
  core::StatusOr<kube::Json> updateStatus(const kube::ResourceType& resource, std::string_view ns,
                                          const kube::Json& object) override;
  core::StatusOr<kube::Json> patch(const kube::ResourceType& resource, std::string_view ns,
                                   std::string_view name, kube::PatchType type,
                                   const kube::Json& patch,
                                   std::string_view subresource = {}) override;
  core::Status remove(const kube::ResourceType& resource, std::string_view ns,
                      std::string_view name, const kube::DeleteOptions& options = {}) override;
  core::StatusOr<kube::WatchHandlePtr> watch(const kube::ResourceType& resource,
                                             std::string_view ns, const kube::WatchOptions& options,
                                             kube::WatchCallback callback) override;

  // --- test controls ---
  // Makes the next `times` calls of `verb` on `plural` ("" = any resource) fail with `error`
  // before touching the store. Injected failures are not recorded as actions.
  void failNext(Verb verb, std::string plural, core::Status error, int times = 1);
  // Calls `hook` at the start of every call (before failure injection), outside the fake's lock:
  // a test can hold a call back there (a slow API server) to make callers overlap. Empty: none.
  using CallHook = std::function<void(Verb verb, const std::string& plural)>;
  void setCallHook(CallHook hook);
  // Every call made so far (after failure injection), in order.
  std::vector<Action> actions() const;
  size_t countActions(Verb verb, std::string_view plural = {}) const;
  void clearActions();

  // Forgets the event history: watches from any version before now get kGone (like an etcd
  // compaction). Also bounds the history kept from now on when `limit` is given.
  void compact();
  void setHistoryLimit(size_t limit);
  // Sends a BOOKMARK at the current resourceVersion to every watch that allowed bookmarks.
  void sendBookmarks();
  // Ends every open watch: OK = a normal end (as a server timeout), kGone = an ERROR event with
  // code 410 first, anything else = the watch fails with that status.
  void endWatches(core::Status status = core::okStatus());
  // How a watch from a compacted resourceVersion fails: true (default, what kube-apiserver does) =
  // watch() succeeds and the stream carries an ERROR event with code 410, so wait() reports kGone;
  // false = watch() itself returns kGone (what a client sees when the 410 arrives as the HTTP
  // status of the watch request).
  void setGoneAsErrorEvent(bool on);
  // Number of watches still open.
  int activeWatches() const;
  // The current cluster-wide resourceVersion.
  int64_t resourceVersion() const;
  // Every stored object of a resource (all namespaces), sorted by namespace/name.
  std::vector<kube::Json> objects(const kube::ResourceType& resource) const;

  struct WatchState;  // internal, shared with the watch's handle

private:
  struct Stored {
    kube::Json object;
  };
  struct HistoryEvent {
    std::string resource;  // qualifiedName
    kube::WatchEventType type;
    kube::Json object;
    kube::Json old_object;  // null for ADDED
    int64_t rv;
  };
  using Key = std::pair<std::string, std::string>;  // namespace, name

  core::Status injectedFailure(Verb verb, const kube::ResourceType& resource);
  void record(Verb verb, const kube::ResourceType& resource, std::string_view ns,
              std::string_view name);
  std::string resolveNamespace(const kube::ResourceType& resource, std::string_view ns,
                               const kube::Json& object) const;
  core::StatusOr<kube::Json> writeLocked(const kube::ResourceType& resource, const Key& key,
                                         kube::Json desired, bool status_only);
  core::StatusOr<kube::Json> applyUpdateLocked(const kube::ResourceType& resource, const Key& key,
                                               const kube::Json& object, bool status_only);
  void emitLocked(const kube::ResourceType& resource, kube::WatchEventType type,
                  const kube::Json& object, const kube::Json& old_object);
  std::string nowTimestamp() const;

  const core::ClockPtr clock_;
  mutable std::mutex mu_;
  int64_t rv_ = 0;                                          // guarded by mu_
  int64_t uid_counter_ = 0;                                 // guarded by mu_
  std::map<std::string, std::map<Key, kube::Json>> store_;  // guarded by mu_
  std::deque<HistoryEvent> history_;                        // guarded by mu_
  int64_t compacted_rv_ = 0;                                // guarded by mu_
  size_t history_limit_ = 100000;                           // guarded by mu_
  bool gone_as_error_event_ = true;                         // guarded by mu_
  std::vector<std::shared_ptr<WatchState>> watches_;        // guarded by mu_
  struct Failure {
    Verb verb;
    std::string plural;
    core::Status error;
    int times;
  };
  std::vector<Failure> failures_;         // guarded by mu_
  std::shared_ptr<const CallHook> hook_;  // guarded by mu_
  std::vector<Action> actions_;           // guarded by mu_
};

}  // namespace novacron::testing
