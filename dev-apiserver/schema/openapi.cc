#include "dev-apiserver/schema/openapi.h"

#include <nlohmann/json.hpp>

namespace novacron::devapi::schema {
namespace {

using json = nlohmann::json;

const char* kObjectMeta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const char* kListMeta = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const char* kStatus = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
const char* kDeleteOptions = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
const char* kPatch = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";

// "novacron.io" -> "io.novacron", as kube names definitions.
std::string reverseGroup(const std::string& group) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = group.find('.', start);
    parts.push_back(group.substr(start, dot - start));
    if (dot == std::string::npos) {
      break;
    }
    start = dot + 1;
  }
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    out += (out.empty() ? "" : ".") + *it;
  }
  return out;
}

struct Served {
  std::string group;
  std::string version;
  std::string kind;
  std::string list_kind;
  std::string plural;
  bool namespaced = true;
  bool status = false;
  bool scale = false;
  json schema;
};

std::vector<Served> servedVersions(const std::vector<json>& crds) {
  std::vector<Served> out;
  for (const auto& crd : crds) {
    // A malformed CRD (fields of the wrong type) is left out rather than throwing.
    try {
      const json spec = crd.value("spec", json::object());
      const json names = spec.value("names", json::object());
      for (const auto& v : spec.value("versions", json::array())) {
        if (!v.value("served", false)) {
          continue;
        }
        auto sch = v.value("schema", json::object());
        if (!sch.contains("openAPIV3Schema")) {
          continue;
        }
        Served s;
        s.group = spec.value("group", "");
        s.version = v.value("name", "");
        s.kind = names.value("kind", "");
        s.list_kind = names.value("listKind", s.kind + "List");
        s.plural = names.value("plural", "");
        s.namespaced = spec.value("scope", "Namespaced") == "Namespaced";
        const json sub = v.value("subresources", json::object());
        s.status = sub.contains("status");
        s.scale = sub.contains("scale");
        s.schema = sch["openAPIV3Schema"];
        out.push_back(std::move(s));
      }
    } catch (const json::exception&) {
      continue;
    }
  }
  return out;
}

std::string defName(const Served& s, const std::string& kind) {
  return reverseGroup(s.group) + "." + s.version + "." + kind;
}

json gvk(const Served& s, const std::string& kind) {
  return {{"group", s.group}, {"version", s.version}, {"kind", kind}};
}

// The object schema as published: metadata refers to ObjectMeta, apiVersion/kind described.
json objectSchema(const Served& s, const std::string& ref_prefix) {
  json schema = s.schema;
  if (!schema.contains("properties")) {
    schema["properties"] = json::object();
  }
  json& props = schema["properties"];
  props["apiVersion"] = {
      {"type", "string"},
      {"description",
       "APIVersion defines the versioned schema of this representation of an object."}};
  props["kind"] = {{"type", "string"},
                   {"description",
                    "Kind is a string value representing the REST resource this object "
                    "represents."}};
  props["metadata"] = {{"allOf", json::array({{{"$ref", ref_prefix + kObjectMeta}}})},
                       {"description", "Standard object's metadata."}};
  schema["x-kubernetes-group-version-kind"] = json::array({gvk(s, s.kind)});
  return schema;
}

json listSchema(const Served& s, const std::string& ref_prefix) {
  return {{"type", "object"},
          {"description", s.list_kind + " is a list of " + s.kind},
          {"required", json::array({"items"})},
          {"properties",
           {{"apiVersion", {{"type", "string"}}},
            {"kind", {{"type", "string"}}},
            {"metadata", {{"allOf", json::array({{{"$ref", ref_prefix + kListMeta}}})}}},
            {"items",
             {{"type", "array"},
              {"description", "List of " + s.plural},
              {"items", {{"$ref", ref_prefix + defName(s, s.kind)}}}}}}},
          {"x-kubernetes-group-version-kind", json::array({gvk(s, s.list_kind)})}};
}

