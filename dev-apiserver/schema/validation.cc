#include "dev-apiserver/schema/validation.h"

#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "dev-apiserver/schema/formats.h"
#include "dev-apiserver/schema/go_format.h"
#include "dev-apiserver/schema/schema_node.h"

namespace novacron::devapi::schema {
namespace {

using json = nlohmann::json;

// Longest string checked against a `pattern` (see checkString).
constexpr size_t kMaxPatternInput = 16384;

// "<path> in body" as kube-openapi names a value in its messages ("in body" alone at the root).
std::string subject(const std::string& path) {
  return path.empty() ? "in body" : path + " in body";
}

std::string_view dataType(const json& v) {
  switch (v.type()) {
  case json::value_t::object:
    return "object";
  case json::value_t::array:
    return "array";
  case json::value_t::string:
    return "string";
  case json::value_t::boolean:
    return "boolean";
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    return "integer";
  case json::value_t::number_float:
    return "number";
  default:
    return "null";
  }
}

// The types a node admits: none (any), its `type`, or integer and string (int-or-string). A view
// of the node, built for every value validated, so it allocates nothing.
struct AllowedTypes {
  std::string_view types[2];
  size_t size = 0;

  bool empty() const { return size == 0; }
  bool contains(std::string_view t) const {
    return std::find(types, types + size, t) != types + size;
  }
  std::string joined() const {
    std::string out;
    for (size_t i = 0; i < size; ++i) {
      out += (i > 0 ? "," : "");
      out += types[i];
    }
    return out;
  }
};

AllowedTypes allowedTypes(const SchemaNode& node) {
  if (node.int_or_string) {
    return AllowedTypes{{"integer", "string"}, 2};
  }
  if (node.type.empty()) {
    return AllowedTypes{};
  }
  return AllowedTypes{{node.type, {}}, 1};
}

size_t utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

// The bound as kube-openapi prints it: integer bounds of integer data print as integers.
std::string bound(const json& b) {
  if (b.is_number_float()) {
    const double d = b.get<double>();
    if (std::floor(d) == d && std::fabs(d) < 1e15) {
      return std::to_string(static_cast<long long>(d));
    }
  }
  return goNumber(b);
}

void checkEnum(const SchemaNode& node, const json& value, const std::string& path,
               std::vector<FieldError>& errors) {
  if (!node.enum_values) {
    return;
  }
  for (const auto& e : *node.enum_values) {
    if (e == value) {
      return;
    }
  }
  std::vector<std::string> supported;
  for (const auto& e : *node.enum_values) {
    supported.push_back(e.is_string() ? e.get<std::string>() : e.dump());
  }
  errors.push_back(notSupportedError(path, value, supported));
}

void checkString(const SchemaNode& node, const std::string& s, const json& value,
                 const std::string& path, std::vector<FieldError>& errors) {
  const auto len = static_cast<long long>(utf8Length(s));
  if (node.max_length && len > *node.max_length) {
    errors.push_back(tooLongError(path, *node.max_length));
    return;
  }
  if (node.min_length && len < *node.min_length) {
    errors.push_back(invalidError(
        path, value,
        subject(path) + " should be at least " + std::to_string(*node.min_length) + " chars long"));
    return;
  }
  if (node.pattern_regex && s.size() > kMaxPatternInput) {
    // libstdc++'s std::regex recurses per input character and overflows the stack somewhere
    // below 100k characters; refuse instead of crashing the server (kube has no such limit).
    errors.push_back(invalidError(path, value,
                                  subject(path) + " is too long to be matched against '" +
                                      *node.pattern + "' (limit " +
                                      std::to_string(kMaxPatternInput) + " bytes)"));
    return;
  }
  if (node.pattern_regex && !std::regex_search(s, *node.pattern_regex)) {
    errors.push_back(
        invalidError(path, value, subject(path) + " should match '" + *node.pattern + "'"));
    return;
  }
}

void checkFormat(const SchemaNode& node, const std::string& s, const std::string& path,
                 std::vector<FieldError>& errors) {
  if (node.format.empty() || !isKnownFormat(node.format) || matchesFormat(node.format, s)) {
    return;
  }
  errors.push_back(typeInvalidError(
      path, s, subject(path) + " must be of type " + node.format + ": " + goQuote(s)));
}

void checkNumber(const SchemaNode& node, const json& value, const std::string& path,
                 std::vector<FieldError>& errors) {
  const double v = value.get<double>();
  if (node.multiple_of) {
    const double m = node.multiple_of->get<double>();
    if (m > 0) {
      const double q = v / m;
      if (std::fabs(q - std::round(q)) > 1e-9 * std::max(1.0, std::fabs(q))) {
        errors.push_back(invalidError(
            path, value, subject(path) + " should be a multiple of " + bound(*node.multiple_of)));
      }
    }
  }
  if (node.minimum) {
    const double min = node.minimum->get<double>();
    if (node.exclusive_minimum ? v <= min : v < min) {
      errors.push_back(
          invalidError(path, value,
                       subject(path) +
                           (node.exclusive_minimum ? " should be greater than "
                                                   : " should be greater than or equal to ") +
                           bound(*node.minimum)));
    }
  }
  if (node.maximum) {
    const double max = node.maximum->get<double>();
    if (node.exclusive_maximum ? v >= max : v > max) {
      errors.push_back(
          invalidError(path, value,
                       subject(path) +
                           (node.exclusive_maximum ? " should be less than "
                                                   : " should be less than or equal to ") +
                           bound(*node.maximum)));
    }
  }
}

void checkListType(const SchemaNode& node, const json& value, const std::string& path,
                   std::vector<FieldError>& errors) {
  if (node.list_type == "set") {
    for (size_t i = 0; i < value.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (value[i] == value[j]) {
          errors.push_back(duplicateError(path + "[" + std::to_string(i) + "]", value[i]));
          break;
        }
      }
    }
  } else if (node.list_type == "map" && !node.list_map_keys.empty()) {
    std::set<std::string> seen;
    for (size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_object()) {
        continue;
      }
      json key = json::object();
      for (const auto& k : node.list_map_keys) {
        if (value[i].contains(k)) {
          key[k] = value[i][k];
        }
      }
      if (!seen.insert(key.dump()).second) {
        errors.push_back(duplicateError(path + "[" + std::to_string(i) + "]", key));
      }
    }
  }
}

