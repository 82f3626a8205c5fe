#include "dev-apiserver/api_server.h"

#include <algorithm>
#include <optional>
#include <regex>
#include <thread>

#include <spdlog/spdlog.h>

#include "dev-apiserver/admission.h"
#include "dev-apiserver/authz/access_review.h"
#include "dev-apiserver/authz/bootstrap_policy.h"
#include "dev-apiserver/base64.h"
#include "dev-apiserver/bookmark_schedule.h"
#include "dev-apiserver/protobuf_decode.h"
#include "dev-apiserver/util.h"

namespace novacron::devapi {

using nlohmann::json;

namespace {

constexpr const char* kCrdPrefix = "/registry/apiextensions.k8s.io/customresourcedefinitions/";

Response jsonResponse(int code, const json& body) {
  Response r;
  r.code = code;
  r.body = body.dump();
  return r;
}

Response statusResponse(const json& status) {
  return jsonResponse(status.value("code", 500), status);
}

Response errorResponse(int code, const std::string& reason, const std::string& message,
                       json details = nullptr) {
  return statusResponse(statusBody(code, reason, message, std::move(details)));
}

json gvrDetails(const ResourceType& t, const std::string& name) {
  json d = {{"name", name}, {"kind", t.resource}};
  if (!t.group.empty()) {
    d["group"] = t.group;
  }
  return d;
}

Response notFound(const ResourceType& t, const std::string& name) {
  return errorResponse(404, "NotFound", t.groupResource() + " \"" + name + "\" not found",
                       gvrDetails(t, name));
}

Response conflict(const ResourceType& t, const std::string& name, const std::string& why) {
  return errorResponse(
      409, "Conflict",
      "Operation cannot be fulfilled on " + t.groupResource() + " \"" + name + "\": " + why,
      gvrDetails(t, name));
}

const char* kModified =
    "the object has been modified; please apply your changes to the latest version and try again";

Response internalError(const core::Status& s) {
  return errorResponse(500, "InternalError", "Internal error occurred: " + s.toString());
}

Response fromStatus(const core::Status& s) {
  if (s.code() == core::StatusCode::kGone) {
    return errorResponse(410, "Expired", s.message());
  }
  if (s.code() == core::StatusCode::kUnavailable) {
    return errorResponse(503, "ServiceUnavailable", s.message());
  }
  return internalError(s);
}

bool wantsTable(const std::string& accept) {
  return accept.find("as=Table") != std::string::npos;
}

bool isCrdType(const ResourceType& t) {
  return t.group == "apiextensions.k8s.io" && t.resource == "customresourcedefinitions";
}

bool usesGeneration(const ResourceType& t) {
  return t.custom || isCrdType(t);
}

// kube-apiserver's AllowUnconditionalUpdate() is false for custom resources (customresource
// strategy) and for CRDs themselves (customresourcedefinition strategy), true for the built-in
// kinds served here.
bool refusesUnconditionalUpdate(const ResourceType& t) {
  return t.custom || isCrdType(t);
}

// Patch media types kube-apiserver accepts: strategic merge only for built-in kinds. The dev
// server does not implement server-side apply, so apply-patch+yaml is not listed.
std::string acceptedPatchTypes(const ResourceType& t) {
  return t.custom ? "application/json-patch+json, application/merge-patch+json"
                  : "application/json-patch+json, application/merge-patch+json, "
                    "application/strategic-merge-patch+json";
}

// The patch type of a PATCH request's Content-Type, or nullopt when the type does not accept it.
std::optional<PatchType> patchTypeOf(const ResourceType& t, const std::string& content_type) {
  std::string ct = content_type.substr(0, content_type.find(';'));
  if (ct == "application/merge-patch+json") {
    return PatchType::kMerge;
  }
  if (ct == "application/json-patch+json") {
    return PatchType::kJson;
  }
  if (ct == "application/strategic-merge-patch+json" && !t.custom) {
    // Strategic merge on the built-in kinds is applied as a merge patch (patch merge keys are not
    // honoured). Custom resources answer 415 like kube-apiserver.
    return PatchType::kStrategicMerge;
  }
  return std::nullopt;
}

Response unsupportedMediaType(const std::string& accepted) {
  return errorResponse(
      415, "UnsupportedMediaType",
      "the body of the request was in an unknown format - accepted media types include: " +
          accepted);
}

std::string query(const Request& req, const std::string& k) {
  auto it = req.query.find(k);
  return it == req.query.end() ? "" : it->second;
}

json& meta(json& obj) {
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) {
    obj["metadata"] = json::object();
  }
  return obj["metadata"];
}

std::string metaString(const json& obj, const char* field) {
  if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) {
    return "";
  }
  const json& m = obj["metadata"];
  auto it = m.find(field);
  if (it == m.end() || !it->is_string()) {
    return "";
  }
  return it->get<std::string>();
}

std::vector<std::string> finalizersOf(const json& obj) {
  std::vector<std::string> out;
  if (obj.contains("metadata") && obj["metadata"].contains("finalizers") &&
      obj["metadata"]["finalizers"].is_array()) {
    for (const auto& f : obj["metadata"]["finalizers"]) {
      if (f.is_string()) {
        out.push_back(f.get<std::string>());
      }
    }
  }
  return out;
}

bool isDeleting(const json& obj) {
  return !metaString(obj, "deletionTimestamp").empty();
}

// Whether the parts of two objects whose change bumps metadata.generation differ (everything but
// metadata, apiVersion, kind and, where the type has the subresource, status). Compared in place:
// copying the objects would copy their status too.
bool specPartDiffers(const ResourceType& t, const json& a, const json& b) {
  if (!a.is_object() || !b.is_object()) {
    return a != b;
  }
  auto counts = [&t](const std::string& key) {
    return key != "metadata" && key != "apiVersion" && key != "kind" &&
           !(t.has_status && key == "status");
  };
  for (auto it = a.begin(); it != a.end(); ++it) {
    if (!counts(it.key())) {
      continue;
    }
    auto other = b.find(it.key());
    if (other == b.end() || *other != it.value()) {
      return true;
    }
  }
  for (auto it = b.begin(); it != b.end(); ++it) {
    if (counts(it.key()) && !a.contains(it.key())) {
      return true;
    }
  }
  return false;
}

const std::regex kSubdomain("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");
const std::regex kLabel("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");

std::optional<SimpleFieldError> validateName(const ResourceType& t, const std::string& name) {
  bool label = t.resource == "namespaces";
  bool ok = label ? (name.size() <= 63 && std::regex_match(name, kLabel))
                  : (name.size() <= 253 && std::regex_match(name, kSubdomain));
  if (ok) {
    return std::nullopt;
  }
  std::string detail =
      label ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
              "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
              "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
              "characters, '-' or '.', and must start and end with an alphanumeric character "
              "(e.g. 'example.com', regex used for validation is "
              "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  return SimpleFieldError{"FieldValueInvalid", "metadata.name",
                          "Invalid value: \"" + name + "\": " + detail};
}

json crdStatus(const json& crd) {
  json names = crd["spec"].value("names", json::object());
  if (!names.contains("singular") && names.contains("kind")) {
    std::string s = names["kind"].get<std::string>();
    std::transform(s.begin(), s.end(), s.begin(), ::tolower);
    names["singular"] = s;
  }
  if (!names.contains("listKind") && names.contains("kind")) {
    names["listKind"] = names["kind"].get<std::string>() + "List";
  }
  std::string now = rfc3339Now();
  json stored = json::array();
  for (const auto& v : crd["spec"].value("versions", json::array())) {
    if (v.value("storage", false)) {
      stored.push_back(v.value("name", ""));
    }
  }
  return {{"acceptedNames", names},
          {"conditions",
           {{{"type", "NamesAccepted"},
             {"status", "True"},
             {"reason", "NoConflicts"},
             {"message", "no conflicts found"},
             {"lastTransitionTime", now}},
            {{"type", "Established"},
             {"status", "True"},
             {"reason", "InitialNamesAccepted"},
             {"message", "the initial names have been accepted"},
             {"lastTransitionTime", now}}}},
          {"storedVersions", stored}};
}