json metaSchemas() {
  json string_map = {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}};
  json object_meta = {
      {"type", "object"},
      {"description",
       "ObjectMeta is metadata that all persisted resources must have, which includes all "
       "objects users must create."},
      {"properties",
       {{"name", {{"type", "string"}, {"description", "Name must be unique within a namespace."}}},
        {"generateName", {{"type", "string"}}},
        {"namespace", {{"type", "string"}}},
        {"uid", {{"type", "string"}}},
        {"resourceVersion", {{"type", "string"}}},
        {"generation", {{"type", "integer"}, {"format", "int64"}}},
        {"creationTimestamp", {{"type", "string"}, {"format", "date-time"}}},
        {"deletionTimestamp", {{"type", "string"}, {"format", "date-time"}}},
        {"deletionGracePeriodSeconds", {{"type", "integer"}, {"format", "int64"}}},
        {"labels", string_map},
        {"annotations", string_map},
        {"finalizers",
         {{"type", "array"},
          {"items", {{"type", "string"}}},
          {"x-kubernetes-list-type", "set"},
          {"x-kubernetes-patch-strategy", "merge"}}},
        {"ownerReferences",
         {{"type", "array"},
          {"x-kubernetes-list-map-keys", json::array({"uid"})},
          {"x-kubernetes-list-type", "map"},
          {"x-kubernetes-patch-merge-key", "uid"},
          {"x-kubernetes-patch-strategy", "merge"},
          {"items",
           {{"type", "object"},
            {"required", json::array({"apiVersion", "kind", "name", "uid"})},
            {"properties",
             {{"apiVersion", {{"type", "string"}}},
              {"kind", {{"type", "string"}}},
              {"name", {{"type", "string"}}},
              {"uid", {{"type", "string"}}},
              {"controller", {{"type", "boolean"}}},
              {"blockOwnerDeletion", {{"type", "boolean"}}}}}}}}},
        {"managedFields",
         {{"type", "array"},
          {"items", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}}}}}}};
  json list_meta = {{"type", "object"},
                    {"properties",
                     {{"continue", {{"type", "string"}}},
                      {"remainingItemCount", {{"type", "integer"}, {"format", "int64"}}},
                      {"resourceVersion", {{"type", "string"}}},
                      {"selfLink", {{"type", "string"}}}}}};
  json status = {
      {"type", "object"},
      {"properties",
       {{"apiVersion", {{"type", "string"}}},
        {"kind", {{"type", "string"}}},
        {"code", {{"type", "integer"}, {"format", "int32"}}},
        {"message", {{"type", "string"}}},
        {"reason", {{"type", "string"}}},
        {"status", {{"type", "string"}}},
        {"details", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}},
        {"metadata", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}}}},
      {"x-kubernetes-group-version-kind",
       json::array({{{"group", ""}, {"version", "v1"}, {"kind", "Status"}}})}};
  json delete_options = {
      {"type", "object"},
      {"properties",
       {{"apiVersion", {{"type", "string"}}},
        {"kind", {{"type", "string"}}},
        {"gracePeriodSeconds", {{"type", "integer"}, {"format", "int64"}}},
        {"propagationPolicy", {{"type", "string"}}},
        {"dryRun", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"preconditions",
         {{"type", "object"},
          {"properties",
           {{"resourceVersion", {{"type", "string"}}}, {"uid", {{"type", "string"}}}}}}}}}};
  json patch = {{"type", "object"},
                {"description",
                 "Patch is provided to give a concrete name and type to the Kubernetes PATCH "
                 "request body."}};
  return {{kObjectMeta, object_meta},
          {kListMeta, list_meta},
          {kStatus, status},
          {kDeleteOptions, delete_options},
          {kPatch, patch}};
}

json queryParam(const std::string& name, const std::string& description, bool v3,
                const std::string& type = "string") {
  json p = {{"name", name}, {"in", "query"}, {"description", description}};
  if (v3) {
    p["schema"] = {{"type", type}, {"uniqueItems", true}};
  } else {
    p["type"] = type;
    p["uniqueItems"] = true;
  }
  return p;
}

json pathParam(const std::string& name, bool v3) {
  json p = {{"name", name},
            {"in", "path"},
            {"required", true},
            {"description", name == "namespace" ? "object name and auth scope, such as for teams "
                                                  "and projects"
                                                : "name of the " + std::string("object")}};
  if (v3) {
    p["schema"] = {{"type", "string"}, {"uniqueItems", true}};
  } else {
    p["type"] = "string";
    p["uniqueItems"] = true;
  }
  return p;
}

