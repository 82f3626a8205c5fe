// SchemaNode: one parsed node of a structural schema (internal to devapi_schema; the server uses
// StructuralSchema and the free functions instead).
//
// Thread-safety: immutable once built by StructuralSchema::fromJson.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace novacron::devapi::schema {

struct SchemaNode {
  nlohmann::json raw;  // the node as written in the CRD

  std::string type;  // "" when unset
  bool nullable = false;
  bool int_or_string = false;
  bool preserve_unknown_fields = false;
  bool embedded_resource = false;

  std::map<std::string, std::shared_ptr<SchemaNode>> properties;
  std::shared_ptr<SchemaNode> items;
  // additionalProperties: a schema, or `true` (allows anything: additional_schemaless).
  std::shared_ptr<SchemaNode> additional_properties;
  bool additional_schemaless = false;
  bool additional_forbidden = false;  // additionalProperties: false (never structural; kept anyway)

  std::optional<nlohmann::json> default_value;

  std::optional<nlohmann::json> minimum;
  std::optional<nlohmann::json> maximum;
  bool exclusive_minimum = false;
  bool exclusive_maximum = false;
  std::optional<nlohmann::json> multiple_of;
  std::optional<long long> min_length;
  std::optional<long long> max_length;
  std::optional<std::string> pattern;
  std::shared_ptr<const std::regex> pattern_regex;
  std::optional<long long> min_items;
  std::optional<long long> max_items;
  bool unique_items = false;
  std::optional<long long> min_properties;
  std::optional<long long> max_properties;
  std::optional<std::vector<nlohmann::json>> enum_values;
  std::vector<std::string> required;
  std::string format;
  std::string list_type;  // x-kubernetes-list-type: atomic, set, map
  std::vector<std::string> list_map_keys;

  std::vector<std::shared_ptr<SchemaNode>> all_of;
  std::vector<std::shared_ptr<SchemaNode>> any_of;
  std::vector<std::shared_ptr<SchemaNode>> one_of;
  std::shared_ptr<SchemaNode> not_schema;

  const SchemaNode* property(const std::string& name) const {
    auto it = properties.find(name);
    return it == properties.end() ? nullptr : it->second.get();
  }
};

}  // namespace novacron::devapi::schema

#include "dev-apiserver/schema/field_error.h"

namespace novacron::devapi::schema {

// Validates `value` at `path` ("" for the root, "spec.x", "spec.list[0]") against `node`,
// appending kube-worded errors. Defined in validation.cc.
void validateNode(const SchemaNode& node, const nlohmann::json& value, const std::string& path,
                  std::vector<FieldError>& errors);

}  // namespace novacron::devapi::schema
