// The CRDs in crds/ and the C++ types cannot drift apart:
//  - each CRD is a structural schema (types everywhere outside junctors, nothing but validation
//    inside oneOf/not, junctor properties also declared outside, list-map keys required);
//  - a fully populated object of each kind, as the encoder writes it, validates against the schema
//    with every emitted JSON path declared there;
//  - schema defaults equal the C++ defaults, schema enums equal the C++ enums, schema patterns and
//    lengths equal lib/api/schema_rules;
//  - for every bounded integer, every pattern-checked string and every required field, mutating
//    the object makes the schema reject it exactly when decode()+validate() rejects it.
// The schema is checked with a small OpenAPI validator below that implements the keywords our
// CRDs use (it fails on any keyword it does not know, so it cannot silently skip one).
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lib/api/codec.h"
#include "lib/api/schema_rules.h"
#include "lib/api/validation.h"
#include "tests/unit/lib/api/fixtures.h"
#include "tests/unit/lib/api/test_files.h"

namespace novacron::api {
namespace {

using nlohmann::json;

json loadCrd(const std::string& file) {
  auto doc = yamlToJson(testing::readFile(testing::sourceDir() / "crds" / file));
  EXPECT_TRUE(doc.isOk()) << file << ": " << doc.status();
  return doc.valueOr(json());
}

const json& schemaOf(const json& crd) {
  return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
}

// ---- a small OpenAPI v3 validator for the keywords our CRDs use ----

const std::set<std::string> kKnownKeywords = {
    "type",
    "description",
    "properties",
    "required",
    "items",
    "enum",
    "default",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "maxItems",
    "oneOf",
    "not",
    "additionalProperties",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
};

bool typeMatches(const json& v, const std::string& type) {
  if (type == "object") {
    return v.is_object();
  }
  if (type == "array") {
    return v.is_array();
  }
  if (type == "string") {
    return v.is_string();
  }
  if (type == "integer") {
    return v.is_number_integer() || v.is_number_unsigned();
  }
  if (type == "number") {
    return v.is_number();
  }
  if (type == "boolean") {
    return v.is_boolean();
  }
  return false;
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

// Appends "path: problem" for each violation. Paths use the FieldError style (a.b[0].c, map[key]).
void check(const json& v, const json& s, const std::string& path, std::vector<std::string>& out) {
  for (auto it = s.begin(); it != s.end(); ++it) {
    if (!kKnownKeywords.contains(it.key())) {
      out.push_back(path + ": schema keyword not understood by this test: " + it.key());
    }
  }
  if (s.contains("type") && !typeMatches(v, s["type"])) {
    out.push_back(path + ": expected " + s["type"].get<std::string>() + ", got " + v.dump());
    return;
  }
  if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end()) {
    out.push_back(path + ": not in enum: " + v.dump());
  }
  if (v.is_number()) {
    if (s.contains("minimum") && v.get<double>() < s["minimum"].get<double>()) {
      out.push_back(path + ": below minimum");
    }
    if (s.contains("maximum") && v.get<double>() > s["maximum"].get<double>()) {
      out.push_back(path + ": above maximum");
    }
  }
  if (v.is_string()) {
    const std::string str = v.get<std::string>();
    if (s.contains("minLength") && str.size() < s["minLength"].get<std::size_t>()) {
      out.push_back(path + ": shorter than minLength");
    }
    if (s.contains("maxLength") && str.size() > s["maxLength"].get<std::size_t>()) {
      out.push_back(path + ": longer than maxLength");
    } else if (s.contains("pattern") && !matchesPattern(s["pattern"].get<std::string>(), str)) {
      out.push_back(path + ": does not match pattern");
    }
    if (s.value("format", "") == "date-time" && !parseTimestamp(str)) {
      out.push_back(path + ": not a date-time");
    }
  }
  if (v.is_array()) {
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<std::size_t>()) {
      out.push_back(path + ": more than maxItems");
    }
    if (s.contains("items")) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        check(v[i], s["items"], path + "[" + std::to_string(i) + "]", out);
      }
    }
    if (s.value("x-kubernetes-list-type", "") == "map") {
      std::set<std::string> keys;
      for (std::size_t i = 0; i < v.size(); ++i) {
        json key = json::array();
        for (const json& k : s["x-kubernetes-list-map-keys"]) {
          key.push_back(v[i].value(k.get<std::string>(), json()));
        }
        if (!keys.insert(key.dump()).second) {
          out.push_back(path + "[" + std::to_string(i) + "]: duplicate list-map key " + key.dump());
        }
      }
    }
  }
  if (v.is_object()) {
    for (const json& r : s.value("required", json::array())) {
      if (!v.contains(r.get<std::string>())) {
        out.push_back(join(path, r.get<std::string>()) + ": required");
      }
    }
    const json props = s.value("properties", json::object());
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (props.contains(it.key())) {
        check(it.value(), props[it.key()], join(path, it.key()), out);
      } else if (s.contains("additionalProperties")) {
        check(it.value(), s["additionalProperties"], path + "[" + it.key() + "]", out);
      } else if (s.contains("type")) {  // junctor branches only constrain, never declare
        out.push_back(join(path, it.key()) + ": not declared in the schema");
      }
    }
  }
  if (s.contains("oneOf")) {
    int matching = 0;
    for (const json& branch : s["oneOf"]) {
      std::vector<std::string> branch_errors;
      check(v, branch, path, branch_errors);
      matching += branch_errors.empty() ? 1 : 0;
    }
    if (matching != 1) {
      out.push_back(path + ": matches " + std::to_string(matching) + " oneOf branches, not 1");
    }
  }
  if (s.contains("not")) {
    std::vector<std::string> not_errors;
    check(v, s["not"], path, not_errors);
    if (not_errors.empty()) {
      out.push_back(path + ": matches a 'not' schema");
    }
  }
}

