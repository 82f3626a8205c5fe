#include "lib/runtime/store.h"

namespace novacron::runtime {

std::string objectKey(std::string_view ns, std::string_view name) {
  if (ns.empty()) {
    return std::string(name);
  }
  std::string key;
  key.reserve(ns.size() + 1 + name.size());
  key.append(ns).append("/").append(name);
  return key;
}

std::string objectKeyOf(const nlohmann::json& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) {
    return {};
  }
  auto field = [&](const char* name) -> std::string_view {
    auto it = meta->find(name);
    return it != meta->end() && it->is_string()
               ? std::string_view(it->get_ref<const std::string&>())
               : std::string_view();
  };
  return objectKey(field("namespace"), field("name"));
}

std::pair<std::string, std::string> splitObjectKey(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) {
    return {std::string(), std::string(key)};
  }
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

std::vector<std::string> jsonLabelValues(const nlohmann::json& object, const std::string& label) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) {
    return {};
  }
  auto labels = meta->find("labels");
  if (labels == meta->end() || !labels->is_object()) {
    return {};
  }
  auto it = labels->find(label);
  if (it == labels->end() || !it->is_string()) {
    return {};
  }
  return {it->get<std::string>()};
}

}  // namespace novacron::runtime