// Secrets: stringData is write-only and merged into data (base64), as kube does.
void normalizeSecret(json& obj) {
  if (obj.contains("stringData") && obj["stringData"].is_object()) {
    if (!obj.contains("data") || !obj["data"].is_object()) {
      obj["data"] = json::object();
    }
    for (auto& [k, v] : obj["stringData"].items()) {
      if (v.is_string()) {
        obj["data"][k] = base64Encode(v.get<std::string>());
      }
    }
  }
  obj.erase("stringData");
  if (!obj.contains("type")) {
    obj["type"] = "Opaque";
  }
}

// Takes the object by value: a caller done with it moves it in, and a Hypervisor with a ledger of
// 400 entries is not copied once more per rendered event.
std::string watchEventLine(const char* type, json object) {
  json e = json::object();
  e["type"] = type;
  e["object"] = std::move(object);
  std::string line = e.dump();
  line += '\n';
  return line;
}

}  // namespace

std::map<std::string, std::string> labelsOf(const json& obj) {
  std::map<std::string, std::string> out;
  if (obj.is_object() && obj.contains("metadata") && obj["metadata"].contains("labels") &&
      obj["metadata"]["labels"].is_object()) {
    for (auto& [k, v] : obj["metadata"]["labels"].items()) {
      if (v.is_string()) {
        out[k] = v.get<std::string>();
      }
    }
  }
  return out;
}

core::StatusOr<Selectors> parseSelectors(std::string_view label_selector,
                                         std::string_view field_selector,
                                         const std::vector<std::string>& supported_fields) {
  auto labels = kube::Selector::parse(label_selector);
  if (!labels.isOk()) {
    return core::invalidArgumentError("unable to parse requirement: " + labels.status().message());
  }
  NOVACRON_ASSIGN_OR_RETURN(auto fields, kube::Selector::parseFields(field_selector));
  for (const auto& r : fields.requirements()) {
    if (std::find(supported_fields.begin(), supported_fields.end(), r.key) ==
        supported_fields.end()) {
      return core::invalidArgumentError("field label not supported: " + r.key);
    }
  }
  return Selectors{std::move(*labels), std::move(fields)};
}

std::map<std::string, std::string> fieldValues(const json& obj,
                                               const std::vector<std::string>& paths) {
  std::map<std::string, std::string> out;
  for (const auto& p : paths) {
    std::string path = p == "source" ? "source.component" : p;
    const json* cur = &obj;
    size_t start = 0;
    bool ok = true;
    while (ok) {
      auto dot = path.find('.', start);
      std::string part =
          path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (!cur->is_object() || !cur->contains(part)) {
        ok = false;
        break;
      }
      cur = &(*cur)[part];
      if (dot == std::string::npos) {
        break;
      }
      start = dot + 1;
    }
    if (ok && cur->is_string()) {
      out[p] = cur->get<std::string>();
    } else if (ok && !cur->is_null() && !cur->is_object()) {
      out[p] = cur->dump();
    } else {
      out[p] = "";
    }
  }
  return out;
}

std::string encodeContinue(int64_t rv, const std::string& start) {
  json j = {{"v", "meta.k8s.io/v1"}, {"rv", rv}, {"start", start}};
  // kube uses unpadded URL-safe base64 so tokens travel in query strings unescaped.
  std::string t = base64Encode(j.dump());
  std::replace(t.begin(), t.end(), '+', '-');
  std::replace(t.begin(), t.end(), '/', '_');
  while (!t.empty() && t.back() == '=') {
    t.pop_back();
  }
  return t;
}

bool decodeContinue(const std::string& token, int64_t* rv, std::string* start) {
  std::string t = token;
  // Tokens may arrive unpadded or URL-safe from some clients.
  std::replace(t.begin(), t.end(), '-', '+');
  std::replace(t.begin(), t.end(), '_', '/');
  while (t.size() % 4 != 0) {
    t.push_back('=');
  }
  auto raw = base64Decode(t);
  if (!raw) {
    return false;
  }
  json j = json::parse(*raw, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("v", "") != "meta.k8s.io/v1" ||
      !j.contains("rv") || !j["rv"].is_number_integer() || !j.contains("start") ||
      !j["start"].is_string()) {
    return false;
  }
  *rv = j["rv"].get<int64_t>();
  *start = j["start"].get<std::string>();
  return *rv > 0;
}

namespace {

const std::vector<std::pair<std::string, std::string>> kEventRenames = {
    {"regarding", "involvedObject"},
    {"note", "message"},
    {"reportingController", "reportingComponent"},
    {"deprecatedSource", "source"},
    {"deprecatedFirstTimestamp", "firstTimestamp"},
    {"deprecatedLastTimestamp", "lastTimestamp"},
    {"deprecatedCount", "count"},
};

}  // namespace

json eventToCore(json ev) {
  for (const auto& [from, to] : kEventRenames) {
    if (ev.contains(from)) {
      ev[to] = ev[from];
      ev.erase(from);
    }
  }
  ev["apiVersion"] = "v1";
  return ev;
}

json eventFromCore(json ev) {
  for (const auto& [to, from] : kEventRenames) {
    if (ev.contains(from)) {
      ev[to] = ev[from];
      ev.erase(from);
    }
  }
  ev["apiVersion"] = "events.k8s.io/v1";
  return ev;
}

namespace {

// Field selectors apply to the object as the client's API version shows it (events.k8s.io/v1
// Events are stored as core/v1 Events).
std::map<std::string, std::string> selectableFields(const ResourceType& t, const json& obj) {
  if (t.group == "events.k8s.io") {
    return fieldValues(eventFromCore(obj), t.field_selectors);
  }
  return fieldValues(obj, t.field_selectors);
}

}  // namespace

ApiServer::ApiServer(EtcdClient& etcd, Registry& registry, WatchHub& hub, ApiServerOptions options)
    : etcd_(etcd), registry_(registry), hub_(hub), options_(std::move(options)) {}

core::Status ApiServer::bootstrap() {
  NOVACRON_ASSIGN_OR_RETURN(auto crds, etcd_.range(kCrdPrefix, prefixEnd(kCrdPrefix)));
  for (const auto& kv : crds.kvs) {
    json crd = json::parse(kv.value, nullptr, false);
    if (crd.is_discarded()) {
      continue;
    }
    std::string name = metaString(crd, "name");
    auto s = registry_.applyCrd(name, &crd);
    if (!s.isOk()) {
      spdlog::warn("stored CRD {} does not compile: {}", name, s.toString());
    }
  }
  auto ns_type = registry_.find("", "v1", "namespaces");
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    json obj = {{"apiVersion", "v1"},
                {"kind", "Namespace"},
                {"metadata",
                 {{"name", ns},
                  {"uid", newUid()},
                  {"creationTimestamp", rfc3339Now()},
                  {"labels", {{"kubernetes.io/metadata.name", ns}}}}},
                {"spec", {{"finalizers", {"kubernetes"}}}},
                {"status", {{"phase", "Active"}}}};
    NOVACRON_ASSIGN_OR_RETURN(auto r, etcd_.create(ns_type->key("", ns), obj.dump()));
    (void)r;
  }
  for (const auto& [key, obj] : authz::bootstrapPolicy()) {
    NOVACRON_ASSIGN_OR_RETURN(auto r, etcd_.create(key, obj.dump()));
    (void)r;
  }
  return core::okStatus();
}

json ApiServer::present(const ResourceType& t, json obj, int64_t rev, bool defaulted) const {
  if (t.group == "events.k8s.io") {
    obj = eventFromCore(std::move(obj));
  }
  obj["apiVersion"] = t.apiVersion();
  obj["kind"] = t.kind;
  meta(obj)["resourceVersion"] = std::to_string(rev);
  if (t.custom && t.schema && !defaulted) {
    t.schema->applyDefaults(obj);
  }
  return obj;
}