// The object as the schema sees it: metadata is validated by the API server itself, except name.
json forSchema(json object) {
  json meta = json::object();
  if (object.contains("metadata") && object["metadata"].contains("name")) {
    meta["name"] = object["metadata"]["name"];
  }
  object["metadata"] = meta;
  return object;
}

std::vector<std::string> schemaErrors(const json& crd, const json& object) {
  std::vector<std::string> out;
  check(forSchema(object), schemaOf(crd), "", out);
  return out;
}

// Structural schema rules (apiextensions.k8s.io/v1).
void checkStructural(const json& s, const std::string& path, bool in_junctor,
                     std::vector<std::string>& out) {
  if (in_junctor) {
    for (const char* forbidden : {"type", "default", "description", "additionalProperties",
                                  "nullable", "x-kubernetes-list-type"}) {
      if (s.contains(forbidden)) {
        out.push_back(path + ": '" + forbidden + "' is not allowed inside oneOf/not");
      }
    }
  } else if (!s.contains("type")) {
    out.push_back(path + ": missing type");
  }
  if (s.contains("pattern")) {
    if (!isValidPattern(s["pattern"].get<std::string>())) {
      out.push_back(path + ": pattern does not compile");
    }
  }
  if (s.contains("properties") && s.contains("additionalProperties")) {
    out.push_back(path + ": properties and additionalProperties are mutually exclusive");
  }
  if (s.contains("default")) {
    std::vector<std::string> default_errors;
    check(s["default"], s, path + "(default)", default_errors);
    out.insert(out.end(), default_errors.begin(), default_errors.end());
  }
  if (s.contains("x-kubernetes-list-map-keys")) {
    const json& item = s["items"];
    for (const json& key : s["x-kubernetes-list-map-keys"]) {
      const std::string k = key.get<std::string>();
      const json item_required = item.value("required", json::array());
      const bool required =
          std::find(item_required.begin(), item_required.end(), key) != item_required.end();
      if (!required && !item["properties"][k].contains("default")) {
        out.push_back(path + ": list-map key " + k + " must be required or defaulted");
      }
    }
  }
  const json properties = s.value("properties", json::object());
  for (auto it = properties.begin(); it != properties.end(); ++it) {
    checkStructural(it.value(), join(path, it.key()), in_junctor, out);
  }
  if (s.contains("items")) {
    checkStructural(s["items"], path + "[]", in_junctor, out);
  }
  if (s.contains("additionalProperties") && s["additionalProperties"].is_object()) {
    checkStructural(s["additionalProperties"], path + "[*]", in_junctor, out);
  }
  const auto junctor = [&](const json& branch, const std::string& where) {
    checkStructural(branch, where, true, out);
    const json branch_properties = branch.value("properties", json::object());
    for (auto it = branch_properties.begin(); it != branch_properties.end(); ++it) {
      if (!properties.contains(it.key())) {
        out.push_back(where + "." + it.key() + ": must also be declared outside the junctor");
      }
    }
  };
  if (s.contains("oneOf")) {
    for (std::size_t i = 0; i < s["oneOf"].size(); ++i) {
      junctor(s["oneOf"][i], path + ".oneOf[" + std::to_string(i) + "]");
    }
  }
  if (s.contains("not")) {
    junctor(s["not"], path + ".not");
  }
}