// One operation. `body_ref` is the request body definition (empty: none); `resp_ref` the 200
// response definition.
json operation(const Served& s, const std::string& action, const std::string& op_id,
               const std::string& kind, const std::string& body_ref, const std::string& resp_ref,
               bool v3, const std::string& ref_prefix) {
  json op = {{"operationId", op_id},
             {"tags", json::array({reverseGroup(s.group) + "_" + s.version})},
             {"description", action + " " + kind},
             {"x-kubernetes-action", action},
             {"x-kubernetes-group-version-kind", gvk(s, kind)},
             {"parameters", json::array()}};
  json& params = op["parameters"];
  params.push_back(queryParam("pretty", "If 'true', then the output is pretty printed.", v3));
  const bool writes = action == "post" || action == "put" || action == "patch";
  if (writes || action == "delete" || action == "deletecollection") {
    params.push_back(queryParam("dryRun",
                                "When present, indicates that modifications should not "
                                "be persisted.",
                                v3));
  }
  if (writes) {
    params.push_back(queryParam("fieldManager",
                                "fieldManager is a name associated with the actor "
                                "or entity that is making these changes.",
                                v3));
    params.push_back(queryParam(
        "fieldValidation",
        "fieldValidation instructs the server on how to handle objects in the request "
        "containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.",
        v3));
  }
  if (action == "patch") {
    params.push_back(
        queryParam("force", "Force is going to \"force\" Apply requests.", v3, "boolean"));
  }
  if (action == "list" || action == "deletecollection") {
    for (const char* q : {"labelSelector", "fieldSelector", "continue", "resourceVersion",
                          "resourceVersionMatch"}) {
      params.push_back(queryParam(q, q, v3));
    }
    params.push_back(queryParam("limit", "limit", v3, "integer"));
    if (action == "list") {
      params.push_back(queryParam("watch", "watch", v3, "boolean"));
      params.push_back(queryParam("allowWatchBookmarks", "allowWatchBookmarks", v3, "boolean"));
      params.push_back(queryParam("timeoutSeconds", "timeoutSeconds", v3, "integer"));
    }
  }
  std::vector<std::string> body_types = {"application/json", "application/yaml"};
  if (action == "patch") {
    // kube-apiserver's custom resource OpenAPI: no strategic merge patch for CRs.
    body_types = {"application/json-patch+json", "application/merge-patch+json",
                  "application/apply-patch+yaml"};
  }
  const std::vector<std::string> resp_types = {"application/json", "application/yaml"};
  if (v3) {
    if (!body_ref.empty()) {
      json content = json::object();
      for (const auto& t : body_types) {
        content[t] = {{"schema", {{"$ref", ref_prefix + body_ref}}}};
      }
      op["requestBody"] = {{"content", content}, {"required", true}};
    }
    json content = json::object();
    for (const auto& t : resp_types) {
      content[t] = {{"schema", {{"$ref", ref_prefix + resp_ref}}}};
    }
    op["responses"] = {{"200", {{"description", "OK"}, {"content", content}}},
                       {"401", {{"description", "Unauthorized"}}}};
    if (action == "post") {
      op["responses"]["201"] = {{"description", "Created"}, {"content", content}};
    }
  } else {
    if (!body_ref.empty()) {
      params.push_back({{"name", "body"},
                        {"in", "body"},
                        {"required", true},
                        {"schema", {{"$ref", ref_prefix + body_ref}}}});
    }
    op["consumes"] = body_types;
    op["produces"] = resp_types;
    op["schemes"] = json::array({"https"});
    op["responses"] = {
        {"200", {{"description", "OK"}, {"schema", {{"$ref", ref_prefix + resp_ref}}}}},
        {"401", {{"description", "Unauthorized"}}}};
  }
  return op;
}

void addPaths(const Served& s, json& paths, bool v3, const std::string& ref_prefix) {
  const std::string base = "/apis/" + s.group + "/" + s.version;
  const std::string coll =
      s.namespaced ? base + "/namespaces/{namespace}/" + s.plural : base + "/" + s.plural;
  const std::string item = coll + "/{name}";
  const std::string obj = defName(s, s.kind);
  const std::string list = defName(s, s.list_kind);
  const std::string ns_suffix = s.namespaced ? "Namespaced" : "";
  const std::string k = s.kind;
  json common_coll = json::array();
  json common_item = json::array({pathParam("name", v3)});
  if (s.namespaced) {
    common_coll.push_back(pathParam("namespace", v3));
    common_item.push_back(pathParam("namespace", v3));
  }
  paths[coll] = {
      {"parameters", common_coll},
      {"get", operation(s, "list", "list" + ns_suffix + k, k, "", list, v3, ref_prefix)},
      {"post", operation(s, "post", "create" + ns_suffix + k, k, obj, obj, v3, ref_prefix)},
      {"delete", operation(s, "deletecollection", "deletecollection" + ns_suffix + k, k,
                           kDeleteOptions, kStatus, v3, ref_prefix)}};
  paths[item] = {
      {"parameters", common_item},
      {"get", operation(s, "get", "read" + ns_suffix + k, k, "", obj, v3, ref_prefix)},
      {"put", operation(s, "put", "replace" + ns_suffix + k, k, obj, obj, v3, ref_prefix)},
      {"patch", operation(s, "patch", "patch" + ns_suffix + k, k, kPatch, obj, v3, ref_prefix)},
      {"delete", operation(s, "delete", "delete" + ns_suffix + k, k, kDeleteOptions, kStatus, v3,
                           ref_prefix)}};
  if (s.status) {
    paths[item + "/status"] = {
        {"parameters", common_item},
        {"get", operation(s, "get", "read" + ns_suffix + k + "Status", k, "", obj, v3, ref_prefix)},
        {"put",
         operation(s, "put", "replace" + ns_suffix + k + "Status", k, obj, obj, v3, ref_prefix)},
        {"patch", operation(s, "patch", "patch" + ns_suffix + k + "Status", k, kPatch, obj, v3,
                            ref_prefix)}};
  }
  if (s.namespaced) {
    paths[base + "/" + s.plural] = {{"get", operation(s, "list", "list" + k + "ForAllNamespaces", k,
                                                      "", list, v3, ref_prefix)}};
  }
}

