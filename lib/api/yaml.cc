// yamlToJson: the yaml-cpp adapter. Scalars are resolved the way kubectl reads manifests
// (sigs.k8s.io/yaml, go-yaml v2, YAML 1.1 rules), so a sample means here what it means to kubectl.
#include <cmath>
#include <cstdint>
#include <exception>
#include <optional>
#include <set>
#include <string>

#include <yaml-cpp/yaml.h>

#include "lib/api/codec.h"

namespace novacron::api {
namespace {

using nlohmann::json;

// Bounds against hostile input: nesting depth, and total nodes after alias expansion ("billion
// laughs").
constexpr int kMaxDepth = 128;
constexpr std::size_t kMaxNodes = 1'000'000;

constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";
constexpr std::string_view kIntTag = "tag:yaml.org,2002:int";
constexpr std::string_view kFloatTag = "tag:yaml.org,2002:float";
constexpr std::string_view kBoolTag = "tag:yaml.org,2002:bool";
constexpr std::string_view kNullTag = "tag:yaml.org,2002:null";

class ConversionError : public std::exception {
public:
  explicit ConversionError(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

private:
  std::string message_;
};

std::string where(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) {
    return "";
  }
  return " at line " + std::to_string(mark.line + 1) + ", column " +
         std::to_string(mark.column + 1);
}

std::optional<bool> resolveBool(const std::string& s) {
  static const std::set<std::string> kTrue = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                              "True", "TRUE", "on",  "On",  "ON"};
  static const std::set<std::string> kFalse = {"n",     "N",     "no",  "No",  "NO", "false",
                                               "False", "FALSE", "off", "Off", "OFF"};
  if (kTrue.contains(s)) {
    return true;
  }
  if (kFalse.contains(s)) {
    return false;
  }
  return std::nullopt;
}

// Go's strconv.ParseInt(s, 0, 64) after removing '_': sign, then 0x / 0o / 0b / leading-0 octal /
// decimal. Falls back to uint64 for large positive values.
std::optional<json> resolveInt(std::string s) {
  std::erase(s, '_');
  if (s.empty()) {
    return std::nullopt;
  }
  bool negative = false;
  std::size_t pos = 0;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    pos = 1;
  }
  int base = 10;
  if (s.size() > pos + 1 && s[pos] == '0') {
    const char p = s[pos + 1];
    if (p == 'x' || p == 'X') {
      base = 16;
      pos += 2;
    } else if (p == 'o' || p == 'O') {
      base = 8;
      pos += 2;
    } else if (p == 'b' || p == 'B') {
      base = 2;
      pos += 2;
    } else {
      base = 8;
      pos += 1;
    }
  }
  if (pos >= s.size()) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto ubase = static_cast<std::uint64_t>(base);
  for (; pos < s.size(); ++pos) {
    const char c = s[pos];
    int digit = -1;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    }
    if (digit < 0 || digit >= base) {
      return std::nullopt;
    }
    const auto udigit = static_cast<std::uint64_t>(digit);
    if (value > (UINT64_MAX - udigit) / ubase) {
      return std::nullopt;  // too big for an integer: go-yaml then tries a float
    }
    value = value * ubase + udigit;
  }
  constexpr auto kMaxSigned = static_cast<std::uint64_t>(INT64_MAX);
  if (negative) {
    if (value > kMaxSigned + 1) {
      return std::nullopt;
    }
    // -(2^63) does not fit the positive range; build it from INT64_MIN.
    return json(value == kMaxSigned + 1 ? INT64_MIN : -static_cast<std::int64_t>(value));
  }
  if (value <= kMaxSigned) {
    return json(static_cast<std::int64_t>(value));
  }
  return json(value);
}

bool looksLikeFloat(const std::string& s) {
  // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    ++i;
  }
  std::size_t int_digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    ++i;
    ++int_digits;
  }
  std::size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
      ++frac_digits;
    }
    if (int_digits == 0 && frac_digits == 0) {
      return false;
    }
  } else if (int_digits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      ++i;
    }
    std::size_t exp_digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
      ++exp_digits;
    }
    if (exp_digits == 0) {
      return false;
    }
  }
  return i == s.size();
}

std::optional<json> resolveFloat(const YAML::Node& node, std::string s) {
  std::erase(s, '_');
  static const std::set<std::string> kSpecial = {".inf",  ".Inf",  ".INF",  "+.inf",
                                                 "+.Inf", "+.INF", "-.inf", "-.Inf",
                                                 "-.INF", ".nan",  ".NaN",  ".NAN"};
  if (kSpecial.contains(s)) {
    throw ConversionError("\"" + s + "\" (infinity/NaN) cannot be represented in JSON" +
                          where(node));
  }
  if (!looksLikeFloat(s)) {
    return std::nullopt;
  }
  const double value = std::strtod(s.c_str(), nullptr);
  if (!std::isfinite(value)) {
    throw ConversionError("number \"" + s + "\" is out of range" + where(node));
  }
  // Go's encoding/json writes 2.0 as 2, so the API server sees an integer: do the same.
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    return json(static_cast<std::int64_t>(value));
  }
  return json(value);
}