// Applies schema defaults the way the API server does (recursing into defaulted values).
void applyDefaults(json& v, const json& s) {
  if (v.is_object()) {
    const json props = s.value("properties", json::object());
    for (auto it = props.begin(); it != props.end(); ++it) {
      if (!v.contains(it.key()) && it.value().contains("default")) {
        v[it.key()] = it.value()["default"];
      }
      if (v.contains(it.key())) {
        applyDefaults(v[it.key()], it.value());
      }
    }
  } else if (v.is_array() && s.contains("items")) {
    for (json& item : v) {
      applyDefaults(item, s["items"]);
    }
  }
}

// Every (path, subschema) pair of the schema, paths in FieldError style with [0] for list items.
void walkSchema(const json& s, const std::string& path,
                const std::function<void(const std::string&, const json&)>& fn) {
  fn(path, s);
  const json properties = s.value("properties", json::object());
  for (auto it = properties.begin(); it != properties.end(); ++it) {
    walkSchema(it.value(), join(path, it.key()), fn);
  }
  if (s.contains("items")) {
    walkSchema(s["items"], path + "[0]", fn);
  }
}

// FieldError-style path -> JSON pointer ("spec.disks[0].name" -> "/spec/disks/0/name").
json::json_pointer pointerOf(const std::string& path) {
  std::string out;
  std::string token;
  for (char c : path) {
    if (c == '.' || c == '[' || c == ']') {
      if (!token.empty()) {
        out += "/" + token;
        token.clear();
      }
    } else {
      token += c;
    }
  }
  if (!token.empty()) {
    out += "/" + token;
  }
  return json::json_pointer(out);
}

// Resolves a schema path with [0] list markers against an object: each [0] becomes the first index
// whose element contains the rest of the path. nullopt if no element does.
std::optional<std::string> resolvePath(const json& object, const std::string& path,
                                       std::size_t from = 0) {
  const auto marker = path.find("[0]", from);
  if (marker == std::string::npos) {
    return object.contains(pointerOf(path)) ? std::optional<std::string>(path) : std::nullopt;
  }
  const std::string list = path.substr(0, marker);
  const json::json_pointer list_ptr = pointerOf(list);
  if (!object.contains(list_ptr) || !object[list_ptr].is_array()) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < object[list_ptr].size(); ++i) {
    const std::string prefix = list + "[" + std::to_string(i) + "]";
    auto rest = resolvePath(object, prefix + path.substr(marker + 3), prefix.size());
    if (rest) {
      return rest;
    }
  }
  return std::nullopt;
}

struct Kind {
  std::string file;
  std::function<json()> full;
  // Decodes and validates; returns the FieldError paths, or the decode error message as a path
  // list of one entry per field named in it.
  std::function<std::vector<std::string>(const json&)> cppErrors;
};

template <typename T>
std::vector<std::string> cppErrorsOf(const json& j) {
  auto decoded = fromJson<T>(j);
  std::vector<std::string> out;
  if (!decoded.isOk()) {
    out.push_back("<decode> " + decoded.status().message());
    return out;
  }
  for (const FieldError& e : validationErrors(*decoded)) {
    out.push_back(e.field);
  }
  return out;
}

