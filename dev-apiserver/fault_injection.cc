#include "dev-apiserver/fault_injection.h"

#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "dev-apiserver/util.h"

namespace novacron::devapi {
namespace {

constexpr std::chrono::milliseconds kRecheckEvery{100};

bool isUpdate(const std::string& method) {
  return method == "PUT";
}

Response injected(int code, const std::string& reason, const std::string& message) {
  Response r;
  r.code = code;
  r.body = statusBody(code, reason, message).dump();
  return r;
}

std::string reasonFor(int code) {
  switch (code) {
  case 409:
    return "Conflict";
  case 429:
    return "TooManyRequests";
  case 500:
    return "InternalError";
  case 503:
    return "ServiceUnavailable";
  case 504:
    return "Timeout";
  default:
    return "InjectedFault";
  }
}

}  // namespace

core::StatusOr<FaultConfig> parseFaultConfig(std::string_view text) {
  FaultConfig config;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return config;
  }
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    if (!j.is_object()) {
      return core::invalidArgumentError("fault file: not a JSON object");
    }
    config.latency = std::chrono::milliseconds(j.value("latencyMs", int64_t{0}));
    config.conflict_fraction = j.value("conflictFraction", 0.0);
    if (config.latency.count() < 0 || config.conflict_fraction < 0 ||
        config.conflict_fraction > 1) {
      return core::invalidArgumentError("fault file: latencyMs >= 0, conflictFraction in [0, 1]");
    }
    for (const auto& item : j.value("rules", nlohmann::json::array())) {
      FaultRule rule;
      rule.method = item.value("method", "");
      rule.path_pattern = item.value("path", "");
      rule.path = std::regex(rule.path_pattern, std::regex::ECMAScript);
      rule.status = item.value("status", 503);
      rule.fraction = item.value("fraction", 1.0);
      if (rule.status < 400 || rule.status > 599 || rule.fraction < 0 || rule.fraction > 1) {
        return core::invalidArgumentError("fault file: rule " + rule.path_pattern +
                                          ": status in 400..599, fraction in [0, 1]");
      }
      config.rules.push_back(std::move(rule));
    }
  } catch (const nlohmann::json::exception& e) {
    return core::invalidArgumentError(std::string("fault file: ") + e.what());
  } catch (const std::regex_error& e) {
    return core::invalidArgumentError(std::string("fault file: bad path pattern: ") + e.what());
  }
  return config;
}

FaultDecision decideFault(const FaultConfig& config, const Request& req,
                          const std::function<double()>& roll) {
  FaultDecision decision;
  decision.delay = config.latency;
  for (const FaultRule& rule : config.rules) {
    if ((rule.method.empty() || rule.method == req.method) &&
        std::regex_search(req.path, rule.path) && roll() < rule.fraction) {
      decision.answer = injected(
          rule.status, reasonFor(rule.status),
          "injected fault (dev API server --fault-file) for " + req.method + " " + req.path);
      return decision;
    }
  }
  if (isUpdate(req.method) && config.conflict_fraction > 0 && roll() < config.conflict_fraction) {
    decision.answer = injected(409, "Conflict",
                               "Operation cannot be fulfilled on " + req.path +
                                   ": the object has been modified; please apply your changes to "
                                   "the latest version and try again (injected)");
  }
  return decision;
}

FaultInjector::FaultInjector(std::filesystem::path file)
    : file_(std::move(file)), config_(std::make_shared<FaultConfig>()) {}

std::shared_ptr<const FaultConfig> FaultInjector::current() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now - checked_ < kRecheckEvery) {
    return config_;
  }
  checked_ = now;
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(file_, ec);
  const bool exists = !ec;
  if (exists == loaded_exists_ && (!exists || mtime == loaded_mtime_)) {
    return config_;
  }
  loaded_exists_ = exists;
  loaded_mtime_ = exists ? mtime : std::filesystem::file_time_type{};
  std::string text;
  if (exists) {
    std::ifstream in(file_);
    std::stringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  auto parsed = parseFaultConfig(text);
  if (!parsed.isOk()) {
    spdlog::error("{}: {}; keeping the previous faults", file_.string(),
                  parsed.status().toString());
    loaded_exists_ = false;  // read it again on the next check (a half-written file)
    return config_;
  }
  config_ = std::make_shared<const FaultConfig>(std::move(*parsed));
  spdlog::warn("fault injection from {}: latency {} ms, conflicts {:.2f}, {} rule(s)",
               file_.string(), config_->latency.count(), config_->conflict_fraction,
               config_->rules.size());
  return config_;
}

std::optional<Response> FaultInjector::intercept(const Request& req) {
  const auto config = current();
  FaultDecision decision = decideFault(*config, req, [this] {
    std::lock_guard lock(mu_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  });
  if (decision.delay.count() > 0) {
    std::this_thread::sleep_for(decision.delay);  // the fault itself: a slow API server
  }
  return std::move(decision.answer);
}

}  // namespace novacron::devapi