json resolvePlainScalar(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return nullptr;
  }
  if (auto b = resolveBool(s)) {
    return *b;
  }
  const char first = s[0];
  if ((first >= '0' && first <= '9') || first == '+' || first == '-' || first == '.') {
    if (auto i = resolveInt(s)) {
      return *i;
    }
    if (auto f = resolveFloat(node, s)) {
      return *f;
    }
  }
  return s;
}

json resolveScalar(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  if (tag == "!" || tag == kStrTag) {
    return node.Scalar();  // quoted, or explicitly a string
  }
  if (tag == "?" || tag.empty()) {
    return resolvePlainScalar(node);
  }
  json value = resolvePlainScalar(node);
  const auto mismatch = [&](std::string_view expected) {
    return ConversionError("\"" + node.Scalar() + "\" is not a valid " + std::string(expected) +
                           where(node));
  };
  if (tag == kIntTag && !value.is_number_integer() && !value.is_number_unsigned()) {
    throw mismatch("!!int");
  }
  if (tag == kFloatTag) {
    if (!value.is_number()) {
      throw mismatch("!!float");
    }
  }
  if (tag == kBoolTag && !value.is_boolean()) {
    throw mismatch("!!bool");
  }
  if (tag == kNullTag && !value.is_null()) {
    throw mismatch("!!null");
  }
  return value;  // other tags (custom, !!timestamp): resolved as if untagged
}

class Converter {
public:
  json convert(const YAML::Node& node, int depth) {
    if (depth > kMaxDepth) {
      throw ConversionError("nesting deeper than " + std::to_string(kMaxDepth) + where(node));
    }
    if (++nodes_ > kMaxNodes) {
      throw ConversionError("document expands to more than " + std::to_string(kMaxNodes) +
                            " nodes (alias bomb?)");
    }
    switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar:
      return resolveScalar(node);
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const YAML::Node& item : node) {
        out.push_back(convert(item, depth + 1));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      json merged = json::object();  // from "<<" merge keys; explicit keys win
      for (const auto& entry : node) {
        const YAML::Node key = entry.first;
        const YAML::Node value = entry.second;
        if (!key.IsScalar() && !key.IsNull()) {
          throw ConversionError("mapping keys must be scalars" + where(key));
        }
        const std::string name = key.IsNull() ? "null" : key.Scalar();
        if (name == "<<" && key.Tag() != "!") {
          mergeInto(merged, value, depth);
          continue;
        }
        if (out.contains(name)) {
          throw ConversionError("duplicate key \"" + name + "\"" + where(key));
        }
        out[name] = convert(value, depth + 1);
      }
      for (auto it = merged.begin(); it != merged.end(); ++it) {
        if (!out.contains(it.key())) {
          out[it.key()] = it.value();
        }
      }
      return out;
    }
    }
    return nullptr;
  }

private:
  void mergeInto(json& merged, const YAML::Node& value, int depth) {
    const auto mergeOne = [&](const YAML::Node& m) {
      json j = convert(m, depth + 1);
      if (!j.is_object()) {
        throw ConversionError("merge key \"<<\" needs a mapping" + where(m));
      }
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (!merged.contains(it.key())) {
          merged[it.key()] = it.value();
        }
      }
    };
    if (value.IsSequence()) {
      for (const YAML::Node& m : value) {
        mergeOne(m);
      }
    } else {
      mergeOne(value);
    }
  }

  std::size_t nodes_ = 0;
};

}  // namespace

core::StatusOr<std::vector<json>> yamlDocumentsToJson(std::string_view yaml) {
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(yaml));
    std::vector<json> out;
    for (const YAML::Node& doc : docs) {
      Converter converter;
      json value = converter.convert(doc, 0);
      if (!value.is_null()) {
        out.push_back(std::move(value));
      }
    }
    return out;
  } catch (const YAML::Exception& e) {
    return core::invalidArgumentError(std::string("invalid YAML: ") + e.what());
  } catch (const std::exception& e) {
    return core::invalidArgumentError(std::string("invalid YAML: ") + e.what());
  }
}

core::StatusOr<json> yamlToJson(std::string_view yaml) {
  auto docs = yamlDocumentsToJson(yaml);
  if (!docs.isOk()) {
    return docs.status();
  }
  if (docs->size() > 1) {
    return core::invalidArgumentError("expected one YAML document, found " +
                                      std::to_string(docs->size()));
  }
  return docs->empty() ? json(nullptr) : std::move(docs->front());
}

}  // namespace novacron::api