// True if C++ reports a problem on `path` (exactly, or on a parent such as spec.disks[0] for the
// one-source rule, or in the decode message).
bool cppRejects(const std::vector<std::string>& errors, const std::string& path) {
  for (const std::string& e : errors) {
    if (e == path || (e.starts_with("<decode>") && e.find(path + ":") != std::string::npos)) {
      return true;
    }
  }
  return false;
}

bool schemaRejects(const std::vector<std::string>& errors, const std::string& path) {
  for (const std::string& e : errors) {
    if (e.starts_with(path + ":") || e.starts_with(path + "[")) {
      return true;
    }
  }
  return false;
}

std::vector<Kind> kinds() {
  return {
      {"novacron.io_virtualmachines.yaml", [] { return toJson(testing::fullVirtualMachine()); },
       cppErrorsOf<VirtualMachine>},
      {"novacron.io_vmmigrations.yaml", [] { return toJson(testing::fullVMMigration()); },
       cppErrorsOf<VMMigration>},
      {"novacron.io_hypervisors.yaml", [] { return toJson(testing::fullHypervisor()); },
       cppErrorsOf<Hypervisor>},
  };
}

TEST(CrdDriftTest, CrdsDescribeTheKinds) {
  const struct {
    std::string file, kind, plural, scope;
    std::vector<std::string> shortNames, columns;
  } expected[] = {
      {"novacron.io_virtualmachines.yaml",
       "VirtualMachine",
       "virtualmachines",
       "Namespaced",
       {"vm"},
       {"Phase", "Hypervisor", "CPUs", "Memory", "IP", "Age"}},
      {"novacron.io_vmmigrations.yaml",
       "VMMigration",
       "vmmigrations",
       "Namespaced",
       {"vmm", "vmim", "vmmigration"},
       {"VM", "Phase", "Source", "Target", "Progress", "ETA", "Age"}},
      {"novacron.io_hypervisors.yaml",
       "Hypervisor",
       "hypervisors",
       "Cluster",
       {"hv"},
       {"Ready", "VMs", "CPU", "Memory", "Virtualization", "Age"}},
  };
  for (const auto& e : expected) {
    const json crd = loadCrd(e.file);
    EXPECT_EQ(crd["apiVersion"], "apiextensions.k8s.io/v1");
    EXPECT_EQ(crd["kind"], "CustomResourceDefinition");
    EXPECT_EQ(crd["metadata"]["name"], e.plural + ".novacron.io");
    EXPECT_EQ(crd["spec"]["group"], std::string(kGroup));
    EXPECT_EQ(crd["spec"]["names"]["kind"], e.kind);
    EXPECT_EQ(crd["spec"]["names"]["plural"], e.plural);
    EXPECT_EQ(crd["spec"]["names"]["shortNames"], json(e.shortNames));
    EXPECT_EQ(crd["spec"]["names"]["categories"], json::array({"novacron"}));
    EXPECT_EQ(crd["spec"]["scope"], e.scope);
    ASSERT_EQ(crd["spec"]["versions"].size(), 1u);
    const json& version = crd["spec"]["versions"][0];
    EXPECT_EQ(version["name"], std::string(kVersion));
    EXPECT_EQ(version["served"], true);
    EXPECT_EQ(version["storage"], true);
    EXPECT_EQ(version["subresources"]["status"], json::object());
    std::vector<std::string> columns;
    for (const json& c : version["additionalPrinterColumns"]) {
      if (c.value("priority", 0) == 0) {
        columns.push_back(c["name"]);
      }
      // Every column's path resolves to a declared field (or metadata.creationTimestamp).
      const std::string path = c["jsonPath"];
      if (path != ".metadata.creationTimestamp") {
        std::string declared = path.substr(1, path.find('[') - 1);
        json::json_pointer p = pointerOf(declared);
        const json full = e.kind == "VirtualMachine" ? toJson(testing::fullVirtualMachine())
                          : e.kind == "VMMigration"  ? toJson(testing::fullVMMigration())
                                                     : toJson(testing::fullHypervisor());
        EXPECT_TRUE(full.contains(p)) << e.kind << " column " << c["name"] << ": " << path;
      }
    }
    EXPECT_EQ(columns, e.shortNames.empty() ? columns : e.columns) << e.kind;
  }
}