core::StatusOr<std::optional<StoredObject>> ApiServer::readKey(const std::string& key) {
  NOVACRON_ASSIGN_OR_RETURN(auto kv, etcd_.get(key));
  if (!kv) {
    return std::optional<StoredObject>();
  }
  json obj = json::parse(kv->value, nullptr, false);
  if (obj.is_discarded()) {
    return core::internalError("undecodable object at " + key);
  }
  return std::optional<StoredObject>(StoredObject{std::move(obj), kv->mod_revision});
}

Response ApiServer::handle(Request req) {
  try {
    if (options_.gate) {
      if (json refused = options_.gate->admit(req); !refused.is_null()) {
        return statusResponse(refused);
      }
    }
    return route(req);
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", req.method, req.path, e.what());
    return errorResponse(500, "InternalError", std::string("Internal error occurred: ") + e.what());
  }
}

Response ApiServer::route(const Request& req) {
  std::vector<std::string> seg;
  {
    size_t start = 0;
    while (start < req.path.size()) {
      auto slash = req.path.find('/', start);
      if (slash == std::string::npos) {
        slash = req.path.size();
      }
      if (slash > start) {
        seg.push_back(req.path.substr(start, slash - start));
      }
      start = slash + 1;
    }
  }
  if (seg.empty()) {
    json paths = {"/api",        "/api/v1",     "/apis",   "/healthz", "/livez",
                  "/openapi/v2", "/openapi/v3", "/readyz", "/version"};
    return jsonResponse(200, {{"paths", paths}});
  }
  if (seg[0] == "healthz" || seg[0] == "livez" || seg[0] == "readyz") {
    Response r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "ok";
    return r;
  }
  if (seg[0] == "version") {
    return jsonResponse(200, {{"major", "1"},
                              {"minor", "32"},
                              {"gitVersion", "v1.32.0-novacron-dev"},
                              {"gitCommit", "0000000000000000000000000000000000000000"},
                              {"gitTreeState", "clean"},
                              {"buildDate", "2026-01-01T00:00:00Z"},
                              {"goVersion", "go1.23.0"},
                              {"compiler", "gc"},
                              {"platform", "linux/amd64"}});
  }
  if (seg[0] == "openapi") {
    return openapi(req, seg);
  }
  // Resource paths: /api/v1/... and /apis/<group>/<version>/...
  size_t rest_at;
  std::string group;
  std::string version;
  if (seg[0] == "api" && seg.size() >= 3) {
    version = seg[1];
    rest_at = 2;
  } else if (seg[0] == "apis" && seg.size() >= 4) {
    group = seg[1];
    version = seg[2];
    rest_at = 3;
  } else if (seg[0] == "api" || seg[0] == "apis") {
    return discovery(req, seg);
  } else {
    return errorResponse(404, "NotFound", "the server could not find the requested resource");
  }
  std::vector<std::string> rest(seg.begin() + static_cast<long>(rest_at), seg.end());
  Target t;
  std::string resource;
  bool namespaced_path =
      rest[0] == "namespaces" && rest.size() >= 3 &&
      !(group.empty() && rest.size() == 3 && (rest[2] == "status" || rest[2] == "finalize"));
  if (namespaced_path) {
    t.ns = rest[1];
    resource = rest[2];
    rest.erase(rest.begin(), rest.begin() + 3);
  } else {
    resource = rest[0];
    rest.erase(rest.begin());
  }
  if (!rest.empty()) {
    t.name = rest[0];
  }
  if (rest.size() >= 2) {
    t.sub = rest[1];
  }
  if (rest.size() > 2) {
    return errorResponse(404, "NotFound", "the server could not find the requested resource");
  }
  t.type = registry_.find(group, version, resource);
  if (!t.type) {
    return errorResponse(404, "NotFound", "the server could not find the requested resource");
  }
  bool special = !t.type->stored || (t.type->resource == "serviceaccounts" &&
                                     t.type->group.empty() && t.sub == "token");
  if (special && !req.body.empty() && req.content_type.find("protobuf") != std::string::npos) {
    // kubectl sends access reviews and TokenRequests as protobuf.
    auto decoded = decodeKubernetesProtobuf(req.body);
    if (!decoded.isOk()) {
      return unsupportedMediaType("application/json, application/vnd.kubernetes.protobuf");
    }
    Request json_req = req;
    json_req.body = decoded->dump();
    json_req.content_type = "application/json";
    return route(json_req);
  }
  if (!t.type->stored) {  // access reviews: answered, never stored
    if (req.method != "POST" || !t.name.empty() || namespaced_path) {
      return errorResponse(405, "MethodNotAllowed",
                           "the server does not allow this method on the requested resource");
    }
    authz::AlwaysAllow allow_all;
    authz::Authorizer& authorizer =
        options_.gate ? options_.gate->authorizer() : static_cast<authz::Authorizer&>(allow_all);
    auto review = authz::accessReview(t.type->kind, req.body, req.user, authorizer);
    return jsonResponse(review.code, review.body);
  }
  if (t.type->resource == "serviceaccounts" && t.type->group.empty() && t.sub == "token") {
    return createToken(req, t);
  }
  if (namespaced_path && !t.type->namespaced) {
    return errorResponse(404, "NotFound", "the server could not find the requested resource");
  }
  return handleResource(req, t);
}

Response ApiServer::handleResource(const Request& req, Target& t) {
  const ResourceType& type = *t.type;
  if (!req.body.empty() && (req.content_type.find("protobuf") != std::string::npos ||
                            req.content_type.find("cbor") != std::string::npos)) {
    // JSON is spoken here, plus protobuf for the kinds kubectl's typed clients create.
    auto decoded = req.content_type.find("protobuf") != std::string::npos
                       ? decodeKubernetesProtobuf(req.body)
                       : core::StatusOr<json>(core::failedPreconditionError("cbor"));
    if (!decoded.isOk()) {
      if (req.method == "PATCH") {
        return unsupportedMediaType(acceptedPatchTypes(type));
      }
      return unsupportedMediaType(type.custom ? "application/json"
                                              : "application/json, "
                                                "application/vnd.kubernetes.protobuf");
    }
    Request json_req = req;
    json_req.body = decoded->dump();
    json_req.content_type = "application/json";
    return handleResource(json_req, t);
  }
  if (!t.sub.empty()) {
    bool ok = (t.sub == "status" && type.has_status) ||
              (t.sub == "finalize" && type.resource == "namespaces");
    if (!ok) {
      return errorResponse(404, "NotFound", "the server could not find the requested resource");
    }
  }
  const std::string& m = req.method;
  if (t.name.empty()) {
    if (m == "GET") {
      std::string w = query(req, "watch");
      if (w == "true" || w == "1") {
        return watchObjects(req, t);
      }
      return listObjects(req, t);
    }
    if (m == "POST") {
      return createObject(req, t);
    }
    if (m == "DELETE") {
      return deleteCollection(req, t);
    }
    return errorResponse(405, "MethodNotAllowed",
                         "the server does not allow this method on the requested resource");
  }
  if (m == "GET") {
    return getObject(req, t);
  }
  if (m == "PUT") {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return errorResponse(400, "BadRequest", "the body of the request was in an unknown format");
    }
    return updateObject(req, t, &body, "", nullptr);
  }
  if (m == "PATCH") {
    if (!patchTypeOf(type, req.content_type)) {
      return unsupportedMediaType(acceptedPatchTypes(type));
    }
    json patch = json::parse(req.body, nullptr, false);
    if (patch.is_discarded()) {
      return errorResponse(400, "BadRequest", "the body of the request was in an unknown format");
    }
    return updateObject(req, t, nullptr, req.content_type, &patch);
  }
  if (m == "DELETE") {
    return deleteObject(req, t);
  }
  return errorResponse(405, "MethodNotAllowed",
                       "the server does not allow this method on the requested resource");
}