void checkArray(const SchemaNode& node, const json& value, const std::string& path,
                std::vector<FieldError>& errors) {
  if (node.items) {
    for (size_t i = 0; i < value.size(); ++i) {
      validateNode(*node.items, value[i], path + "[" + std::to_string(i) + "]", errors);
    }
  }
  const auto size = static_cast<long long>(value.size());
  if (node.min_items && size < *node.min_items) {
    errors.push_back(invalidError(
        path, size,
        subject(path) + " should have at least " + std::to_string(*node.min_items) + " items"));
  }
  if (node.max_items && size > *node.max_items) {
    errors.push_back(tooManyError(path, size, *node.max_items));
  }
  if (node.unique_items) {
    bool dup = false;
    for (size_t i = 0; i < value.size() && !dup; ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (value[i] == value[j]) {
          dup = true;
          break;
        }
      }
    }
    if (dup) {
      errors.push_back(invalidError(path, "", subject(path) + " shouldn't contain duplicates"));
    }
  }
  checkListType(node, value, path, errors);
}

std::string childPath(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

void checkObject(const SchemaNode& node, const json& value, const std::string& path,
                 std::vector<FieldError>& errors) {
  const auto n = static_cast<long long>(value.size());
  if (node.min_properties && n < *node.min_properties) {
    errors.push_back(invalidError(path, *node.min_properties,
                                  subject(path) + " should have at least " +
                                      std::to_string(*node.min_properties) + " properties"));
    return;
  }
  if (node.max_properties && n > *node.max_properties) {
    errors.push_back(tooManyError(path, n, *node.max_properties));
    return;
  }
  for (const auto& [key, child] : value.items()) {
    if (const SchemaNode* prop = node.property(key)) {
      validateNode(*prop, child, childPath(path, key), errors);
    } else if (node.additional_properties) {
      validateNode(*node.additional_properties, child, childPath(path, key), errors);
    } else if (node.additional_forbidden) {
      errors.push_back(invalidError(
          childPath(path, key), key,
          (path.empty() ? "" : path) + "." + key + " in body is a forbidden property"));
    }
  }
  for (const auto& r : node.required) {
    if (!value.contains(r)) {
      errors.push_back(requiredError(childPath(path, r)));
    }
  }
}

// x-kubernetes-embedded-resource: apiVersion and kind are required non-empty strings.
void checkEmbeddedResource(const json& value, const std::string& path,
                           std::vector<FieldError>& errors) {
  for (const char* key : {"apiVersion", "kind"}) {
    const std::string field = childPath(path, key);
    auto it = value.find(key);
    if (it == value.end()) {
      errors.push_back(requiredError(field, "must not be empty"));
    } else if (!it->is_string()) {
      errors.push_back(invalidError(field, *it, "must be a string"));
    } else if (it->get_ref<const std::string&>().empty()) {
      errors.push_back(invalidError(field, *it, "must not be empty"));
    }
  }
}

// allOf / anyOf / oneOf / not: value validations at the same path.
void checkJunctors(const SchemaNode& node, const json& value, const std::string& path,
                   std::vector<FieldError>& errors) {
  if (!node.all_of.empty()) {
    std::vector<FieldError> sub;
    for (const auto& s : node.all_of) {
      validateNode(*s, value, path, sub);
    }
    if (!sub.empty()) {
      errors.push_back(
          invalidError("<nil>", "", goQuote(path) + " must validate all the schemas (allOf)"));
      errors.insert(errors.end(), sub.begin(), sub.end());
    }
  }
  if (!node.any_of.empty()) {
    std::vector<FieldError> best;
    bool ok = false;
    for (const auto& s : node.any_of) {
      std::vector<FieldError> sub;
      validateNode(*s, value, path, sub);
      if (sub.empty()) {
        ok = true;
        break;
      }
      if (best.empty() || sub.size() < best.size()) {
        best = std::move(sub);
      }
    }
    if (!ok) {
      errors.push_back(
          invalidError("<nil>", "", goQuote(path) + " must validate at least one schema (anyOf)"));
      errors.insert(errors.end(), best.begin(), best.end());
    }
  }
  if (!node.one_of.empty()) {
    std::vector<FieldError> best;
    int valid = 0;
    for (const auto& s : node.one_of) {
      std::vector<FieldError> sub;
      validateNode(*s, value, path, sub);
      if (sub.empty()) {
        ++valid;
      } else if (best.empty() || sub.size() < best.size()) {
        best = std::move(sub);
      }
    }
    if (valid == 0) {
      errors.push_back(invalidError(
          "<nil>", "",
          goQuote(path) + " must validate one and only one schema (oneOf). Found none valid"));
      errors.insert(errors.end(), best.begin(), best.end());
    } else if (valid > 1) {
      errors.push_back(invalidError("<nil>", "",
                                    goQuote(path) +
                                        " must validate one and only one schema (oneOf). Found " +
                                        std::to_string(valid) + " valid alternatives"));
    }
  }
  if (node.not_schema) {
    std::vector<FieldError> sub;
    validateNode(*node.not_schema, value, path, sub);
    if (sub.empty()) {
      errors.push_back(
          invalidError("<nil>", "", goQuote(path) + " must not validate the schema (not)"));
    }
  }
}

}  // namespace

