// ApiServer: the Kubernetes REST semantics of the dev API server, independent of HTTP/TLS.
// Routes a Request (discovery, OpenAPI, CRUD, list, watch, patch, subresources) to etcd via
// EtcdClient and the WatchHub, and answers the way kube-apiserver does (status codes, metav1.Status
// bodies, resourceVersion = etcd mod_revision, list resourceVersion = etcd header revision).
//
// Thread-safety: handle() may be called concurrently from many connection threads.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dev-apiserver/admission.h"
#include "dev-apiserver/authn/service_account_token.h"
#include "dev-apiserver/authz/request_gate.h"
#include "dev-apiserver/etcd_client.h"
#include "dev-apiserver/http_types.h"
#include "dev-apiserver/registry.h"
#include "dev-apiserver/watch_hub.h"
#include "lib/core/statusor.h"
#include "lib/kube/selector.h"

namespace novacron::devapi {

struct ApiServerOptions {
  std::string server_address = "127.0.0.1:6443";  // for /api serverAddressByClientCIDRs
  std::chrono::milliseconds bookmark_interval{std::chrono::seconds(5)};
  std::chrono::seconds default_watch_timeout{1800};
  // Impersonation and authorization of every request (--authorization-mode); null: AlwaysAllow.
  std::shared_ptr<authz::RequestGate> gate;
  // Mints and checks service-account tokens (TokenRequest); null: TokenRequest answers 404.
  std::shared_ptr<authn::ServiceAccountTokens> service_account_tokens;
};

// A stored object as read from etcd.
struct StoredObject {
  nlohmann::json obj;
  int64_t mod_revision = 0;
};

// A stored object read by an update: the watch hub's copy or one read from etcd, borrowed, not
// copied (a Hypervisor's status holds its ledger: copying it per write was a tenth of the server's
// CPU in issue 15's B1x).
struct StoredRef {
  const nlohmann::json& obj;
  int64_t mod_revision = 0;
};

class ApiServer {
public:
  ApiServer(EtcdClient& etcd, Registry& registry, WatchHub& hub, ApiServerOptions options);

  // Impersonates and authorizes (options.gate), then serves the request.
  Response handle(Request req);

  // Loads stored CRDs into the registry and creates the default namespaces and kube's bootstrap
  // RBAC roles and bindings (auth_bootstrap.h) where they are missing.
  core::Status bootstrap();

  // Key-level operations for the background controllers (GC, namespace deletion).
  // Deletes the object at `key` the way a DELETE would (finalizers respected); `add_finalizer`
  // ("foregroundDeletion"/"orphan"/"") is added first. NotFound if absent.
  core::Status deleteKey(const std::string& key, const std::string& add_finalizer);
  // Read-modify-write with retries; `mutate` returns false to skip the write. An object that is
  // being deleted and loses its last finalizer is removed.
  core::Status updateKey(const std::string& key,
                         const std::function<bool(nlohmann::json&)>& mutate);
  core::StatusOr<std::optional<StoredObject>> readKey(const std::string& key);

  Registry& registry() { return registry_; }
  EtcdClient& etcd() { return etcd_; }

private:
  struct Target {  // parsed resource path
    ResourceTypePtr type;
    std::string ns;
    std::string name;
    std::string sub;
    std::string key() const { return type->key(type->namespaced ? ns : "", name); }
    std::string prefix() const { return type->prefix(type->namespaced ? ns : ""); }
  };
  Response route(const Request& req);
  Response handleResource(const Request& req, Target& t);
  Response getObject(const Request& req, const Target& t);
  Response listObjects(const Request& req, const Target& t);
  Response watchObjects(const Request& req, const Target& t);
  Response createObject(const Request& req, const Target& t);
  Response updateObject(const Request& req, const Target& t, const nlohmann::json* body,
                        const std::string& patch_type, const nlohmann::json* patch);
  Response deleteObject(const Request& req, const Target& t);
  // Records a namespace deletion (its Terminating mark or its removal) at `revision`.
  void noteDeleted(const ResourceType& type, int64_t revision);
  Response deleteCollection(const Request& req, const Target& t);

  // One attempt of a PUT or PATCH on `current` (body for a PUT, patch for a PATCH).
  Response updateAttempt(const Request& req, const Target& t, const StoredRef& current,
                         const nlohmann::json* body, PatchType pt, const nlohmann::json* patch,
                         bool* committed);
  // Shared write path for PUT and PATCH: `desired` is the client's new object. `committed` is
  // set when the object was written to (or removed from) etcd.
  Response writeUpdate(const Request& req, const Target& t, const StoredRef& current,
                       nlohmann::json desired, bool rv_from_client, bool* committed);

  // Converts a stored object into what a client of type `t` sees (apiVersion, resourceVersion,
  // pruning/defaulting for CRs, events conversion). `defaulted`: the object is the one this request
  // just defaulted (a write's), so the schema is not walked again for it.
  nlohmann::json present(const ResourceType& t, nlohmann::json obj, int64_t rev,
                         bool defaulted = false) const;

  // POST serviceaccounts/<name>/token (TokenRequest).
  Response createToken(const Request& req, const Target& t);

  Response discovery(const Request& req, const std::vector<std::string>& seg);
  Response openapi(const Request& req, const std::vector<std::string>& seg);

  EtcdClient& etcd_;
  Registry& registry_;
  WatchHub& hub_;
  // The etcd revision of this server's last namespace deletion: the hub's copy of a namespace is
  // trusted by creates only once the hub has seen it.
  std::atomic<int64_t> namespace_deleted_rev_{0};
  ApiServerOptions options_;
};

// Exposed for unit tests.
nlohmann::json toTable(const ResourceType& t, const std::vector<nlohmann::json>& objects,
                       const std::string& resource_version, bool include_object);
// Evaluates a simple JSONPath (".status.phase", ".spec.items[0].name") against obj.
nlohmann::json evalJsonPath(const nlohmann::json& obj, const std::string& path);
// Continue tokens as kube encodes them: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"key"}.
std::string encodeContinue(int64_t rv, const std::string& start);
bool decodeContinue(const std::string& token, int64_t* rv, std::string* start);
// The fieldSelector values of an object (for the given supported paths).
std::map<std::string, std::string> fieldValues(const nlohmann::json& obj,
                                               const std::vector<std::string>& paths);
std::map<std::string, std::string> labelsOf(const nlohmann::json& obj);
// The label and field selectors of a list or watch; InvalidArgument worded like kube-apiserver
// when either does not parse or a field is not in `supported_fields`.
struct Selectors {
  kube::Selector labels;
  kube::Selector fields;
};
core::StatusOr<Selectors> parseSelectors(std::string_view label_selector,
                                         std::string_view field_selector,
                                         const std::vector<std::string>& supported_fields);
// events.k8s.io/v1 <-> core/v1 Event field mapping (storage is core/v1).
nlohmann::json eventToCore(nlohmann::json ev);
nlohmann::json eventFromCore(nlohmann::json ev);

}  // namespace novacron::devapi