Response ApiServer::getObject(const Request& req, const Target& t) {
  auto cur = readKey(t.key());
  if (!cur.isOk()) {
    return fromStatus(cur.status());
  }
  if (!*cur) {
    return notFound(*t.type, t.name);
  }
  json obj = present(*t.type, std::move((*cur)->obj), (*cur)->mod_revision);
  if (wantsTable(req.accept)) {
    return jsonResponse(200, toTable(*t.type, {obj}, std::to_string((*cur)->mod_revision),
                                     query(req, "includeObject") == "Object"));
  }
  return jsonResponse(200, obj);
}

Response ApiServer::listObjects(const Request& req, const Target& t) {
  const ResourceType& type = *t.type;
  auto selectors = parseSelectors(query(req, "labelSelector"), query(req, "fieldSelector"),
                                  type.field_selectors);
  if (!selectors.isOk()) {
    return errorResponse(400, "BadRequest", selectors.status().message());
  }
  const kube::Selector& labels = selectors->labels;
  const kube::Selector& fields = selectors->fields;
  int64_t limit = 0;
  if (!query(req, "limit").empty()) {
    limit = std::atoll(query(req, "limit").c_str());
  }
  std::string prefix = t.prefix();
  std::string end = prefixEnd(prefix);
  std::string start = prefix;
  int64_t rev = 0;
  std::string cont = query(req, "continue");
  if (!cont.empty()) {
    std::string rel;
    if (!decodeContinue(cont, &rev, &rel)) {
      return errorResponse(400, "BadRequest",
                           "continue key is not valid: incorrect encoded start "
                           "resourceVersion (version meta.k8s.io/v1)");
    }
    start = prefix + rel;
  } else if (query(req, "resourceVersionMatch") == "Exact" &&
             !query(req, "resourceVersion").empty()) {
    rev = std::atoll(query(req, "resourceVersion").c_str());
  }
  bool filtered = !labels.empty() || !fields.empty();
  json items = json::array();
  std::string next_continue;
  int64_t remaining = -1;
  while (true) {
    int64_t batch = limit > 0 ? std::max<int64_t>(limit * 2, 64) : 0;
    auto r = etcd_.range(start, end, batch, rev);
    if (!r.isOk()) {
      if (r.status().code() == core::StatusCode::kGone && !cont.empty()) {
        return errorResponse(
            410, "Expired",
            "The provided continue parameter is too old to display a consistent list result. You "
            "can start a new list without the continue parameter, or use the continue token in "
            "this response to retrieve the remainder of the results. Continuing with the provided "
            "token results in an inconsistent list - objects that were created, modified, or "
            "deleted between the time the first chunk was returned and now may show up in the "
            "list.");
      }
      if (r.status().code() == core::StatusCode::kGone) {
        return errorResponse(410, "Expired",
                             "too old resource version: " + query(req, "resourceVersion"));
      }
      return fromStatus(r.status());
    }
    if (rev == 0) {
      rev = r->revision;
    }
    bool stop = false;
    for (size_t i = 0; i < r->kvs.size(); ++i) {
      const auto& kv = r->kvs[i];
      if (limit > 0 && static_cast<int64_t>(items.size()) >= limit) {
        next_continue = encodeContinue(rev, kv.key.substr(prefix.size()));
        if (!filtered) {
          remaining = r->count - static_cast<int64_t>(i);
        }
        stop = true;
        break;
      }
      json obj = json::parse(kv.value, nullptr, false);
      if (obj.is_discarded()) {
        continue;
      }
      // A cluster-wide list of a namespaced type must not descend into similarly named
      // prefixes; keys are exactly prefix + [ns/] + name.
      if (filtered &&
          (!labels.matches(labelsOf(obj)) || !fields.matches(selectableFields(type, obj)))) {
        continue;
      }
      items.push_back(present(type, std::move(obj), kv.mod_revision));
    }
    if (stop || !r->more || r->kvs.empty()) {
      break;
    }
    start = r->kvs.back().key + std::string(1, '\0');
    if (limit > 0 && static_cast<int64_t>(items.size()) >= limit) {
      // Limit reached exactly at a batch boundary and more keys exist.
      next_continue = encodeContinue(rev, start.substr(prefix.size()));
      break;
    }
  }
  if (wantsTable(req.accept)) {
    json table = toTable(type, std::vector<json>(items.begin(), items.end()), std::to_string(rev),
                         query(req, "includeObject") == "Object");
    if (!next_continue.empty()) {
      table["metadata"]["continue"] = next_continue;
    }
    return jsonResponse(200, table);
  }
  json list_meta = {{"resourceVersion", std::to_string(rev)}};
  if (!next_continue.empty()) {
    list_meta["continue"] = next_continue;
    if (remaining > 0) {
      list_meta["remainingItemCount"] = remaining;
    }
  }
  return jsonResponse(200, {{"apiVersion", type.apiVersion()},
                            {"kind", type.list_kind},
                            {"metadata", list_meta},
                            {"items", items}});
}

