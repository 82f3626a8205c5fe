#include "dev-apiserver/schema/structural_schema.h"

#include <set>

#include <nlohmann/json.hpp>

#include "dev-apiserver/schema/go_format.h"
#include "dev-apiserver/schema/schema_node.h"

namespace novacron::devapi::schema {
namespace {

using json = nlohmann::json;

enum class Level { kRoot, kField, kItems, kAdditional, kValueValidation };

std::optional<long long> intField(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) {
    return std::nullopt;
  }
  return it->get<long long>();
}

bool boolField(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::shared_ptr<SchemaNode> parseNode(const json& j);

std::vector<std::shared_ptr<SchemaNode>> parseList(const json& j, const char* key) {
  std::vector<std::shared_ptr<SchemaNode>> out;
  auto it = j.find(key);
  if (it != j.end() && it->is_array()) {
    for (const auto& sub : *it) {
      out.push_back(parseNode(sub));
    }
  }
  return out;
}

std::shared_ptr<SchemaNode> parseNode(const json& j) {
  auto node = std::make_shared<SchemaNode>();
  if (!j.is_object()) {
    return node;
  }
  node->raw = j;
  if (auto it = j.find("type"); it != j.end() && it->is_string()) {
    node->type = it->get<std::string>();
  }
  node->nullable = boolField(j, "nullable");
  node->int_or_string = boolField(j, "x-kubernetes-int-or-string");
  node->preserve_unknown_fields = boolField(j, "x-kubernetes-preserve-unknown-fields");
  node->embedded_resource = boolField(j, "x-kubernetes-embedded-resource");
  if (auto it = j.find("properties"); it != j.end() && it->is_object()) {
    for (const auto& [name, sub] : it->items()) {
      node->properties[name] = parseNode(sub);
    }
  }
  if (auto it = j.find("items"); it != j.end() && it->is_object()) {
    node->items = parseNode(*it);
  }
  if (auto it = j.find("additionalProperties"); it != j.end()) {
    if (it->is_object()) {
      node->additional_properties = parseNode(*it);
    } else if (it->is_boolean()) {
      node->additional_schemaless = it->get<bool>();
      node->additional_forbidden = !it->get<bool>();
    }
  }
  if (auto it = j.find("default"); it != j.end()) {
    node->default_value = *it;
  }
  if (auto it = j.find("minimum"); it != j.end() && it->is_number()) {
    node->minimum = *it;
  }
  if (auto it = j.find("maximum"); it != j.end() && it->is_number()) {
    node->maximum = *it;
  }
  node->exclusive_minimum = boolField(j, "exclusiveMinimum");
  node->exclusive_maximum = boolField(j, "exclusiveMaximum");
  if (auto it = j.find("multipleOf"); it != j.end() && it->is_number()) {
    node->multiple_of = *it;
  }
  node->min_length = intField(j, "minLength");
  node->max_length = intField(j, "maxLength");
  node->min_items = intField(j, "minItems");
  node->max_items = intField(j, "maxItems");
  node->min_properties = intField(j, "minProperties");
  node->max_properties = intField(j, "maxProperties");
  node->unique_items = boolField(j, "uniqueItems");
  if (auto it = j.find("pattern"); it != j.end() && it->is_string()) {
    node->pattern = it->get<std::string>();
    try {
      node->pattern_regex =
          std::make_shared<const std::regex>(*node->pattern, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      node->pattern_regex = nullptr;  // reported by structuralErrors()
    }
  }
  if (auto it = j.find("enum"); it != j.end() && it->is_array()) {
    node->enum_values = std::vector<json>(it->begin(), it->end());
  }
  if (auto it = j.find("required"); it != j.end() && it->is_array()) {
    for (const auto& r : *it) {
      if (r.is_string()) {
        node->required.push_back(r.get<std::string>());
      }
    }
  }
  if (auto it = j.find("format"); it != j.end() && it->is_string()) {
    node->format = it->get<std::string>();
  }
  if (auto it = j.find("x-kubernetes-list-type"); it != j.end() && it->is_string()) {
    node->list_type = it->get<std::string>();
  }
  if (auto it = j.find("x-kubernetes-list-map-keys"); it != j.end() && it->is_array()) {
    for (const auto& k : *it) {
      if (k.is_string()) {
        node->list_map_keys.push_back(k.get<std::string>());
      }
    }
  }
  node->all_of = parseList(j, "allOf");
  node->any_of = parseList(j, "anyOf");
  node->one_of = parseList(j, "oneOf");
  if (auto it = j.find("not"); it != j.end() && it->is_object()) {
    node->not_schema = parseNode(*it);
  }
  return node;
}

// Checks one node; `path` names it ("openAPIV3Schema.properties[spec]").
class StructuralChecker {
public:
  explicit StructuralChecker(std::vector<FieldError>& errors) : errors_(errors) {}

  void check(const json& s, const std::string& path, Level level) {
    if (!s.is_object()) {
      errors_.push_back(invalidError(path, s, "must be a schema object"));
      return;
    }
    checkUnsupported(s, path);
    const std::string type =
        s.contains("type") && s["type"].is_string() ? s["type"].get<std::string>() : "";
    const bool int_or_string = boolField(s, "x-kubernetes-int-or-string");
    const bool preserve = boolField(s, "x-kubernetes-preserve-unknown-fields");
    const bool embedded = boolField(s, "x-kubernetes-embedded-resource");

    if (s.contains("type") && !s["type"].is_string()) {
      errors_.push_back(invalidError(path + ".type", s["type"], "must be a string"));
    } else if (!type.empty()) {
      static const std::vector<std::string> kTypes = {"array",  "boolean", "integer",
                                                      "number", "object",  "string"};
      if (std::find(kTypes.begin(), kTypes.end(), type) == kTypes.end()) {
        errors_.push_back(notSupportedError(path + ".type", type, kTypes));
      }
    }
    if (auto it = s.find("x-kubernetes-preserve-unknown-fields");
        it != s.end() && !(it->is_boolean() && it->get<bool>())) {
      errors_.push_back(invalidError(path + ".x-kubernetes-preserve-unknown-fields", *it,
                                     "must be true or undefined"));
    }

    if (level == Level::kValueValidation) {
      checkValueValidationOnly(s, path);
    } else {
      if (type.empty() && !int_or_string && !preserve && !embedded) {
        switch (level) {
        case Level::kRoot:
          errors_.push_back(requiredError(path + ".type", "must not be empty at the root"));
          break;
        case Level::kItems:
          errors_.push_back(
              requiredError(path + ".type", "must not be empty for specified array items"));
          break;
        case Level::kAdditional:
        case Level::kField:
          errors_.push_back(
              requiredError(path + ".type", "must not be empty for specified object fields"));
          break;
        default:
          break;
        }
      }
      if (level == Level::kRoot && !type.empty() && type != "object") {
        errors_.push_back(invalidError(path + ".type", type, "must be object at the root"));
      }
      if (int_or_string && !type.empty()) {
        errors_.push_back(invalidError(path + ".type", type,
                                       "must be empty if x-kubernetes-int-or-string is true"));
      }
      if (embedded) {
        if (type != "object") {
          if (type.empty()) {
            errors_.push_back(requiredError(
                path + ".type", "must be object if x-kubernetes-embedded-resource is true"));
          } else {
            errors_.push_back(invalidError(
                path + ".type", type, "must be object if x-kubernetes-embedded-resource is true"));
          }
        }
        if (!preserve && !(s.contains("properties") && !s["properties"].empty())) {
          errors_.push_back(requiredError(path + ".properties",
                                          "must not be empty if x-kubernetes-embedded-resource "
                                          "is true without x-kubernetes-preserve-unknown-fields"));
        }
      }
      if (level == Level::kRoot && boolField(s, "nullable")) {
        errors_.push_back(forbiddenError(path + ".nullable", "must be false at the root"));
      }
      if (level == Level::kRoot && s.contains("default")) {
        errors_.push_back(forbiddenError(path + ".default", "must not be set at the root"));
      }
    }

    if (type == "array" && !s.contains("items") && level != Level::kValueValidation) {
      errors_.push_back(requiredError(path + ".items", "must be specified"));
    }
    if (s.contains("properties") && s.contains("additionalProperties")) {
      errors_.push_back(forbiddenError(path + ".additionalProperties",
                                       "additionalProperties and properties are mutual exclusive"));
    }
    if (auto it = s.find("additionalProperties");
        it != s.end() && it->is_boolean() && !it->get<bool>()) {
      errors_.push_back(forbiddenError(path + ".additionalProperties",
                                       "additionalProperties cannot be set to false"));
    }
    if (auto it = s.find("pattern"); it != s.end()) {
      if (!it->is_string()) {
        errors_.push_back(invalidError(path + ".pattern", *it, "must be a string"));
      } else {
        try {
          std::regex re(it->get<std::string>(), std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
          errors_.push_back(invalidError(
              path + ".pattern", *it,
              std::string("must be a valid regular expression, but isn't: ") + e.what()));
        }
      }
    }
    if (auto it = s.find("x-kubernetes-list-type"); it != s.end()) {
      const std::string lt = it->is_string() ? it->get<std::string>() : "";
      if (lt != "atomic" && lt != "set" && lt != "map") {
        errors_.push_back(
            notSupportedError(path + ".x-kubernetes-list-type", *it, {"atomic", "set", "map"}));
      } else if (type != "array" && level != Level::kValueValidation) {
        errors_.push_back(invalidError(path + ".type", type,
                                       "must be array if x-kubernetes-list-type is specified"));
      } else if (lt == "map" && !s.contains("x-kubernetes-list-map-keys")) {
        errors_.push_back(requiredError(path + ".x-kubernetes-list-map-keys",
                                        "must not be empty if x-kubernetes-list-type is map"));
      }
    }
    if (level == Level::kRoot) {
      checkRootMetadata(s, path);
    }

    // Children.
    if (auto it = s.find("properties"); it != s.end()) {
      if (!it->is_object()) {
        errors_.push_back(invalidError(path + ".properties", *it, "must be an object"));
      } else {
        for (const auto& [name, sub] : it->items()) {
          check(sub, path + ".properties[" + name + "]",
                level == Level::kValueValidation ? Level::kValueValidation : Level::kField);
        }
      }
    }
    if (auto it = s.find("items"); it != s.end()) {
      if (it->is_array()) {
        errors_.push_back(
            forbiddenError(path + ".items", "items must be a schema object and not an array"));
      } else {
        check(*it, path + ".items",
              level == Level::kValueValidation ? Level::kValueValidation : Level::kItems);
      }
    }
    if (auto it = s.find("additionalProperties"); it != s.end() && it->is_object()) {
      check(*it, path + ".additionalProperties",
            level == Level::kValueValidation ? Level::kValueValidation : Level::kAdditional);
    }
    for (const char* key : {"allOf", "anyOf", "oneOf"}) {
      if (auto it = s.find(key); it != s.end()) {
        if (!it->is_array()) {
          errors_.push_back(invalidError(path + "." + key, *it, "must be an array"));
          continue;
        }
        for (size_t i = 0; i < it->size(); ++i) {
          const std::string sub_path = path + "." + key + "[" + std::to_string(i) + "]";
          if (int_or_string && isIntOrStringAlternative((*it)[i], key)) {
            continue;
          }
          check((*it)[i], sub_path, Level::kValueValidation);
        }
      }
    }
    if (auto it = s.find("not"); it != s.end()) {
      check(*it, path + ".not", Level::kValueValidation);
    }

    if (level != Level::kValueValidation && s.contains("default") && level != Level::kRoot) {
      checkDefault(s, path);
    }
  }

private:
  void checkUnsupported(const json& s, const std::string& path) {
    static const std::vector<std::pair<std::string, std::string>> kUnsupported = {
        {"$ref", "$ref is not supported"},
        {"additionalItems", "additionalItems is not supported"},
        {"patternProperties", "patternProperties is not supported"},
        {"definitions", "definitions is not supported"},
        {"dependencies", "dependencies is not supported"},
        {"id", "id is not supported"},
        {"$schema", "$schema is not supported"},
    };
    for (const auto& [key, message] : kUnsupported) {
      if (s.contains(key)) {
        errors_.push_back(forbiddenError(path + "." + key, message));
      }
    }
    if (boolField(s, "uniqueItems")) {
      errors_.push_back(
          forbiddenError(path + ".uniqueItems",
                         "uniqueItems cannot be set to true since the runtime complexity becomes "
                         "quadratic"));
    }
  }

  // anyOf: [{type: integer}, {type: string}] (and allOf wrapping it) are the allowed forms for
  // x-kubernetes-int-or-string.
  static bool isIntOrStringAlternative(const json& sub, const std::string& key) {
    if (!sub.is_object()) {
      return false;
    }
    if (key == "anyOf") {
      const std::string t = sub.value("type", std::string());
      return (t == "integer" || t == "string") && sub.size() == 1;
    }
    if (key == "allOf" && sub.size() == 1 && sub.contains("anyOf")) {
      for (const auto& alt : sub["anyOf"]) {
        if (!isIntOrStringAlternative(alt, "anyOf")) {
          return false;
        }
      }
      return true;
    }
    return false;
  }

  void checkValueValidationOnly(const json& s, const std::string& path) {
    if (s.contains("type")) {
      errors_.push_back(forbiddenError(path + ".type", "must be empty to be structural"));
    }
    for (const char* key : {"default", "additionalProperties", "description", "title"}) {
      if (s.contains(key)) {
        errors_.push_back(forbiddenError(path + "." + key, "must be undefined to be structural"));
      }
    }
    for (const char* key : {"nullable", "x-kubernetes-preserve-unknown-fields",
                            "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string"}) {
      if (boolField(s, key)) {
        errors_.push_back(forbiddenError(path + "." + key, "must be false to be structural"));
      }
    }
  }

  void checkRootMetadata(const json& s, const std::string& path) {
    auto props = s.find("properties");
    if (props == s.end() || !props->is_object() || !props->contains("metadata")) {
      return;
    }
    const json& m = (*props)["metadata"];
    const std::string mpath = path + ".properties[metadata]";
    if (!m.is_object()) {
      return;
    }
    if (m.contains("type") && m["type"] != "object") {
      errors_.push_back(invalidError(mpath + ".type", m["type"], "must be object"));
    }
    bool only_name = true;
    for (const auto& [k, v] : m.items()) {
      if (k == "type" || k == "description") {
        continue;
      }
      if (k != "properties" || !v.is_object()) {
        only_name = false;
        break;
      }
      for (const auto& [pk, pv] : v.items()) {
        (void)pv;
        if (pk != "name" && pk != "generateName") {
          only_name = false;
        }
      }
    }
    if (!only_name) {
      errors_.push_back(forbiddenError(mpath,
                                       "must not specify anything other than name and "
                                       "generateName, but metadata is implicitly specified"));
    }
  }

  void checkDefault(const json& s, const std::string& path) {
    auto node = parseNode(s);
    std::vector<FieldError> errs;
    json value = s["default"];
    validateNode(*node, value, "", errs);
    for (auto& e : errs) {
      e.field = path + ".default" + (e.field.empty() || e.field == "<nil>" ? "" : "." + e.field);
      errors_.push_back(std::move(e));
    }
  }

  std::vector<FieldError>& errors_;
};

}  // namespace

core::StatusOr<StructuralSchema> StructuralSchema::fromJson(const nlohmann::json& openAPIV3Schema) {
  std::vector<FieldError> errors = structuralErrors(openAPIV3Schema, "openAPIV3Schema");
  if (!errors.empty()) {
    return core::invalidArgumentError("schema is not structural: " + aggregateMessage(errors));
  }
  return StructuralSchema(parseNode(openAPIV3Schema));
}

const nlohmann::json& StructuralSchema::json() const {
  return root_->raw;
}

std::vector<FieldError> structuralErrors(const nlohmann::json& schema, const std::string& path) {
  std::vector<FieldError> errors;
  try {
    StructuralChecker(errors).check(schema, path, Level::kRoot);
  } catch (const json::exception& e) {
    errors.push_back(invalidError(path, "", std::string("malformed schema: ") + e.what()));
  }
  return errors;
}

namespace {

bool isDnsSubdomain(const std::string& s) {
  static const std::regex re("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");
  return !s.empty() && s.size() <= 253 && std::regex_match(s, re);
}

bool isDnsLabel(const std::string& s) {
  static const std::regex re("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  return !s.empty() && s.size() <= 63 && std::regex_match(s, re);
}

bool isKindName(const std::string& s) {
  static const std::regex re("^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$");
  return !s.empty() && s.size() <= 63 && std::regex_match(s, re);
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

namespace {

std::vector<FieldError> validateCrdUnchecked(const json& crd);

}  // namespace

std::vector<FieldError> validateCustomResourceDefinition(const nlohmann::json& crd) {
  // Fields of the wrong JSON type make nlohmann throw; report them like a decoding error.
  try {
    return validateCrdUnchecked(crd);
  } catch (const json::exception& e) {
    return {invalidError("", "", std::string("malformed CustomResourceDefinition: ") + e.what())};
  }
}

namespace {

std::vector<FieldError> validateCrdUnchecked(const json& crd) {
  std::vector<FieldError> errors;
  if (!crd.is_object()) {
    errors.push_back(invalidError("", crd, "must be an object"));
    return errors;
  }
  const json spec = crd.value("spec", json::object());
  const json names = spec.value("names", json::object());
  const std::string group = str(spec, "group");
  const std::string plural = str(names, "plural");
  const std::string name = crd.value("metadata", json::object()).value("name", std::string());

  if (name != plural + "." + group) {
    errors.push_back(
        invalidError("metadata.name", name, "must be spec.names.plural+\".\"+spec.group"));
  }
  if (group.empty()) {
    errors.push_back(requiredError("spec.group"));
  } else if (!isDnsSubdomain(group)) {
    errors.push_back(invalidError("spec.group", group,
                                  "a lowercase RFC 1123 subdomain must consist of lower case "
                                  "alphanumeric characters, '-' or '.', and must start and end "
                                  "with an alphanumeric character"));
  } else if (group.find('.') == std::string::npos) {
    errors.push_back(invalidError("spec.group", group, "should be a domain with at least one dot"));
  }
  const std::string scope = str(spec, "scope");
  if (scope.empty()) {
    errors.push_back(requiredError("spec.scope"));
  } else if (scope != "Cluster" && scope != "Namespaced") {
    errors.push_back(notSupportedError("spec.scope", scope, {"Cluster", "Namespaced"}));
  }
  if (plural.empty()) {
    errors.push_back(requiredError("spec.names.plural"));
  } else if (!isDnsLabel(plural)) {
    errors.push_back(invalidError("spec.names.plural", plural,
                                  "a lowercase RFC 1123 label must consist of lower case "
                                  "alphanumeric characters or '-', and must start and end with an "
                                  "alphanumeric character"));
  }
  const std::string singular = str(names, "singular");
  if (!singular.empty() && !isDnsLabel(singular)) {
    errors.push_back(invalidError("spec.names.singular", singular,
                                  "a lowercase RFC 1123 label must consist of lower case "
                                  "alphanumeric characters or '-', and must start and end with an "
                                  "alphanumeric character"));
  }
  const std::string kind = str(names, "kind");
  if (kind.empty()) {
    errors.push_back(requiredError("spec.names.kind"));
  } else if (!isKindName(kind)) {
    errors.push_back(invalidError("spec.names.kind", kind,
                                  "may have mixed case, but should otherwise match: "
                                  "[a-z]([-a-z0-9]*[a-z0-9])?"));
  }
  const std::string list_kind = str(names, "listKind");
  if (!list_kind.empty() && list_kind == kind) {
    errors.push_back(
        invalidError("spec.names.listKind", list_kind, "kind and listKind may not be the same"));
  }
  if (auto it = names.find("shortNames"); it != names.end() && it->is_array()) {
    for (size_t i = 0; i < it->size(); ++i) {
      const json& sn = (*it)[i];
      if (!sn.is_string() || !isDnsLabel(sn.get<std::string>())) {
        errors.push_back(invalidError("spec.names.shortNames[" + std::to_string(i) + "]", sn,
                                      "a lowercase RFC 1123 label must consist of lower case "
                                      "alphanumeric characters or '-', and must start and end "
                                      "with an alphanumeric character"));
      }
    }
  }

  const json versions = spec.value("versions", json::array());
  if (!versions.is_array() || versions.empty()) {
    errors.push_back(invalidError("spec.versions", versions,
                                  "must have exactly one version marked as storage version"));
    return errors;
  }
  int storage = 0;
  std::set<std::string> seen;
  for (size_t i = 0; i < versions.size(); ++i) {
    const json& v = versions[i];
    const std::string vpath = "spec.versions[" + std::to_string(i) + "]";
    const std::string vname = v.is_object() ? str(v, "name") : "";
    if (vname.empty()) {
      errors.push_back(requiredError(vpath + ".name"));
    } else if (!isDnsLabel(vname)) {
      errors.push_back(invalidError(vpath + ".name", vname,
                                    "a DNS-1035 label must consist of lower case alphanumeric "
                                    "characters or '-', start with an alphabetic character, and "
                                    "end with an alphanumeric character"));
    } else if (!seen.insert(vname).second) {
      errors.push_back(
          invalidError("spec.versions", versions, "must contain unique version names"));
    }
    if (v.is_object() && v.value("storage", false)) {
      ++storage;
    }
    const json schema_wrapper = v.is_object() ? v.value("schema", json::object()) : json::object();
    if (!schema_wrapper.contains("openAPIV3Schema")) {
      errors.push_back(requiredError(vpath + ".schema.openAPIV3Schema", "schemas are required"));
    } else {
      auto errs =
          structuralErrors(schema_wrapper["openAPIV3Schema"], vpath + ".schema.openAPIV3Schema");
      errors.insert(errors.end(), errs.begin(), errs.end());
    }
    if (auto cols = v.find("additionalPrinterColumns");
        v.is_object() && cols != v.end() && cols->is_array()) {
      for (size_t c = 0; c < cols->size(); ++c) {
        const json& col = (*cols)[c];
        const std::string cpath = vpath + ".additionalPrinterColumns[" + std::to_string(c) + "]";
        if (str(col, "name").empty()) {
          errors.push_back(requiredError(cpath + ".name"));
        }
        const std::string ctype = str(col, "type");
        if (ctype.empty()) {
          errors.push_back(requiredError(cpath + ".type"));
        } else if (ctype != "integer" && ctype != "number" && ctype != "string" &&
                   ctype != "boolean" && ctype != "date") {
          errors.push_back(notSupportedError(cpath + ".type", ctype,
                                             {"boolean", "date", "integer", "number", "string"}));
        }
        if (str(col, "jsonPath").empty()) {
          errors.push_back(requiredError(cpath + ".JSONPath"));
        }
      }
    }
  }
  if (storage != 1) {
    errors.push_back(invalidError("spec.versions", versions,
                                  "must have exactly one version marked as storage version"));
  }
  return errors;
}

}  // namespace

}  // namespace novacron::devapi::schema
