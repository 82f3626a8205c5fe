#include "dev-apiserver/schema/field_error.h"

#include <set>

#include <nlohmann/json.hpp>

#include "dev-apiserver/schema/go_format.h"

namespace novacron::devapi::schema {
namespace {

// field.Error.ErrorBody(): the type's text, the bad value unless the type omits it, the detail.
FieldError make(std::string type, const std::string& type_text, const std::string& field,
                const std::string* value_text, const std::string& detail) {
  FieldError e;
  e.type = std::move(type);
  e.field = field;
  e.detail = detail;
  e.message = type_text;
  if (value_text != nullptr) {
    e.message += ": " + *value_text;
  }
  if (!detail.empty()) {
    e.message += ": " + detail;
  }
  return e;
}

}  // namespace

std::string FieldError::toString() const {
  return field + ": " + message;
}

FieldError requiredError(const std::string& field, const std::string& detail) {
  return make("FieldValueRequired", "Required value", field, nullptr, detail);
}

FieldError forbiddenError(const std::string& field, const std::string& detail) {
  return make("FieldValueForbidden", "Forbidden", field, nullptr, detail);
}

FieldError invalidError(const std::string& field, const nlohmann::json& bad_value,
                        const std::string& detail) {
  const std::string v = goValue(bad_value);
  return make("FieldValueInvalid", "Invalid value", field, &v, detail);
}

FieldError typeInvalidError(const std::string& field, const nlohmann::json& bad_value,
                            const std::string& detail) {
  const std::string v = goValue(bad_value);
  return make("FieldValueTypeInvalid", "Invalid value", field, &v, detail);
}

FieldError notSupportedError(const std::string& field, const nlohmann::json& bad_value,
                             const std::vector<std::string>& supported) {
  std::string detail;
  if (!supported.empty()) {
    detail = "supported values: ";
    for (size_t i = 0; i < supported.size(); ++i) {
      if (i > 0) {
        detail += ", ";
      }
      detail += goQuote(supported[i]);
    }
  }
  const std::string v = goValue(bad_value);
  return make("FieldValueNotSupported", "Unsupported value", field, &v, detail);
}

FieldError tooLongError(const std::string& field, long long max_length) {
  std::string detail = "value is too long";
  if (max_length >= 0) {
    detail = "may not be more than " + std::to_string(max_length) +
             (max_length == 1 ? " byte" : " bytes");
  }
  return make("FieldValueTooLong", "Too long", field, nullptr, detail);
}

FieldError tooManyError(const std::string& field, long long actual, long long max_items) {
  std::string detail = "has too many items";
  if (max_items >= 0) {
    detail =
        "must have at most " + std::to_string(max_items) + (max_items == 1 ? " item" : " items");
  }
  const std::string v = std::to_string(actual);
  return make("FieldValueTooMany", "Too many", field, actual >= 0 ? &v : nullptr, detail);
}

FieldError duplicateError(const std::string& field, const nlohmann::json& bad_value) {
  const std::string v = goValue(bad_value);
  return make("FieldValueDuplicate", "Duplicate value", field, &v, "");
}

std::string aggregateMessage(const std::vector<FieldError>& errors) {
  if (errors.empty()) {
    return "";
  }
  if (errors.size() == 1) {
    return errors[0].toString();
  }
  std::set<std::string> seen;
  std::string result;
  for (const auto& e : errors) {
    std::string msg = e.toString();
    if (!seen.insert(msg).second) {
      continue;
    }
    if (seen.size() > 1) {
      result += ", ";
    }
    result += msg;
  }
  if (seen.size() == 1) {
    return result;
  }
  return "[" + result + "]";
}

nlohmann::json invalidStatus(const std::string& kind, const std::string& group,
                             const std::string& name, const std::vector<FieldError>& errors) {
  const std::string qualified = group.empty() ? kind : kind + "." + group;
  std::string message = qualified + " " + goQuote(name) + " is invalid";
  if (!errors.empty()) {
    message += ": " + aggregateMessage(errors);
  }
  nlohmann::json causes = nlohmann::json::array();
  for (const auto& e : errors) {
    causes.push_back({{"reason", e.type}, {"message", e.message}, {"field", e.field}});
  }
  nlohmann::json details = {{"name", name}, {"kind", kind}, {"causes", causes}};
  if (!group.empty()) {
    details["group"] = group;
  }
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", "Invalid"},
          {"details", details},  {"code", 422}};
}

}  // namespace novacron::devapi::schema