Response ApiServer::watchObjects(const Request& req, const Target& t) {
  auto type = t.type;
  auto selectors = parseSelectors(query(req, "labelSelector"), query(req, "fieldSelector"),
                                  type->field_selectors);
  if (!selectors.isOk()) {
    return errorResponse(400, "BadRequest", selectors.status().message());
  }
  std::string rv_text = query(req, "resourceVersion");
  int64_t from_rv = 0;
  if (!rv_text.empty() && rv_text != "0") {
    char* endp = nullptr;
    from_rv = std::strtoll(rv_text.c_str(), &endp, 10);
    if (endp == nullptr || *endp != '\0' || from_rv < 0) {
      return errorResponse(400, "BadRequest", "invalid resource version: " + rv_text);
    }
  }
  auto timeout = options_.default_watch_timeout;
  if (!query(req, "timeoutSeconds").empty()) {
    timeout = std::chrono::seconds(std::atoll(query(req, "timeoutSeconds").c_str()));
  }
  std::string b = query(req, "allowWatchBookmarks");
  bool bookmarks = b == "true" || b == "1";
  bool table = wantsTable(req.accept);
  bool include_object = query(req, "includeObject") == "Object";
  std::string prefix = t.prefix();
  kube::Selector lsel = std::move(selectors->labels);
  kube::Selector fsel = std::move(selectors->fields);

  Response resp;
  resp.content_type = "application/json";
  resp.stream = [this, type, lsel, fsel, from_rv, timeout, bookmarks, table, include_object,
                 prefix](ResponseWriter& w) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    const bool select_all = lsel.empty() && fsel.empty();
    auto matches = [&](const json& obj) {
      return obj.is_object() && (select_all || (lsel.matches(labelsOf(obj)) &&
                                                fsel.matches(selectableFields(*type, obj))));
    };
    auto render = [&](const char* kind, json obj, int64_t rev) {
      json o = present(*type, std::move(obj), rev);
      if (table) {
        o = toTable(*type, {o}, std::to_string(rev), include_object);
      }
      return watchEventLine(kind, std::move(o));
    };
    auto send = [&](const char* kind, json obj, int64_t rev) {
      return w.writeChunk(render(kind, std::move(obj), rev));
    };
    // Hub events are shared by every watcher: render each (event, form) once. The key covers
    // everything the rendered line depends on besides the event itself.
    const HubEvent* shared_event = nullptr;
    // The lines of one batch of hub events, written as one chunk (one TLS record and one
    // wake-up of the client instead of one per event).
    std::string* batch_out = nullptr;
    const std::string form = type->apiVersion() + "/" + type->resource + (table ? "|T" : "|J") +
                             (include_object ? "O" : "");
    auto sendShared = [&](const char* kind, const json& obj, int64_t rev, bool prev) {
      if (shared_event == nullptr) {
        return send(kind, obj, rev);
      }
      std::string key = form + "|" + kind + (prev ? "p" : "c");
      std::string line;
      {
        std::lock_guard<std::mutex> lock(shared_event->render_mu);
        auto it = shared_event->rendered.find(key);
        if (it != shared_event->rendered.end()) {
          line = it->second;
        }
      }
      if (line.empty()) {
        line = render(kind, obj, rev);
        std::lock_guard<std::mutex> lock(shared_event->render_mu);
        shared_event->rendered.emplace(key, line);
      }
      if (batch_out != nullptr) {
        batch_out->append(line);
        return true;
      }
      return w.writeChunk(line);
    };
    auto sendError = [&](int code, const std::string& reason, const std::string& message) {
      w.writeChunk(watchEventLine("ERROR", statusBody(code, reason, message)));
    };
    // Handles one change; returns false when the client is gone.
    auto onEvent = [&](int64_t rev, bool is_delete, const std::string& key, const json& cur,
                       const json& prev, bool has_prev) {
      if (key.compare(0, prefix.size(), prefix) != 0) {
        return true;
      }
      bool old_match = has_prev && matches(prev);
      if (is_delete) {
        return old_match ? sendShared("DELETED", prev, rev, true) : true;
      }
      bool cur_match = matches(cur);
      if (cur_match && old_match) {
        return sendShared("MODIFIED", cur, rev, false);
      }
      if (cur_match) {
        return sendShared("ADDED", cur, rev, false);
      }
      if (old_match) {
        return sendShared("DELETED", cur, rev, false);
      }
      return true;
    };
    int64_t from = from_rv;
    if (from == 0) {
      auto r = etcd_.range(prefix, prefixEnd(prefix));
      if (!r.isOk()) {
        sendError(500, "InternalError", r.status().toString());
        return;
      }
      for (const auto& kv : r->kvs) {
        json obj = json::parse(kv.value, nullptr, false);
        if (!obj.is_discarded() && matches(obj) && !send("ADDED", obj, kv.mod_revision)) {
          return;
        }
      }
      from = r->revision;
    } else {
      auto check = etcd_.range(std::string(1, '\0'), "", 1, from, true);
      if (!check.isOk() && check.status().code() == core::StatusCode::kGone) {
        sendError(410, "Expired",
                  "too old resource version: " + std::to_string(from) + " (" +
                      std::to_string(hub_.latestRevision()) + ")");
        return;
      }
    }
    auto bookmark = [&](int64_t rev) {
      json obj = {{"kind", type->kind},
                  {"apiVersion", type->apiVersion()},
                  {"metadata", {{"resourceVersion", std::to_string(rev)}}}};
      return w.writeChunk(watchEventLine("BOOKMARK", obj));
    };
    auto cursor = hub_.cursorAfter(from);
    if (!cursor) {
      // Older than the hub's window: a dedicated etcd watch for this client.
      auto ew = etcd_.watch(prefix, prefixEnd(prefix), from + 1);
      if (!ew.isOk()) {
        sendError(500, "InternalError", ew.status().toString());
        return;
      }
      std::atomic<bool> done{false};
      EtcdWatch* watch = ew->get();
      std::thread canceller([&] {
        while (!done && std::chrono::steady_clock::now() < deadline && !w.clientGone()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        watch->cancel();
      });
      while (true) {
        auto batch = watch->next();
        if (!batch.isOk()) {
          if (batch.status().code() == core::StatusCode::kGone) {
            sendError(410, "Expired", "too old resource version: " + std::to_string(from));
          }
          break;
        }
        bool alive = true;
        for (const auto& e : *batch) {
          json cur = e.is_delete ? json() : json::parse(e.kv.value, nullptr, false);
          json prev = e.prev_kv ? json::parse(e.prev_kv->value, nullptr, false) : json();
          if (!onEvent(e.kv.mod_revision, e.is_delete, e.kv.key, cur, prev,
                       e.prev_kv.has_value())) {
            alive = false;
            break;
          }
        }
        if (!alive) {
          break;
        }
      }
      done = true;
      canceller.join();
      return;
    }
    // Bookmarks as kube-apiserver's watch cache sends them (see bookmark_schedule.h): the
    // revision of the last change to this resource in any namespace, and only when newer than
    // where the watch started.
    const std::string resource_prefix = type->prefix("");
    BookmarkSchedule schedule(std::chrono::steady_clock::now(), deadline,
                              options_.bookmark_interval, from);
    int64_t progress = from;
    // The events this watch sends on (onEvent's rule): only they wake it. A selective watch (a
    // node-daemon's VMs, one namespace) then sleeps through every other object's change and
    // takes those with the next one it sends, or at its next wake-up below.
    WatchHub::Interest interest;
    if (!select_all || prefix != resource_prefix) {
      interest = [&](const HubEvent& e) {
        return e.key.compare(0, prefix.size(), prefix) == 0 &&
               (matches(e.obj()) || (e.has_prev && matches(e.prevObj())));
      };
    }
    while (true) {
      auto now = std::chrono::steady_clock::now();
      if (bookmarks && schedule.due() && now >= *schedule.due()) {
        if (auto rev = schedule.fire(now); rev && !bookmark(*rev)) {
          return;
        }
        continue;
      }
      if (now >= deadline) {
        return;
      }
      // Wake at least every second to notice clients that went away.
      auto wake = std::min(deadline, now + std::chrono::seconds(1));
      if (bookmarks && schedule.due()) {
        wake = std::min(wake, *schedule.due());
      }
      int64_t p = progress;
      auto events = hub_.waitNext(*cursor, wake, &p, resource_prefix, interest);
      if (!events.isOk()) {
        if (events.status().code() == core::StatusCode::kGone) {
          sendError(410, "Expired",
                    "too old resource version: " + std::to_string(progress) + " (" +
                        std::to_string(hub_.latestRevision()) + ")");
        }
        return;
      }
      std::string lines;
      batch_out = &lines;
      for (const auto& e : *events) {
        if (e->key.compare(0, resource_prefix.size(), resource_prefix) == 0) {
          schedule.observe(e->revision);
        }
        shared_event = e.get();
        onEvent(e->revision, e->is_delete, e->key, e->obj(), e->prevObj(), e->has_prev);
        shared_event = nullptr;
      }
      batch_out = nullptr;
      if (!lines.empty() && !w.writeChunk(lines)) {
        return;
      }
      progress = std::max(progress, p);
      if (w.clientGone()) {
        return;
      }
    }
  };
  return resp;
}

