// Discovery (/api, /apis, group/version resource lists), OpenAPI endpoints and Table output.
#include <functional>

#include "dev-apiserver/admission.h"
#include "dev-apiserver/api_server.h"
#include "dev-apiserver/util.h"

namespace novacron::devapi {

using nlohmann::json;

namespace {

Response jsonOk(const json& body) {
  Response r;
  r.body = body.dump();
  return r;
}

Response notFoundResponse() {
  Response r;
  r.code = 404;
  r.body = statusBody(404, "NotFound", "the server could not find the requested resource").dump();
  return r;
}

const std::vector<std::string> kVerbs = {"create", "delete", "deletecollection", "get",
                                         "list",   "patch",  "update",           "watch"};

json resourceList(const std::string& group_version, const std::vector<ResourceTypePtr>& types) {
  json resources = json::array();
  for (const auto& t : types) {
    json r = {{"name", t->resource},
              {"singularName", t->singular},
              {"namespaced", t->namespaced},
              {"kind", t->kind},
              {"verbs", t->verbs.empty() ? kVerbs : t->verbs}};
    if (!t->short_names.empty()) {
      r["shortNames"] = t->short_names;
    }
    if (!t->categories.empty()) {
      r["categories"] = t->categories;
    }
    resources.push_back(r);
    if (t->has_status) {
      resources.push_back({{"name", t->resource + "/status"},
                           {"singularName", ""},
                           {"namespaced", t->namespaced},
                           {"kind", t->kind},
                           {"verbs", {"get", "patch", "update"}}});
    }
    if (t->resource == "serviceaccounts" && t->group.empty()) {
      resources.push_back({{"name", "serviceaccounts/token"},
                           {"singularName", ""},
                           {"namespaced", true},
                           {"group", "authentication.k8s.io"},
                           {"version", "v1"},
                           {"kind", "TokenRequest"},
                           {"verbs", {"create"}}});
    }
    if (t->resource == "namespaces") {
      resources.push_back({{"name", "namespaces/finalize"},
                           {"singularName", ""},
                           {"namespaced", false},
                           {"kind", "Namespace"},
                           {"verbs", {"update"}}});
    }
  }
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", group_version},
          {"resources", resources}};
}

json groupJson(const std::string& name, const std::vector<std::string>& versions) {
  json vs = json::array();
  for (const auto& v : versions) {
    vs.push_back({{"groupVersion", name + "/" + v}, {"version", v}});
  }
  return {{"name", name},
          {"versions", vs},
          {"preferredVersion",
           {{"groupVersion", name + "/" + versions.front()}, {"version", versions.front()}}}};
}

std::string hashOf(const std::string& text) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%016zX", std::hash<std::string>{}(text));
  return buf;
}

// Built-in types get a minimal OpenAPI v3 description: a permissive schema per kind and a PATCH
// operation advertising fieldValidation, which is what kubectl looks for before it relies on
// server-side field validation (the CRD-derived documents come from the schema library).
void addBuiltinOpenApi(json& doc, const std::vector<ResourceTypePtr>& types) {
  if (!doc.contains("paths") || !doc["paths"].is_object()) {
    doc["paths"] = json::object();
  }
  if (!doc.contains("components") || !doc["components"].is_object()) {
    doc["components"] = {{"schemas", json::object()}};
  }
  for (const auto& t : types) {
    if (t->custom) {
      continue;
    }
    std::string g = t->group.empty() ? "core" : t->group;
    std::string rev_group;  // io.k8s.api.core.v1 style names
    if (t->group == "apiextensions.k8s.io") {
      rev_group = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions." + t->version;
    } else {
      std::string short_group = g.substr(0, g.find('.'));
      rev_group = "io.k8s.api." + short_group + "." + t->version;
    }
    json gvk = {{"group", t->group}, {"version", t->version}, {"kind", t->kind}};
    doc["components"]["schemas"][rev_group + "." + t->kind] = {
        {"type", "object"},
        {"x-kubernetes-preserve-unknown-fields", true},
        {"x-kubernetes-group-version-kind", json::array({gvk})}};
    std::string base = t->group.empty() ? "/api/" + t->version : "/apis/" + t->apiVersion();
    std::string item =
        base + (t->namespaced ? "/namespaces/{namespace}/" : "/") + t->resource + "/{name}";
    json params = json::array();
    for (const char* p : {"dryRun", "fieldManager", "fieldValidation", "force"}) {
      params.push_back({{"name", p}, {"in", "query"}, {"schema", {{"type", "string"}}}});
    }
    json op = {{"operationId", "patch" + t->kind},
               {"parameters", params},
               {"x-kubernetes-action", "patch"},
               {"x-kubernetes-group-version-kind", gvk},
               {"responses", {{"200", {{"description", "OK"}}}}}};
    json put = op;
    put["operationId"] = "replace" + t->kind;
    put["x-kubernetes-action"] = "put";
    doc["paths"][item] = {{"patch", op}, {"put", put}};
  }
}

}  // namespace