TEST(CrdDriftTest, SchemasAreStructural) {
  for (const Kind& k : kinds()) {
    const json crd = loadCrd(k.file);
    std::vector<std::string> errors;
    checkStructural(schemaOf(crd), "", false, errors);
    for (const std::string& e : errors) {
      ADD_FAILURE() << k.file << ": " << e;
    }
  }
}

TEST(CrdDriftTest, EveryEmittedFieldIsDeclaredAndValid) {
  for (const Kind& k : kinds()) {
    const json crd = loadCrd(k.file);
    const json object = k.full();
    for (const std::string& e : schemaErrors(crd, object)) {
      ADD_FAILURE() << k.file << ": " << e;
    }
    EXPECT_TRUE(k.cppErrors(object).empty());
  }
}

TEST(CrdDriftTest, DefaultsAgree) {
  const struct {
    std::string file;
    json minimal;
    std::function<core::StatusOr<json>(const json&)> roundTrip;
  } cases[] = {
      {"novacron.io_virtualmachines.yaml",
       json::parse(R"({"apiVersion":"novacron.io/v1alpha1","kind":"VirtualMachine",
         "metadata":{"name":"a"},"spec":{"resources":{"cpus":1,"memory":"1Gi"},
         "cpu":{"topology":{}},"disks":[{"name":"d","emptyDisk":{"size":"1Gi"}}],
         "networks":[{"name":"n"}]}})"),
       [](const json& j) -> core::StatusOr<json> {
         auto v = virtualMachineFromJson(j);
         if (!v.isOk()) {
           return v.status();
         }
         return toJson(*v);
       }},
      {"novacron.io_vmmigrations.yaml",
       json::parse(R"({"apiVersion":"novacron.io/v1alpha1","kind":"VMMigration",
         "metadata":{"name":"a"},"spec":{"vmName":"vm","options":{"postCopy":{}}}})"),
       [](const json& j) -> core::StatusOr<json> {
         auto v = vmMigrationFromJson(j);
         if (!v.isOk()) {
           return v.status();
         }
         return toJson(*v);
       }},
      {"novacron.io_hypervisors.yaml",
       json::parse(R"({"apiVersion":"novacron.io/v1alpha1","kind":"Hypervisor",
         "metadata":{"name":"a"},"spec":{"overcommit":{},"migration":{}}})"),
       [](const json& j) -> core::StatusOr<json> {
         auto v = hypervisorFromJson(j);
         if (!v.isOk()) {
           return v.status();
         }
         return toJson(*v);
       }},
      {"novacron.io_hypervisors.yaml",
       json::parse(R"({"apiVersion":"novacron.io/v1alpha1","kind":"Hypervisor",
         "metadata":{"name":"a"}})"),
       [](const json& j) -> core::StatusOr<json> {
         auto v = hypervisorFromJson(j);
         if (!v.isOk()) {
           return v.status();
         }
         return toJson(*v);
       }},
      {"novacron.io_vmmigrations.yaml",
       json::parse(R"({"apiVersion":"novacron.io/v1alpha1","kind":"VMMigration",
         "metadata":{"name":"a"},"spec":{"vmName":"vm"}})"),
       [](const json& j) -> core::StatusOr<json> {
         auto v = vmMigrationFromJson(j);
         if (!v.isOk()) {
           return v.status();
         }
         return toJson(*v);
       }},
  };
  for (const auto& c : cases) {
    const json crd = loadCrd(c.file);
    json defaulted = c.minimal;
    applyDefaults(defaulted, schemaOf(crd));
    auto encoded = c.roundTrip(c.minimal);
    ASSERT_TRUE(encoded.isOk()) << encoded.status();
    // Server-side defaulting and the C++ defaults produce the same object.
    EXPECT_EQ(*encoded, defaulted)
        << c.file << "\nC++:    " << encoded->dump() << "\nschema: " << defaulted.dump();
  }
}

template <typename E>
std::vector<std::string> names() {
  std::vector<std::string> out;
  for (std::string_view n : enumValues<E>()) {
    out.emplace_back(n);
  }
  return out;
}