Response ApiServer::createObject(const Request& req, const Target& t) {
  const ResourceType& type = *t.type;
  if (!t.sub.empty()) {
    return errorResponse(405, "MethodNotAllowed",
                         "the server does not allow this method on the requested resource");
  }
  json obj = json::parse(req.body, nullptr, false);
  if (obj.is_discarded() || !obj.is_object()) {
    return errorResponse(400, "BadRequest", "the body of the request was in an unknown format");
  }
  std::string body_av = obj.value("apiVersion", "");
  std::string body_kind = obj.value("kind", "");
  if ((!body_kind.empty() && body_kind != type.kind) ||
      (!body_av.empty() && body_av != type.apiVersion())) {
    return errorResponse(400, "BadRequest",
                         "the API version in the data (" + body_av +
                             ") does not match the expected API version (" + type.apiVersion() +
                             ")");
  }
  if (type.group == "events.k8s.io") {
    obj = eventToCore(std::move(obj));
  }
  json& m = meta(obj);
  if (type.namespaced) {
    std::string body_ns = m.value("namespace", "");
    if (!body_ns.empty() && body_ns != t.ns) {
      return errorResponse(400, "BadRequest",
                           "the namespace of the provided object does not match the namespace "
                           "sent on the request");
    }
    m["namespace"] = t.ns;
  } else {
    m.erase("namespace");
  }
  std::string name = m.value("name", "");
  std::string generate = m.value("generateName", "");
  if (name.empty() && !generate.empty()) {
    name = generate + randomSuffix();
    m["name"] = name;
  }
  if (name.empty()) {
    return statusResponse(invalidStatus(type.kind, type.group, "",
                                        {{"FieldValueRequired", "metadata.name",
                                          "Required value: name or generateName is required"}}));
  }
  if (auto err = validateName(type, name)) {
    return statusResponse(invalidStatus(type.kind, type.group, name, {*err}));
  }
  if (type.namespaced) {
    auto ns_type = registry_.find("", "v1", "namespaces");
    // Like kube-apiserver's NamespaceLifecycle admission, from the cache (the hub's copy) when it
    // has the namespace, else from etcd (a namespace created a moment ago may not be there yet).
    // The copy counts only once the hub has seen this server's last namespace deletion: until
    // then it may still show a namespace Active that is terminating (kube forces a live lookup
    // for namespaces deleted in the last 30 s for the same reason).
    const std::string ns_key = ns_type->key("", t.ns);
    core::StatusOr<std::optional<StoredObject>> ns = std::optional<StoredObject>();
    HubValuePtr hint = hub_.latestRevision() >= namespace_deleted_rev_.load() ? hub_.cached(ns_key)
                                                                              : HubValuePtr();
    if (hint && hint->obj.is_object()) {
      ns = std::optional<StoredObject>(StoredObject{hint->obj, hint->mod_revision});
    } else {
      ns = readKey(ns_key);
    }
    if (!ns.isOk()) {
      return fromStatus(ns.status());
    }
    if (!*ns) {
      return notFound(*ns_type, t.ns);
    }
    if (isDeleting((*ns)->obj)) {
      json details = gvrDetails(type, name);
      details["causes"] = {{{"reason", "NamespaceTerminating"},
                            {"message", "namespace " + t.ns + " is being terminated"},
                            {"field", "metadata.namespace"}}};
      return errorResponse(403, "Forbidden",
                           type.groupResource() + " \"" + name +
                               "\" is forbidden: unable to create new content in namespace " +
                               t.ns + " because it is being terminated",
                           details);
    }
  }
  for (const char* f : {"resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
                        "selfLink", "managedFields"}) {
    m.erase(f);
  }
  m["uid"] = newUid();
  m["creationTimestamp"] = rfc3339Now();
  if (usesGeneration(type)) {
    m["generation"] = 1;
  } else {
    m.erase("generation");
  }
  obj["apiVersion"] = type.group == "events.k8s.io" ? "v1" : type.apiVersion();
  obj["kind"] = type.kind;
  std::vector<std::pair<std::string, std::string>> warnings;
  if (type.resource == "namespaces") {
    obj["spec"] = json{{"finalizers", {"kubernetes"}}};
    obj["status"] = json{{"phase", "Active"}};
    if (!m.contains("labels") || !m["labels"].is_object()) {
      m["labels"] = json::object();
    }
    m["labels"]["kubernetes.io/metadata.name"] = name;
  } else if (type.resource == "secrets" && type.group.empty()) {
    normalizeSecret(obj);
  } else if (type.resource == "customresourcedefinitions") {
    json invalid = validateCrd(obj);
    if (!invalid.empty()) {
      return statusResponse(invalid);
    }
    auto types = typesFromCrd(obj);
    if (!types.isOk()) {
      return statusResponse(invalidStatus(
          type.kind, type.group, name,
          {{"FieldValueInvalid", "spec.versions", "Invalid value: " + types.status().message()}}));
    }
    obj["status"] = crdStatus(obj);
  } else if (type.custom) {
    if (type.has_status) {
      obj.erase("status");
    }
    if (type.schema) {
      auto unknown = type.schema->prune(obj);
      std::string fv = query(req, "fieldValidation");
      if (!unknown.empty() && fv == "Strict") {
        std::string msg = "strict decoding error: ";
        for (size_t i = 0; i < unknown.size(); ++i) {
          msg += (i ? ", " : "") + std::string("unknown field \"") + unknown[i] + "\"";
        }
        return errorResponse(400, "BadRequest", msg);
      }
      if (fv == "Warn") {
        for (const auto& u : unknown) {
          warnings.emplace_back("Warning", "299 - \"unknown field \\\"" + u + "\\\"\"");
        }
      }
      type.schema->applyDefaults(obj);
      json invalid = type.schema->validate(obj, type.kind, type.group, name);
      if (!invalid.empty()) {
        return statusResponse(invalid);
      }
    }
  }
  if (!query(req, "dryRun").empty()) {
    Response r = jsonResponse(201, present(type, obj, 0));
    r.headers = warnings;
    return r;
  }
  auto r = etcd_.create(t.type->key(type.namespaced ? t.ns : "", name), obj.dump());
  if (!r.isOk()) {
    return fromStatus(r.status());
  }
  if (!r->succeeded) {
    return errorResponse(409, "AlreadyExists",
                         type.groupResource() + " \"" + name + "\" already exists",
                         gvrDetails(type, name));
  }
  if (type.resource == "customresourcedefinitions") {
    (void)registry_.applyCrd(name, &obj);
  }
  Response resp = jsonResponse(201, present(type, obj, r->revision));
  resp.headers = warnings;
  hub_.wrote(t.type->key(type.namespaced ? t.ns : "", name), std::move(obj), r->revision);
  return resp;
}

Response ApiServer::updateObject(const Request& req, const Target& t, const json* body,
                                 const std::string& patch_type, const json* patch) {
  const ResourceType& type = *t.type;
  PatchType pt = PatchType::kMerge;
  if (patch != nullptr) {
    auto parsed = patchTypeOf(type, patch_type);
    if (!parsed) {
      return unsupportedMediaType(acceptedPatchTypes(type));
    }
    pt = *parsed;
  }
  // As kube-apiserver's GuaranteedUpdate with the watch cache's copy: the first attempt starts
  // from the hub's copy of the object instead of reading etcd; the write is a Txn on its
  // mod_revision either way. Any outcome other than a committed write (a lost race, a conflict,
  // a failed patch test, a no-op, an error) is decided again on a fresh read from etcd, so every
  // answer is still based on the current object.
  for (int attempt = 0; attempt < 16; ++attempt) {
    HubValuePtr hint;  // keeps the hub's copy alive while it is borrowed
    std::optional<StoredObject> read;
    const bool from_cache = attempt == 0 && (hint = hub_.cached(t.key())) && hint->obj.is_object();
    if (!from_cache) {
      auto cur = readKey(t.key());
      if (!cur.isOk()) {
        return fromStatus(cur.status());
      }
      if (!*cur) {
        return notFound(type, t.name);
      }
      read = std::move(*cur);
    }
    const StoredRef current = from_cache ? StoredRef{hint->obj, hint->mod_revision}
                                         : StoredRef{read->obj, read->mod_revision};
    bool committed = false;
    Response r = updateAttempt(req, t, current, body, pt, patch, &committed);
    if (committed || (!from_cache && !(r.code == 409 && r.body == "__raced__"))) {
      return r;
    }
  }
  return conflict(type, t.name, kModified);
}

