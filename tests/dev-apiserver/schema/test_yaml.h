// Test helper: loads YAML files (CRDs, samples) from the repository as nlohmann::json, with YAML
// 1.2 core-schema scalars (quoted scalars stay strings). Test-only.
#pragma once

#include <cstdlib>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace novacron::devapi::schema::testing {

inline nlohmann::json yamlToJson(const YAML::Node& n) {
  switch (n.Type()) {
  case YAML::NodeType::Map: {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& kv : n) {
      o[kv.first.as<std::string>()] = yamlToJson(kv.second);
    }
    return o;
  }
  case YAML::NodeType::Sequence: {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& v : n) {
      a.push_back(yamlToJson(v));
    }
    return a;
  }
  case YAML::NodeType::Scalar: {
    const std::string s = n.Scalar();
    if (n.Tag() == "!") {
      return s;  // quoted
    }
    if (s == "true" || s == "false") {
      return s == "true";
    }
    if (s == "null" || s == "~") {
      return nullptr;
    }
    static const std::regex kInt("^[-+]?[0-9]+$");
    static const std::regex kFloat(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
    if (std::regex_match(s, kInt)) {
      return std::stoll(s);
    }
    if (std::regex_match(s, kFloat)) {
      return std::stod(s);
    }
    return s;
  }
  default:
    return nullptr;
  }
}

inline std::string sourceDir() {
  const char* dir = std::getenv("NOVACRON_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

// First document of `relative_path` under the source tree.
inline nlohmann::json loadYaml(const std::string& relative_path) {
  return yamlToJson(YAML::LoadFile(sourceDir() + "/" + relative_path));
}

}  // namespace novacron::devapi::schema::testing
