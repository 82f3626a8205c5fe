#include "lib/runtime/conditions.h"

#include <ctime>

namespace novacron::runtime {
namespace {

std::string stringField(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string formatRfc3339(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::seconds>(time));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const nlohmann::json* findCondition(const nlohmann::json& conditions, std::string_view type) {
  if (!conditions.is_array()) {
    return nullptr;
  }
  for (const auto& c : conditions) {
    if (c.is_object() && stringField(c, "type") == type) {
      return &c;
    }
  }
  return nullptr;
}

bool isConditionTrue(const nlohmann::json& conditions, std::string_view type) {
  const auto* c = findCondition(conditions, type);
  return c != nullptr && stringField(*c, "status") == "True";
}

bool setCondition(nlohmann::json& conditions, const ConditionUpdate& update,
                  std::chrono::system_clock::time_point now) {
  if (!conditions.is_array()) {
    conditions = nlohmann::json::array();
  }
  for (auto& c : conditions) {
    if (!c.is_object() || stringField(c, "type") != update.type) {
      continue;
    }
    bool changed = false;
    auto assign = [&](const char* key, const nlohmann::json& value) {
      if (!c.contains(key) || c[key] != value) {
        c[key] = value;
        changed = true;
      }
    };
    if (stringField(c, "status") != update.status || !c.contains("lastTransitionTime")) {
      c["lastTransitionTime"] = formatRfc3339(now);
      changed = true;
    }
    assign("status", update.status);
    assign("reason", update.reason);
    assign("message", update.message);
    assign("observedGeneration", update.observed_generation);
    return changed;
  }
  conditions.push_back({{"type", update.type},
                        {"status", update.status},
                        {"observedGeneration", update.observed_generation},
                        {"lastTransitionTime", formatRfc3339(now)},
                        {"reason", update.reason},
                        {"message", update.message}});
  return true;
}

bool setObjectCondition(nlohmann::json& object, std::string type, std::string status,
                        std::string reason, std::string message, const core::Clock& clock) {
  int64_t generation = 0;
  if (auto meta = object.find("metadata"); meta != object.end() && meta->is_object()) {
    if (auto g = meta->find("generation"); g != meta->end() && g->is_number_integer()) {
      generation = g->get<int64_t>();
    }
  }
  if (!object["status"].is_object()) {
    object["status"] = nlohmann::json::object();
  }
  return setCondition(object["status"]["conditions"],
                      ConditionUpdate{std::move(type), std::move(status), std::move(reason),
                                      std::move(message), generation},
                      clock.wallNow());
}

bool removeCondition(nlohmann::json& conditions, std::string_view type) {
  if (!conditions.is_array()) {
    return false;
  }
  for (auto it = conditions.begin(); it != conditions.end(); ++it) {
    if (it->is_object() && stringField(*it, "type") == type) {
      conditions.erase(it);
      return true;
    }
  }
  return false;
}

}  // namespace novacron::runtime