Response ApiServer::updateAttempt(const Request& req, const Target& t, const StoredRef& current,
                                  const json* body, PatchType pt, const json* patch,
                                  bool* committed) {
  const ResourceType& type = *t.type;
  json desired;
  bool rv_from_client = false;
  if (body != nullptr) {
    if (t.sub == "status" && body->is_object()) {
      // A status update reads only the body's metadata (name, resourceVersion) and status.
      desired = json::object();
      for (const char* field : {"metadata", "status"}) {
        if (auto it = body->find(field); it != body->end()) {
          desired[field] = *it;
        }
      }
    } else {
      desired = *body;
    }
    if (type.group == "events.k8s.io") {
      desired = eventToCore(std::move(desired));
    }
    std::string body_name = metaString(desired, "name");
    if (!body_name.empty() && body_name != t.name) {
      return errorResponse(400, "BadRequest",
                           "the name of the object (" + body_name +
                               ") does not match the name on the URL (" + t.name + ")");
    }
    std::string rv = metaString(desired, "resourceVersion");
    if (rv.empty() && refusesUnconditionalUpdate(type)) {
      return statusResponse(
          invalidStatus(type.kind, type.group, t.name,
                        {{"FieldValueInvalid", "metadata.resourceVersion",
                          "Invalid value: 0x0: must be specified for an update"}}));
    }
    if (!rv.empty()) {
      rv_from_client = true;
      if (rv != std::to_string(current.mod_revision)) {
        return conflict(type, t.name, kModified);
      }
    }
  } else {
    json target = present(type, current.obj, current.mod_revision);
    int code = 0;
    json err;
    auto patched = applyPatch(pt, target, *patch, &code, &err);
    if (!patched.isOk()) {
      return statusResponse(err);
    }
    desired = std::move(*patched);
    if (type.group == "events.k8s.io") {
      desired = eventToCore(std::move(desired));
    }
    std::string rv = metaString(desired, "resourceVersion");
    if (!rv.empty() && rv != std::to_string(current.mod_revision)) {
      return conflict(type, t.name, kModified);
    }
    rv_from_client = false;
  }
  if (!desired.is_object()) {
    return errorResponse(400, "BadRequest", "the body of the request was in an unknown format");
  }
  return writeUpdate(req, t, current, std::move(desired), rv_from_client, committed);
}