TEST(CrdDriftTest, EnumsAgree) {
  const std::map<std::string, std::vector<std::string>> expected = {
      {"spec.runStrategy", names<RunStrategy>()},
      {"spec.firmware", names<Firmware>()},
      {"spec.disks[0].bus", names<DiskBus>()},
      {"spec.networks[0].type", names<NetworkType>()},
      {"spec.evictionStrategy", names<EvictionStrategy>()},
      {"status.phase", {}},  // per kind below
      {"status.conditions[0].status", names<ConditionStatus>()},
      {"spec.mode", names<MigrationMode>()},
      {"spec.options.compression", names<MigrationCompression>()},
      {"spec.options.copyStorage", names<CopyStorage>()},
      {"status.virtualization", names<Virtualization>()},
      {"status.forecast.strategy", names<MigrationStrategy>()},
      {"status.forecast.compression", names<MigrationCompression>()},
      {"status.plan.forecast.strategy", names<MigrationStrategy>()},
      {"status.plan.forecast.compression", names<MigrationCompression>()},
  };
  for (const Kind& k : kinds()) {
    const json crd = loadCrd(k.file);
    int seen = 0;
    walkSchema(schemaOf(crd), "", [&](const std::string& path, const json& s) {
      if (!s.contains("enum") || !s.contains("type")) {
        return;
      }
      ++seen;
      std::vector<std::string> want;
      if (path == "status.phase") {
        want = k.file.find("virtualmachines") != std::string::npos ? names<VirtualMachinePhase>()
                                                                   : names<MigrationPhase>();
      } else {
        ASSERT_TRUE(expected.contains(path)) << k.file << ": enum at " << path << " not mapped";
        want = expected.at(path);
      }
      EXPECT_EQ(s["enum"].get<std::vector<std::string>>(), want) << k.file << " " << path;
    });
    EXPECT_GT(seen, 0);
  }
}

// Every pattern in a CRD is one of lib/api/schema_rules, with the same lengths.
TEST(CrdDriftTest, PatternsAndLengthsAgree) {
  const StringRule* all[] = {
      &rules::kDns1123Label,  &rules::kDns1123Subdomain, &rules::kHypervisorName,
      &rules::kLabelValue,    &rules::kCpuModel,         &rules::kCpuFeature,
      &rules::kImageUrl,      &rules::kSha256,           &rules::kKernelCmdline,
      &rules::kBridgeName,    &rules::kMacAddress,       &rules::kIpAddress,
      &rules::kUuid,          &rules::kHostPort,         &rules::kFreeText,
      &rules::kConditionType, &rules::kConditionReason,  &rules::kQuantity,
  };
  for (const Kind& k : kinds()) {
    const json crd = loadCrd(k.file);
    walkSchema(schemaOf(crd), "", [&](const std::string& path, const json& s) {
      if (!s.contains("pattern")) {
        return;
      }
      const std::string pattern = s["pattern"];
      bool found = false;
      for (const StringRule* rule : all) {
        if (rule->pattern == pattern && s.value("maxLength", std::size_t{0}) == rule->maxLength &&
            s.value("minLength", std::size_t{0}) == rule->minLength) {
          found = true;
        }
      }
      // metadata.name: the API server requires it, so the schema has no minLength.
      if (path == "metadata.name") {
        for (const StringRule* rule : all) {
          found |=
              rule->pattern == pattern && s.value("maxLength", std::size_t{0}) == rule->maxLength;
        }
      }
      EXPECT_TRUE(found) << k.file << " " << path << ": pattern/lengths match no schema rule";
    });
  }
}

// Strings a user (or attacker) might write, tried in every pattern-checked field.
const std::vector<std::string>& stringCorpus() {
  static const std::vector<std::string> corpus = {
      "a",
      "web-1",
      "node-1.rack-2",
      "A",
      "a..b",
      "..",
      "a/b",
      "../etc/passwd",
      "<x>",
      "a&b",
      "a'b",
      "a\"b",
      std::string("a\0b", 3),
      "a\nb",
      "-a",
      "a-",
      "a_b",
      "a b",
      "a.b",
      "Ready",
      "Bad Reason",
      "image:debian-12",
      "image:a..b",
      "image:a/b",
      "https://images.example.com/x.qcow2",
      "http://x",
      "file:///etc/passwd",
      "/var/lib/x",
      "52:54:00:00:00:01",
      "192.0.2.1",
      "6a1f0c1e-2b3c-4d5e-8f90-a1b2c3d4e5f6",
      std::string(64, 'a'),
      std::string(64, 'A'),
      std::string(300, 'a'),
      "br0",
      "host-passthrough",
      "1Gi",
      "-1Gi",
      "10Xi",
      "100m",
      "0",
      "",
  };
  return corpus;
}