Response ApiServer::discovery(const Request& req, const std::vector<std::string>& seg) {
  (void)req;
  if (seg[0] == "api") {
    if (seg.size() == 1) {
      return jsonOk(
          {{"kind", "APIVersions"},
           {"versions", {"v1"}},
           {"serverAddressByClientCIDRs",
            {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", options_.server_address}}}}});
    }
    if (seg.size() == 2 && seg[1] == "v1") {
      return jsonOk(resourceList("v1", registry_.list("", "v1")));
    }
    return notFoundResponse();
  }
  auto groups = registry_.groups();
  if (seg.size() == 1) {
    json gl = json::array();
    for (const auto& [name, versions] : groups) {
      gl.push_back(groupJson(name, versions));
    }
    return jsonOk({{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", gl}});
  }
  for (const auto& [name, versions] : groups) {
    if (name != seg[1]) {
      continue;
    }
    if (seg.size() == 2) {
      json g = groupJson(name, versions);
      g["kind"] = "APIGroup";
      g["apiVersion"] = "v1";
      return jsonOk(g);
    }
    if (seg.size() == 3) {
      auto types = registry_.list(name, seg[2]);
      if (types.empty()) {
        return notFoundResponse();
      }
      return jsonOk(resourceList(name + "/" + seg[2], types));
    }
  }
  return notFoundResponse();
}

Response ApiServer::openapi(const Request& req, const std::vector<std::string>& seg) {
  auto crds = registry_.crds();
  if (seg.size() == 2 && seg[1] == "v2") {
    if (req.accept.find("protobuf") != std::string::npos &&
        req.accept.find("json") == std::string::npos) {
      // Only JSON is served; kube answers 406 for media types it cannot produce.
      Response r;
      r.code = 406;
      r.body = statusBody(406, "NotAcceptable",
                          "only the following media types are accepted: application/json")
                   .dump();
      return r;
    }
    return jsonOk(openApiV2(crds));
  }
  if (seg.size() >= 2 && seg[1] == "v3") {
    if (seg.size() == 2) {
      json paths = json::object();
      auto add = [&](const std::string& path, const std::string& group,
                     const std::string& version) {
        json d = openApiV3(crds, group, version);
        addBuiltinOpenApi(d, registry_.list(group, version));
        std::string doc = d.dump();
        paths[path] = {{"serverRelativeURL", "/openapi/v3/" + path + "?hash=" + hashOf(doc)}};
      };
      add("api/v1", "", "v1");
      for (const auto& [name, versions] : registry_.groups()) {
        for (const auto& v : versions) {
          add("apis/" + name + "/" + v, name, v);
        }
      }
      return jsonOk({{"paths", paths}});
    }
    if (seg.size() == 4 && seg[2] == "api") {
      json d = openApiV3(crds, "", seg[3]);
      addBuiltinOpenApi(d, registry_.list("", seg[3]));
      return jsonOk(d);
    }
    if (seg.size() == 5 && seg[2] == "apis") {
      if (registry_.list(seg[3], seg[4]).empty()) {
        return notFoundResponse();
      }
      json d = openApiV3(crds, seg[3], seg[4]);
      addBuiltinOpenApi(d, registry_.list(seg[3], seg[4]));
      return jsonOk(d);
    }
  }
  return notFoundResponse();
}

json evalJsonPath(const json& obj, const std::string& raw) {
  std::string path = raw;
  if (!path.empty() && path.front() == '{' && path.back() == '}') {
    path = path.substr(1, path.size() - 2);
  }
  if (!path.empty() && path[0] == '$') {
    path = path.substr(1);
  }
  const json* cur = &obj;
  size_t i = 0;
  while (i < path.size()) {
    if (cur == nullptr || cur->is_null()) {
      return nullptr;
    }
    if (path[i] == '.') {
      ++i;
      size_t j = i;
      while (j < path.size() && path[j] != '.' && path[j] != '[') {
        ++j;
      }
      std::string field = path.substr(i, j - i);
      i = j;
      if (field.empty()) {
        continue;
      }
      if (!cur->is_object() || !cur->contains(field)) {
        return nullptr;
      }
      cur = &(*cur)[field];
    } else if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string::npos) {
        return nullptr;
      }
      std::string inner = path.substr(i + 1, close - i - 1);
      i = close + 1;
      if (inner.rfind("?(@.", 0) == 0) {
        // Filter: [?(@.type=="Ready")]
        auto eq = inner.find("==");
        if (eq == std::string::npos || !cur->is_array()) {
          return nullptr;
        }
        std::string field = inner.substr(4, eq - 4);
        std::string want = inner.substr(eq + 2);
        if (!want.empty() && want.back() == ')') {
          want.pop_back();
        }
        if (want.size() >= 2 && (want.front() == '"' || want.front() == '\'')) {
          want = want.substr(1, want.size() - 2);
        }
        const json* found = nullptr;
        for (const auto& item : *cur) {
          if (item.is_object() && item.contains(field) && item[field].is_string() &&
              item[field].get<std::string>() == want) {
            found = &item;
            break;
          }
        }
        cur = found;
      } else if (!inner.empty() && (inner.front() == '\'' || inner.front() == '"')) {
        std::string field = inner.substr(1, inner.size() - 2);
        if (!cur->is_object() || !cur->contains(field)) {
          return nullptr;
        }
        cur = &(*cur)[field];
      } else {
        if (!cur->is_array()) {
          return nullptr;
        }
        long idx = std::atol(inner.c_str());
        if (idx < 0) {
          idx += static_cast<long>(cur->size());
        }
        if (idx < 0 || static_cast<size_t>(idx) >= cur->size()) {
          return nullptr;
        }
        cur = &(*cur)[static_cast<size_t>(idx)];
      }
    } else {
      return nullptr;
    }
  }
  return cur == nullptr ? json(nullptr) : *cur;
}

namespace {

json column(const std::string& name, const std::string& type, const std::string& format,
            const std::string& description, int priority) {
  return {{"name", name},
          {"type", type},
          {"format", format},
          {"description", description},
          {"priority", priority}};
}

std::string age(const json& obj) {
  std::chrono::system_clock::time_point t;
  std::string ts = obj.value("/metadata/creationTimestamp"_json_pointer, "");
  if (!parseRfc3339(ts, &t)) {
    return "<unknown>";
  }
  return humanDuration(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - t));
}

json cellFor(const json& value, const std::string& type) {
  if (value.is_null()) {
    return nullptr;
  }
  if (type == "date" && value.is_string()) {
    std::chrono::system_clock::time_point t;
    if (parseRfc3339(value.get<std::string>(), &t)) {
      return humanDuration(
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - t));
    }
  }
  if (type == "string" && !value.is_string()) {
    return value.dump();
  }
  return value;
}

size_t countData(const json& obj) {
  size_t n = 0;
  for (const char* f : {"data", "binaryData"}) {
    if (obj.contains(f) && obj[f].is_object()) {
      n += obj[f].size();
    }
  }
  return n;
}

}  // namespace

json toTable(const ResourceType& t, const std::vector<json>& objects,
             const std::string& resource_version, bool include_object) {
  const std::string name_desc =
      "Name must be unique within a namespace. Is required when creating resources, although some "
      "resources may allow a client to request the generation of an appropriate name "
      "automatically. Name is primarily intended for creation idempotence and configuration "
      "definition. Cannot be updated. More info: "
      "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
  json cols = json::array();
  std::function<json(const json&)> cells;
  if (t.custom) {
    cols.push_back(column("Name", "string", "name", name_desc, 0));
    json pcs = t.printer_columns;
    if (pcs.empty()) {
      pcs = json::array(
          {{{"name", "Age"}, {"type", "date"}, {"jsonPath", ".metadata.creationTimestamp"}}});
    }
    for (const auto& pc : pcs) {
      cols.push_back(column(pc.value("name", ""), pc.value("type", "string"),
                            pc.value("format", ""), pc.value("description", ""),
                            pc.value("priority", 0)));
    }
    cells = [pcs](const json& o) {
      json row = json::array({o.value("/metadata/name"_json_pointer, "")});
      for (const auto& pc : pcs) {
        row.push_back(cellFor(evalJsonPath(o, pc.value("jsonPath", "")), pc.value("type", "")));
      }
      return row;
    };
  } else if (t.resource == "namespaces") {
    cols = {column("Name", "string", "name", name_desc, 0),
            column("Status", "string", "", "The status of the namespace", 0),
            column("Age", "string", "", "", 0)};
    cells = [](const json& o) {
      return json::array(
          {o["metadata"].value("name", ""), o.value("/status/phase"_json_pointer, ""), age(o)});
    };
  } else if (t.resource == "configmaps") {
    cols = {column("Name", "string", "name", name_desc, 0), column("Data", "string", "", "", 0),
            column("Age", "string", "", "", 0)};
    cells = [](const json& o) {
      return json::array({o["metadata"].value("name", ""), countData(o), age(o)});
    };
  } else if (t.resource == "secrets") {
    cols = {column("Name", "string", "name", name_desc, 0), column("Type", "string", "", "", 0),
            column("Data", "string", "", "", 0), column("Age", "string", "", "", 0)};
    cells = [](const json& o) {
      return json::array(
          {o["metadata"].value("name", ""), o.value("type", ""), countData(o), age(o)});
    };
  } else if (t.resource == "leases") {
    cols = {column("Name", "string", "name", name_desc, 0), column("Holder", "string", "", "", 0),
            column("Age", "string", "", "", 0)};
    cells = [](const json& o) {
      return json::array({o["metadata"].value("name", ""),
                          o.value("/spec/holderIdentity"_json_pointer, ""), age(o)});
    };
  } else if (t.resource == "events") {
    cols = {column("Last Seen", "string", "", "", 0), column("Type", "string", "", "", 0),
            column("Reason", "string", "", "", 0), column("Object", "string", "", "", 0),
            column("Message", "string", "", "", 0)};
    cells = [](const json& o) {
      json obj = o.contains("involvedObject") ? o["involvedObject"] : o.value("regarding", json());
      std::string ref;
      if (obj.is_object()) {
        std::string kind = obj.value("kind", "");
        std::transform(kind.begin(), kind.end(), kind.begin(), ::tolower);
        ref = kind + "/" + obj.value("name", "");
      }
      return json::array({age(o), o.value("type", ""), o.value("reason", ""), ref,
                          o.contains("message") ? o.value("message", "") : o.value("note", "")});
    };
  } else {
    cols = {column("Name", "string", "name", name_desc, 0),
            column("Created At", "date", "", "", 0)};
    cells = [](const json& o) {
      return json::array({o["metadata"].value("name", ""),
                          o.value("/metadata/creationTimestamp"_json_pointer, "")});
    };
  }
  json rows = json::array();
  for (const auto& o : objects) {
    json row = {{"cells", cells(o)}};
    if (include_object) {
      row["object"] = o;
    } else {
      row["object"] = {{"kind", "PartialObjectMetadata"},
                       {"apiVersion", "meta.k8s.io/v1"},
                       {"metadata", o.value("metadata", json::object())}};
    }
    rows.push_back(row);
  }
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", {{"resourceVersion", resource_version}}},
          {"columnDefinitions", cols},
          {"rows", rows}};
}

}  // namespace novacron::devapi
