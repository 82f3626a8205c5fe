// Client: the dynamic (JSON) Kubernetes API client every component talks through.
//
// Objects are nlohmann::json values exactly as the API server sends them. RestClient
// (rest_client.h) implements this over an HttpTransport; tests use the in-memory FakeClient
// (tests/mocks/mock_kube_client.h). TypedClient<T> (typed_client.h) adds codecs on top.
//
// Errors are core::Status codes the caller can act on (see lib/core/status.h):
//   404 → kNotFound, 409 → kConflict (reason AlreadyExists → kAlreadyExists), 410 → kGone,
//   400/422 → kInvalidArgument (message lists the causes), 429 → kResourceExhausted with
//   retryAfter(), 5xx → kUnavailable (500 → kInternal), 401 → kUnauthenticated,
//   403 → kPermissionDenied; transport failures → kUnavailable / kDeadlineExceeded.
//   A JSON patch that does not apply to the stored object (failed "test" op, missing path: 422
//   without field causes) → kConflict, since it means the object changed since it was read.
//
// Namespaces: for namespaced resources `ns` names the namespace; for create/update/updateStatus an
// empty `ns` falls back to the object's metadata.namespace. For cluster-scoped resources `ns` is
// ignored. list/watch with an empty `ns` span all namespaces.
// Thread-safety: implementations must allow concurrent calls from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lib/core/status.h"
#include "lib/core/statusor.h"
#include "lib/kube/resource.h"

namespace novacron::kube {

using Json = nlohmann::json;

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 0;             // 0: no limit
  std::string continue_token;    // from the previous page's metadata.continue
  std::string resource_version;  // "" (most recent, quorum read), "0" (any cached), or a version
};

enum class PatchType {
  kMerge,      // application/merge-patch+json (RFC 7386)
  kJsonPatch,  // application/json-patch+json (RFC 6902); the patch is a JSON array of operations
};

struct DeleteOptions {
  std::optional<std::string> precondition_uid;
  std::optional<std::string> precondition_resource_version;
  std::optional<std::string> propagation_policy;  // "Foreground", "Background", "Orphan"
  std::optional<int64_t> grace_period_seconds;
};

struct WatchOptions {
  std::string resource_version;  // start after this version; "" = from "now" (with initial ADDEDs)
  bool allow_watch_bookmarks = true;
  std::optional<int64_t> timeout_seconds;  // server ends the watch after this long
  std::string label_selector;
  std::string field_selector;
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };
std::string_view watchEventTypeName(WatchEventType type);  // "ADDED", ...

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  // The object (for kBookmark only apiVersion/kind/metadata.resourceVersion are meaningful; for
  // kError a metav1.Status).
  Json object;
};

// Called for each event on the watch's own thread, in server order. Return false to stop.
// An ERROR event is delivered, then the watch ends with the status it carries (code 410 → kGone).
using WatchCallback = std::function<bool(WatchEvent&& event)>;

class WatchHandle {
public:
  virtual ~WatchHandle() = default;
  // Asks the watch to stop; returns at once. Idempotent; safe from any thread, including from the
  // callback.
  virtual void stop() = 0;
  // Blocks until the watch ended (no callback runs afterwards) and says how:
  //   OK          the server ended the stream normally (timeout, restart): resume from the last
  //               resourceVersion seen;
  //   kGone       the resourceVersion is too old: relist;
  //   kCancelled  stop() was called or the callback returned false;
  //   other       a failure (kUnavailable, kDeadlineExceeded, ...): back off, then resume.
  virtual core::Status wait() = 0;
  // True once the watch ended and no callback is running.
  virtual bool done() const = 0;
};
// Destroying a handle stops the watch and waits for its thread to finish.
using WatchHandlePtr = std::unique_ptr<WatchHandle>;

class Client {
public:
  virtual ~Client() = default;

  [[nodiscard]] virtual core::StatusOr<Json> get(const ResourceType& resource, std::string_view ns,
                                                 std::string_view name) = 0;

  // Returns the List object: "items", "metadata.resourceVersion", "metadata.continue".
  [[nodiscard]] virtual core::StatusOr<Json> list(const ResourceType& resource, std::string_view ns,
                                                  const ListOptions& options) = 0;

  [[nodiscard]] virtual core::StatusOr<Json> create(const ResourceType& resource,
                                                    std::string_view ns, const Json& object) = 0;

  // PUT of the whole object; conditional on its metadata.resourceVersion when set (else
  // unconditional). kConflict when the version is stale.
  [[nodiscard]] virtual core::StatusOr<Json> update(const ResourceType& resource,
                                                    std::string_view ns, const Json& object) = 0;

  // PUT to the status subresource; same precondition rules as update().
  [[nodiscard]] virtual core::StatusOr<Json> updateStatus(const ResourceType& resource,
                                                          std::string_view ns,
                                                          const Json& object) = 0;

  // `subresource` is "" or "status".
  [[nodiscard]] virtual core::StatusOr<Json> patch(const ResourceType& resource,
                                                   std::string_view ns, std::string_view name,
                                                   PatchType type, const Json& patch,
                                                   std::string_view subresource = {}) = 0;

  // OK also when the object only got a deletionTimestamp (finalizers pending).
  [[nodiscard]] virtual core::Status remove(const ResourceType& resource, std::string_view ns,
                                            std::string_view name,
                                            const DeleteOptions& options = {}) = 0;

  // Opens a watch. Errors that happen before any event (e.g. HTTP 410 for a too-old version, which
  // is kGone) are returned here; later ones are reported by WatchHandle::wait().
  [[nodiscard]] virtual core::StatusOr<WatchHandlePtr> watch(const ResourceType& resource,
                                                             std::string_view ns,
                                                             const WatchOptions& options,
                                                             WatchCallback callback) = 0;
};
using ClientPtr = std::shared_ptr<Client>;

}  // namespace novacron::kube