// Paths where C++ is stricter than the schema by design (a schema cannot express the rule
// without CEL): quantity ranges; topology product. Documented in docs/api.md.
bool cppStricterByDesign(const std::string& path, const std::string& value) {
  if (path.ends_with("memory") || path.ends_with(".size")) {
    auto q = parseQuantity(value);
    return q.isOk();  // the pattern accepted it; the range check is C++-only
  }
  (void)value;
  return false;
}

TEST(CrdDriftTest, SchemaAndValidateAgreeOnStrings) {
  for (const Kind& k : kinds()) {
    const json crd = loadCrd(k.file);
    const json full = k.full();
    int checked = 0;
    walkSchema(schemaOf(crd), "", [&](const std::string& path, const json& s) {
      if (s.value("type", "") != "string" || !s.contains("pattern")) {
        return;
      }
      const auto concrete = resolvePath(full, path);
      if (!concrete) {
        ADD_FAILURE() << k.file << ": fixture does not set " << path;
        return;
      }
      const std::string& field = *concrete;
      const json::json_pointer ptr = pointerOf(field);
      for (const std::string& value : stringCorpus()) {
        if (path == "metadata.name" && value.empty()) {
          continue;  // the API server rejects an empty name before the schema runs
        }
        json mutated = full;
        mutated[ptr] = value;
        const bool schema = schemaRejects(schemaErrors(crd, mutated), field);
        const bool cpp = cppRejects(k.cppErrors(mutated), field);
        if (!schema && cpp && cppStricterByDesign(field, value)) {
          continue;
        }
        EXPECT_EQ(schema, cpp) << k.file << " " << field << " = " << json(value).dump()
                               << ": schema " << (schema ? "rejects" : "accepts") << ", C++ "
                               << (cpp ? "rejects" : "accepts");
        ++checked;
      }
    });
    EXPECT_GT(checked, 100) << k.file;
  }
}

TEST(CrdDriftTest, SchemaAndValidateAgreeOnNumericBounds) {
  for (const Kind& k : kinds()) {
    const json crd = loadCrd(k.file);
    const json full = k.full();
    int checked = 0;
    walkSchema(schemaOf(crd), "", [&](const std::string& path, const json& s) {
      const std::string type = s.value("type", "");
      if ((type != "integer" && type != "number") ||
          (!s.contains("minimum") && !s.contains("maximum"))) {
        return;
      }
      const auto concrete = resolvePath(full, path);
      ASSERT_TRUE(concrete.has_value()) << k.file << ": fixture does not set " << path;
      const json::json_pointer ptr = pointerOf(*concrete);
      std::vector<double> values;
      for (const char* bound : {"minimum", "maximum"}) {
        if (s.contains(bound)) {
          const double b = s[bound].get<double>();
          values.insert(values.end(), {b - 1, b, b + 1});
          if (type == "number") {
            values.insert(values.end(), {b - 0.01, b + 0.01});
          }
        }
      }
      for (double value : values) {
        json mutated = full;
        if (type == "integer") {
          mutated[ptr] = static_cast<int64_t>(value);
        } else {
          mutated[ptr] = value;
        }
        // Keep the CPU topology product consistent so only the bound under test matters.
        if (path == "spec.resources.cpus" && mutated["spec"].contains("cpu")) {
          mutated["spec"]["cpu"].erase("topology");
        }
        if (path.starts_with("spec.cpu.topology.")) {
          mutated["spec"]["cpu"]["topology"] = {{"sockets", 1}, {"cores", 1}, {"threads", 1}};
          mutated[ptr] = static_cast<int64_t>(value);
          mutated["spec"]["resources"]["cpus"] =
              std::clamp<int64_t>(static_cast<int64_t>(value), 1, 256);
        }
        const bool schema = schemaRejects(schemaErrors(crd, mutated), *concrete);
        const bool cpp = cppRejects(k.cppErrors(mutated), *concrete);
        EXPECT_EQ(schema, cpp) << k.file << " " << *concrete << " = " << value << ": schema "
                               << (schema ? "rejects" : "accepts") << ", C++ "
                               << (cpp ? "rejects" : "accepts");
        ++checked;
      }
    });
    EXPECT_GT(checked, 10) << k.file;
  }
}