Response ApiServer::writeUpdate(const Request& req, const Target& t, const StoredRef& current,
                                json desired, bool rv_from_client, bool* committed) {
  const ResourceType& type = *t.type;
  const json& old = current.obj;
  json next;
  if (t.sub == "status") {
    // Everything but the status from the stored object (not copying its old status), the status
    // from the client's.
    next = json::object();
    for (auto it = old.begin(); it != old.end(); ++it) {
      if (it.key() != "status") {
        next[it.key()] = it.value();
      }
    }
    if (desired.contains("status")) {
      next["status"] = std::move(desired["status"]);
    }
  } else if (t.sub == "finalize") {
    next = old;
    next["spec"]["finalizers"] =
        desired.value("spec", json::object()).value("finalizers", json::array());
  } else {
    next = std::move(desired);
    json& m = meta(next);
    const json& om = old["metadata"];
    for (const char* f : {"uid", "creationTimestamp", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "generation", "namespace", "name"}) {
      if (om.contains(f)) {
        m[f] = om[f];
      } else {
        m.erase(f);
      }
    }
    m.erase("resourceVersion");
    m.erase("managedFields");
    m.erase("selfLink");
    next["apiVersion"] = old.value("apiVersion", type.apiVersion());
    next["kind"] = type.kind;
    if (type.has_status) {
      if (old.contains("status")) {
        next["status"] = old["status"];
      } else {
        next.erase("status");
      }
    }
    if (type.resource == "namespaces") {
      next["spec"] = old.value("spec", json::object());
    }
    if (type.resource == "secrets" && type.group.empty()) {
      normalizeSecret(next);
    }
    if (isDeleting(old)) {
      std::vector<std::string> before = finalizersOf(old);
      for (const auto& f : finalizersOf(next)) {
        if (std::find(before.begin(), before.end(), f) == before.end()) {
          return statusResponse(invalidStatus(
              type.kind, type.group, t.name,
              {{"FieldValueForbidden", "metadata.finalizers",
                "Forbidden: no new finalizers can be added if the object is being deleted, found "
                "new finalizers []string{\"" +
                    f + "\"}"}}));
        }
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> warnings;
  if (type.custom && type.schema) {
    auto unknown = type.schema->prune(next);
    std::string fv = query(req, "fieldValidation");
    if (!unknown.empty() && fv == "Strict" && t.sub.empty()) {
      std::string msg = "strict decoding error: ";
      for (size_t i = 0; i < unknown.size(); ++i) {
        msg += (i ? ", " : "") + std::string("unknown field \"") + unknown[i] + "\"";
      }
      return errorResponse(400, "BadRequest", msg);
    }
    type.schema->applyDefaults(next);
    json invalid = type.schema->validate(next, type.kind, type.group, t.name);
    if (!invalid.empty()) {
      return statusResponse(invalid);
    }
  }
  if (type.resource == "customresourcedefinitions" && t.sub.empty()) {
    json invalid = validateCrd(next);
    if (!invalid.empty()) {
      return statusResponse(invalid);
    }
    auto types = typesFromCrd(next);
    if (!types.isOk()) {
      return statusResponse(invalidStatus(
          type.kind, type.group, t.name,
          {{"FieldValueInvalid", "spec.versions", "Invalid value: " + types.status().message()}}));
    }
    json st = crdStatus(next);
    next["status"] = st;
  }
  if (usesGeneration(type) && specPartDiffers(type, old, next)) {
    meta(next)["generation"] = old["metadata"].value("generation", 1) + 1;
  }
  if (next == old) {
    // No-op updates do not write (the resourceVersion stays), as in kube-apiserver.
    Response unchanged =
        jsonResponse(200, present(type, next, current.mod_revision, /*defaulted=*/true));
    unchanged.unchanged = true;
    return unchanged;
  }
  if (!query(req, "dryRun").empty()) {
    return jsonResponse(200, present(type, next, current.mod_revision, /*defaulted=*/true));
  }
  if (isDeleting(next) && finalizersOf(next).empty()) {
    auto r = etcd_.remove(t.key(), current.mod_revision);
    if (!r.isOk()) {
      return fromStatus(r.status());
    }
    if (!r->succeeded) {
      Response raced;
      raced.code = 409;
      raced.body = rv_from_client ? "" : "__raced__";
      return rv_from_client ? conflict(type, t.name, kModified) : raced;
    }
    *committed = true;
    return jsonResponse(200, present(type, next, r->revision, /*defaulted=*/true));
  }
  auto r = etcd_.update(t.key(), next.dump(), current.mod_revision);
  if (!r.isOk()) {
    return fromStatus(r.status());
  }
  if (!r->succeeded) {
    if (!r->current) {
      return notFound(type, t.name);
    }
    if (rv_from_client) {
      return conflict(type, t.name, kModified);
    }
    Response raced;
    raced.code = 409;
    raced.body = "__raced__";
    return raced;
  }
  *committed = true;
  if (type.resource == "customresourcedefinitions") {
    (void)registry_.applyCrd(t.name, &next);
  }
  Response resp = jsonResponse(200, present(type, next, r->revision, /*defaulted=*/true));
  resp.headers = warnings;
  hub_.wrote(t.key(), std::move(next), r->revision);
  return resp;
}

Response ApiServer::deleteObject(const Request& req, const Target& t) {
  const ResourceType& type = *t.type;
  json opts = json::object();
  if (!req.body.empty()) {
    opts = json::parse(req.body, nullptr, false);
    if (opts.is_discarded() || !opts.is_object()) {
      return errorResponse(400, "BadRequest", "the body of the request was in an unknown format");
    }
  }
  std::string policy = opts.value("propagationPolicy", query(req, "propagationPolicy"));
  if (policy.empty() && opts.contains("orphanDependents") &&
      opts["orphanDependents"].is_boolean()) {
    policy = opts["orphanDependents"].get<bool>() ? "Orphan" : "Background";
  }
  if (!policy.empty() && policy != "Orphan" && policy != "Background" && policy != "Foreground") {
    return statusResponse(invalidStatus(
        "DeleteOptions", "meta.k8s.io", "",
        {{"FieldValueNotSupported", "propagationPolicy",
          "Unsupported value: \"" + policy +
              "\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""}}));
  }
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto cur = readKey(t.key());
    if (!cur.isOk()) {
      return fromStatus(cur.status());
    }
    if (!*cur) {
      return notFound(type, t.name);
    }
    StoredObject current = std::move(**cur);
    json& obj = current.obj;
    if (opts.contains("preconditions") && opts["preconditions"].is_object()) {
      const json& p = opts["preconditions"];
      std::string uid = p.value("uid", "");
      if (!uid.empty() && uid != metaString(obj, "uid")) {
        return conflict(type, t.name,
                        "Precondition failed: UID in precondition: " + uid +
                            ", UID in object meta: " + metaString(obj, "uid"));
      }
      std::string rv = p.value("resourceVersion", "");
      if (!rv.empty() && rv != std::to_string(current.mod_revision)) {
        return conflict(
            type, t.name,
            "Precondition failed: ResourceVersion in precondition: " + rv +
                ", ResourceVersion in object meta: " + std::to_string(current.mod_revision));
      }
    }
    json next = obj;
    std::vector<std::string> fins = finalizersOf(next);
    auto addFinalizer = [&](const std::string& f) {
      if (std::find(fins.begin(), fins.end(), f) == fins.end()) {
        fins.push_back(f);
      }
    };
    if (policy == "Foreground") {
      addFinalizer("foregroundDeletion");
    } else if (policy == "Orphan") {
      addFinalizer("orphan");
    }
    bool ns_pending =
        type.resource == "namespaces" &&
        !next.value("spec", json::object()).value("finalizers", json::array()).empty();
    if (fins.empty() && !ns_pending) {
      if (!query(req, "dryRun").empty()) {
        return jsonResponse(200, present(type, obj, current.mod_revision));
      }
      auto r = etcd_.remove(t.key(), current.mod_revision);
      if (!r.isOk()) {
        return fromStatus(r.status());
      }
      if (!r->succeeded) {
        continue;
      }
      noteDeleted(type, r->revision);
      if (type.resource == "customresourcedefinitions") {
        // Removing a CRD removes all its custom resources.
        for (const auto& ct : typesFromCrd(obj).valueOr(std::vector<ResourceType>{})) {
          auto del = etcd_.removeRange(ct.storage_prefix, prefixEnd(ct.storage_prefix));
          if (!del.isOk()) {
            spdlog::warn("CRD {} deleted, but its objects under {} were not: {}", t.name,
                         ct.storage_prefix, del.status().toString());
          }
          break;
        }
        (void)registry_.applyCrd(t.name, nullptr);
      }
      json deleted = present(type, obj, r->revision);
      if (type.custom) {
        return jsonResponse(200, deleted);
      }
      json details = gvrDetails(type, t.name);
      details["uid"] = metaString(obj, "uid");
      return jsonResponse(200, {{"kind", "Status"},
                                {"apiVersion", "v1"},
                                {"metadata", json::object()},
                                {"status", "Success"},
                                {"details", details}});
    }
    // Graceful path: mark for deletion; the object stays until its finalizers are gone.
    if (isDeleting(obj) && fins == finalizersOf(obj)) {
      return jsonResponse(200, present(type, obj, current.mod_revision));
    }
    json& m = meta(next);
    if (!isDeleting(obj)) {
      m["deletionTimestamp"] = rfc3339Now();
      m["deletionGracePeriodSeconds"] = 0;
      if (usesGeneration(type)) {
        m["generation"] = m.value("generation", 1) + 1;
      }
    }
    if (!fins.empty()) {
      m["finalizers"] = fins;
    }
    if (type.resource == "namespaces") {
      next["status"]["phase"] = "Terminating";
    }
    if (!query(req, "dryRun").empty()) {
      return jsonResponse(200, present(type, next, current.mod_revision));
    }
    auto r = etcd_.update(t.key(), next.dump(), current.mod_revision);
    if (!r.isOk()) {
      return fromStatus(r.status());
    }
    if (!r->succeeded) {
      continue;
    }
    noteDeleted(type, r->revision);
    return jsonResponse(200, present(type, next, r->revision));
  }
  return conflict(type, t.name, kModified);
}

void ApiServer::noteDeleted(const ResourceType& type, int64_t revision) {
  if (!type.group.empty() || type.resource != "namespaces") {
    return;
  }
  int64_t seen = namespace_deleted_rev_.load();
  while (seen < revision && !namespace_deleted_rev_.compare_exchange_weak(seen, revision)) {
  }
}

Response ApiServer::deleteCollection(const Request& req, const Target& t) {
  Request list_req = req;
  list_req.method = "GET";
  list_req.accept = "application/json";
  list_req.query.erase("limit");
  list_req.query.erase("continue");
  Response listed = listObjects(list_req, t);
  if (listed.code != 200) {
    return listed;
  }
  json list = json::parse(listed.body);
  json deleted = json::array();
  for (const auto& item : list["items"]) {
    Target one = t;
    one.name = metaString(item, "name");
    if (t.type->namespaced) {
      one.ns = metaString(item, "namespace");
    }
    Response r = deleteObject(req, one);
    if (r.code == 200) {
      deleted.push_back(item);
    } else if (r.code != 404) {
      return r;
    }
  }
  list["items"] = deleted;
  return jsonResponse(200, list);
}

core::Status ApiServer::deleteKey(const std::string& key, const std::string& add_finalizer) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    NOVACRON_ASSIGN_OR_RETURN(auto cur, readKey(key));
    if (!cur) {
      return core::notFoundError(key);
    }
    json next = cur->obj;
    std::vector<std::string> fins = finalizersOf(next);
    if (!add_finalizer.empty() &&
        std::find(fins.begin(), fins.end(), add_finalizer) == fins.end()) {
      fins.push_back(add_finalizer);
    }
    bool ns_pending =
        key.rfind("/registry/namespaces/", 0) == 0 &&
        !next.value("spec", json::object()).value("finalizers", json::array()).empty();
    if (fins.empty() && !ns_pending) {
      NOVACRON_ASSIGN_OR_RETURN(auto r, etcd_.remove(key, cur->mod_revision));
      if (r.succeeded) {
        return core::okStatus();
      }
      continue;
    }
    if (isDeleting(next) && fins == finalizersOf(next)) {
      return core::okStatus();
    }
    json& m = meta(next);
    if (!isDeleting(next)) {
      m["deletionTimestamp"] = rfc3339Now();
      m["deletionGracePeriodSeconds"] = 0;
      if (m.contains("generation")) {
        m["generation"] = m.value("generation", 1) + 1;
      }
    }
    if (!fins.empty()) {
      m["finalizers"] = fins;
    }
    NOVACRON_ASSIGN_OR_RETURN(auto r, etcd_.update(key, next.dump(), cur->mod_revision));
    if (r.succeeded) {
      return core::okStatus();
    }
  }
  return core::abortedError("too many conflicts deleting " + key);
}

core::Status ApiServer::updateKey(const std::string& key,
                                  const std::function<bool(json&)>& mutate) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    NOVACRON_ASSIGN_OR_RETURN(auto cur, readKey(key));
    if (!cur) {
      return core::notFoundError(key);
    }
    json next = cur->obj;
    if (!mutate(next)) {
      return core::okStatus();
    }
    bool ns_pending =
        key.rfind("/registry/namespaces/", 0) == 0 &&
        !next.value("spec", json::object()).value("finalizers", json::array()).empty();
    if (isDeleting(next) && finalizersOf(next).empty() && !ns_pending) {
      NOVACRON_ASSIGN_OR_RETURN(auto r, etcd_.remove(key, cur->mod_revision));
      if (r.succeeded) {
        return core::okStatus();
      }
      continue;
    }
    NOVACRON_ASSIGN_OR_RETURN(auto r, etcd_.update(key, next.dump(), cur->mod_revision));
    if (r.succeeded) {
      return core::okStatus();
    }
  }
  return core::abortedError("too many conflicts updating " + key);
}

}  // namespace novacron::devapi