void validateNode(const SchemaNode& node, const json& value, const std::string& path,
                  std::vector<FieldError>& errors) {
  const AllowedTypes types = allowedTypes(node);
  if (value.is_null()) {
    if (!types.empty() && !node.nullable) {
      errors.push_back(typeInvalidError(
          path, "null", subject(path) + " must be of type " + types.joined() + ": \"null\""));
    }
    if (!node.nullable) {
      checkEnum(node, value, path, errors);
    }
    return;
  }
  if (!types.empty()) {
    const std::string_view t = dataType(value);
    const bool float_int = t == "number" && types.contains("integer") &&
                           std::floor(value.get<double>()) == value.get<double>();
    const bool int_float = t == "integer" && types.contains("number");
    if (!types.contains(t) && !float_int && !int_float) {
      const std::string type(t);
      errors.push_back(typeInvalidError(
          path, type, subject(path) + " must be of type " + types.joined() + ": " + goQuote(type)));
    }
  }
  checkJunctors(node, value, path, errors);
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    checkString(node, s, value, path, errors);
    checkFormat(node, s, path, errors);
  } else if (value.is_number()) {
    checkNumber(node, value, path, errors);
  } else if (value.is_array()) {
    checkArray(node, value, path, errors);
  }
  checkEnum(node, value, path, errors);
  if (value.is_object()) {
    if (node.embedded_resource) {
      checkEmbeddedResource(value, path, errors);
    }
    checkObject(node, value, path, errors);
  }
}

std::vector<FieldError> validate(const StructuralSchema& schema, const json& obj) {
  std::vector<FieldError> errors;
  validateNode(schema.root(), obj, "", errors);
  return errors;
}

}  // namespace novacron::devapi::schema