// Removing a field the schema requires is rejected by C++ too, unless the C++ type cannot omit it
// (the encoder always writes it back, so what C++ writes still satisfies the schema).
TEST(CrdDriftTest, RequiredFieldsAgree) {
  for (const Kind& k : kinds()) {
    const json crd = loadCrd(k.file);
    const json full = k.full();
    walkSchema(schemaOf(crd), "", [&](const std::string& path, const json& s) {
      for (const json& r : s.value("required", json::array())) {
        const auto concrete = resolvePath(full, join(path, r.get<std::string>()));
        if (!concrete) {
          ADD_FAILURE() << k.file << ": fixture does not set required "
                        << join(path, r.get<std::string>());
          continue;
        }
        const std::string& field = *concrete;
        const json::json_pointer ptr = pointerOf(field);
        json mutated = full;
        mutated[ptr.parent_pointer()].erase(r.get<std::string>());
        ASSERT_TRUE(schemaRejects(schemaErrors(crd, mutated), field)) << field;
        const auto errors = k.cppErrors(mutated);
        if (cppRejects(errors, field)) {
          continue;
        }
        // Accepted by C++: then C++ must re-emit the field, so it never writes an invalid object.
        if (!errors.empty()) {
          ADD_FAILURE() << k.file << " " << field << ": unexpected errors " << errors[0];
          continue;
        }
        const json reencoded = k.file.find("virtualmachines") != std::string::npos
                                   ? toJson(*virtualMachineFromJson(mutated))
                               : k.file.find("vmmigrations") != std::string::npos
                                   ? toJson(*vmMigrationFromJson(mutated))
                                   : toJson(*hypervisorFromJson(mutated));
        EXPECT_TRUE(reencoded.contains(ptr))
            << k.file << ": C++ accepts an object without required " << field
            << " and does not restore it";
      }
    });
  }
}

TEST(CrdDriftTest, SchemaRejectsTheBadInputTable) {
  // The same bad inputs validate() rejects are rejected at admission by the schema.
  const json crd = loadCrd("novacron.io_virtualmachines.yaml");
  const json full = toJson(testing::fullVirtualMachine());
  const struct {
    std::string path;
    json value;
  } cases[] = {
      {"spec.resources.cpus", 0},
      {"spec.resources.cpus", 1000},
      {"spec.resources.memory", "-1Gi"},
      {"spec.resources.memory", "10Xi"},
      {"spec.runStrategy", "Sometimes"},
      {"metadata.name", "a..b"},
      {"metadata.name", "a/b"},
      {"metadata.name", "<x>"},
      {"metadata.name", std::string("a\0b", 3)},
      {"spec.disks[0].name", "../x"},
  };
  for (const auto& c : cases) {
    json mutated = full;
    mutated[pointerOf(c.path)] = c.value;
    EXPECT_TRUE(schemaRejects(schemaErrors(crd, mutated), c.path)) << c.path << " " << c.value;
  }
  // Two disk sources: the oneOf rejects it.
  json two = full;
  two["spec"]["disks"][0]["emptyDisk"] = {{"size", "1Gi"}};
  EXPECT_TRUE(schemaRejects(schemaErrors(crd, two), "spec.disks[0]"));
  // Bridge on a nat network, and a bridge network without a bridge.
  json nat = full;
  nat["spec"]["networks"][0]["bridge"] = "br0";
  EXPECT_TRUE(schemaRejects(schemaErrors(crd, nat), "spec.networks[0]"));
  json bridge = full;
  bridge["spec"]["networks"][1].erase("bridge");
  EXPECT_TRUE(schemaRejects(schemaErrors(crd, bridge), "spec.networks[1]"));
}

}  // namespace
}  // namespace novacron::api