// OpenAPI v2 cannot express nullable, anyOf/oneOf/not or int-or-string; kube drops them (and the
// type where keeping it would make kubectl reject valid objects).
void toV2(json& s) {
  if (!s.is_object()) {
    return;
  }
  for (const char* key : {"anyOf", "oneOf", "not", "allOf"}) {
    s.erase(key);
  }
  if (s.value("nullable", false)) {
    for (const char* key : {"type", "items", "properties", "additionalProperties"}) {
      s.erase(key);
    }
  }
  s.erase("nullable");
  if (s.value("x-kubernetes-int-or-string", false)) {
    s.erase("type");
  }
  if (s.value("x-kubernetes-preserve-unknown-fields", false)) {
    for (const char* key : {"type", "items", "properties", "additionalProperties"}) {
      s.erase(key);
    }
  }
  if (auto it = s.find("properties"); it != s.end() && it->is_object()) {
    for (auto& [k, v] : it->items()) {
      (void)k;
      toV2(v);
    }
  }
  if (auto it = s.find("items"); it != s.end()) {
    toV2(*it);
  }
  if (auto it = s.find("additionalProperties"); it != s.end()) {
    toV2(*it);
  }
}

void fixRefsForV2(json& j) {
  if (j.is_object()) {
    if (auto it = j.find("allOf");
        it != j.end() && it->is_array() && it->size() == 1 && (*it)[0].contains("$ref")) {
      j["$ref"] = (*it)[0]["$ref"];
      j.erase("allOf");
    }
    for (auto& [k, v] : j.items()) {
      (void)k;
      fixRefsForV2(v);
    }
  } else if (j.is_array()) {
    for (auto& v : j) {
      fixRefsForV2(v);
    }
  }
}

}  // namespace

json openApiV3Document(const std::vector<json>& crds, const std::string& group,
                       const std::string& version) {
  const std::string ref = "#/components/schemas/";
  json schemas = metaSchemas();
  json paths = json::object();
  for (const auto& s : servedVersions(crds)) {
    if (s.group != group || s.version != version) {
      continue;
    }
    schemas[defName(s, s.kind)] = objectSchema(s, ref);
    schemas[defName(s, s.list_kind)] = listSchema(s, ref);
    addPaths(s, paths, true, ref);
  }
  return {{"openapi", "3.0.0"},
          {"info", {{"title", "Kubernetes CRD Swagger"}, {"version", "v0.1.0"}}},
          {"paths", paths},
          {"components", {{"schemas", schemas}}}};
}

json openApiV2Document(const std::vector<json>& crds) {
  const std::string ref = "#/definitions/";
  json defs = metaSchemas();
  json paths = json::object();
  for (const auto& s : servedVersions(crds)) {
    json obj = objectSchema(s, ref);
    fixRefsForV2(obj);  // before toV2(), which drops allOf
    toV2(obj);
    defs[defName(s, s.kind)] = obj;
    defs[defName(s, s.list_kind)] = listSchema(s, ref);
    addPaths(s, paths, false, ref);
  }
  json doc = {{"swagger", "2.0"},
              {"info", {{"title", "Kubernetes"}, {"version", "v0.1.0"}}},
              {"paths", paths},
              {"definitions", defs}};
  fixRefsForV2(doc);
  return doc;
}

}  // namespace novacron::devapi::schema
