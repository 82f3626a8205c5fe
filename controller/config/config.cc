#include "controller/config/config.h"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "lib/api/node_lease.h"

namespace novacron::controller::config {
namespace {

using Errors = std::vector<std::string>;

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

// Reports keys of `node` that are not in `known`, so a misspelt key is an error, not a no-op.
void checkKeys(const YAML::Node& node, const std::string& path, const std::set<std::string>& known,
               Errors& errors) {
  for (const auto& item : node) {
    const std::string key = item.first.as<std::string>();
    if (!known.contains(key)) {
      errors.push_back((path.empty() ? "" : path + ".") + key + ": unknown field");
    }
  }
}

// Calls `fn(child, path)` when `parent[key]` is present and a mapping; reports it otherwise.
void withMap(const YAML::Node& parent, const std::string& key, const std::string& path,
             Errors& errors, const std::function<void(const YAML::Node&, const std::string&)>& fn) {
  const YAML::Node child = parent[key];
  if (!child || child.IsNull()) {
    return;
  }
  if (!child.IsMap()) {
    errors.push_back(path + ": must be a mapping");
    return;
  }
  fn(child, path);
}

bool scalar(const YAML::Node& node, const std::string& path, Errors& errors, std::string& out) {
  if (!node.IsScalar()) {
    errors.push_back(path + ": must be a scalar");
    return false;
  }
  out = node.Scalar();
  return true;
}

void readDuration(const YAML::Node& parent, const std::string& key, const std::string& path,
                  Errors& errors, std::chrono::milliseconds& out) {
  const YAML::Node node = parent[key];
  std::string text;
  if (!node || !scalar(node, path, errors, text)) {
    return;
  }
  auto parsed = parseDuration(text);
  if (!parsed.isOk()) {
    errors.push_back(path + ": " + parsed.status().message());
    return;
  }
  out = *parsed;
}

void readInt(const YAML::Node& parent, const std::string& key, const std::string& path, int lo,
             int hi, Errors& errors, int& out) {
  const YAML::Node node = parent[key];
  std::string text;
  if (!node || !scalar(node, path, errors, text)) {
    return;
  }
  int value = 0;
  if (!YAML::convert<int>::decode(node, value)) {
    errors.push_back(path + ": must be an integer, got " + quoted(text));
    return;
  }
  if (value < lo || value > hi) {
    errors.push_back(path + ": must be between " + std::to_string(lo) + " and " +
                     std::to_string(hi) + ", got " + std::to_string(value));
    return;
  }
  out = value;
}

void readBool(const YAML::Node& parent, const std::string& key, const std::string& path,
              Errors& errors, bool& out) {
  const YAML::Node node = parent[key];
  std::string text;
  if (!node || !scalar(node, path, errors, text)) {
    return;
  }
  bool value = false;
  if (!YAML::convert<bool>::decode(node, value)) {
    errors.push_back(path + ": must be true or false, got " + quoted(text));
    return;
  }
  out = value;
}

void readString(const YAML::Node& parent, const std::string& key, const std::string& path,
                Errors& errors, std::string& out) {
  const YAML::Node node = parent[key];
  std::string text;
  if (!node || !scalar(node, path, errors, text)) {
    return;
  }
  if (text.empty()) {
    errors.push_back(path + ": must not be empty");
    return;
  }
  out = text;
}

void readRatio(const YAML::Node& parent, const std::string& key, const std::string& path,
               Errors& errors, scheduler::Ratio& out) {
  const YAML::Node node = parent[key];
  std::string text;
  if (!node || !scalar(node, path, errors, text)) {
    return;
  }
  auto parsed = parseRatio(text);
  if (!parsed.isOk()) {
    errors.push_back(path + ": " + parsed.status().message());
    return;
  }
  out = *parsed;
}

// "22:00-06:00" (UTC) -> minutes after midnight.
std::optional<rebalance::QuietHours> parseQuietHours(std::string_view text) {
  int h1 = 0, m1 = 0, h2 = 0, m2 = 0;
  char tail = 0;
  if (std::sscanf(std::string(text).c_str(), "%2d:%2d-%2d:%2d%c", &h1, &m1, &h2, &m2, &tail) != 4 ||
      h1 < 0 || h1 > 23 || h2 < 0 || h2 > 24 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59 ||
      (h2 == 24 && m2 != 0)) {
    return std::nullopt;
  }
  return rebalance::QuietHours{h1 * 60 + m1, h2 * 60 + m2};
}

void readStringList(const YAML::Node& parent, const std::string& key, const std::string& path,
                    Errors& errors, std::vector<std::string>& out) {
  const YAML::Node node = parent[key];
  if (!node || node.IsNull()) {
    return;
  }
  if (!node.IsSequence()) {
    errors.push_back(path + ": must be a list");
    return;
  }
  out.clear();
  for (std::size_t i = 0; i < node.size(); ++i) {
    std::string text;
    if (scalar(node[i], path + "[" + std::to_string(i) + "]", errors, text)) {
      out.push_back(text);
    }
  }
}

void readRebalance(const YAML::Node& n, const std::string& p, rebalance::RebalanceConfig& r,
                   Errors& errors) {
  checkKeys(
      n, p,
      {"enabled", "mode", "metric", "maxImbalancePercent", "budgetPerHour", "budgetPerNodePerHour",
       "cooldown", "quietHours", "excludeNamespaces", "excludeSelector", "interval"},
      errors);
  readBool(n, "enabled", p + ".enabled", errors, r.enabled);
  std::string text;
  if (n["mode"] && scalar(n["mode"], p + ".mode", errors, text)) {
    if (text == "Propose" || text == "Execute") {
      r.mode = text == "Execute" ? rebalance::Mode::kExecute : rebalance::Mode::kPropose;
    } else {
      errors.push_back(p + ".mode: must be Propose or Execute, got " + quoted(text));
    }
  }
  if (n["metric"] && scalar(n["metric"], p + ".metric", errors, text)) {
    if (auto metric = rebalance::spreadMetricFromName(text)) {
      r.metric = *metric;
    } else {
      errors.push_back(p +
                       ".metric: must be MemoryMaxMin, MemoryStdDev, CpuMaxMin or CpuStdDev, got " +
                       quoted(text));
    }
  }
  readInt(n, "maxImbalancePercent", p + ".maxImbalancePercent", 1, 100, errors,
          r.max_imbalance_percent);
  readInt(n, "budgetPerHour", p + ".budgetPerHour", 0, 1000, errors, r.budget_per_hour);
  readInt(n, "budgetPerNodePerHour", p + ".budgetPerNodePerHour", 0, 1000, errors,
          r.budget_per_node_per_hour);
  readDuration(n, "cooldown", p + ".cooldown", errors, r.cooldown);
  readDuration(n, "interval", p + ".interval", errors, r.interval);
  std::vector<std::string> windows;
  readStringList(n, "quietHours", p + ".quietHours", errors, windows);
  for (const auto& w : windows) {
    if (auto parsed = parseQuietHours(w)) {
      r.quiet_hours.push_back(*parsed);
    } else {
      errors.push_back(p + ".quietHours: must be \"HH:MM-HH:MM\" (UTC), got " + quoted(w));
    }
  }
  readStringList(n, "excludeNamespaces", p + ".excludeNamespaces", errors, r.exclude_namespaces);
  if (n["excludeSelector"] && scalar(n["excludeSelector"], p + ".excludeSelector", errors, text)) {
    if (auto checked = rebalance::checkExcludeSelector(text); !checked.isOk()) {
      errors.push_back(p + ".excludeSelector: " + checked.message());
    } else {
      r.exclude_selector = text;
    }
  }
}

void readConfig(const YAML::Node& root, ControllerConfig& config, Errors& errors) {
  checkKeys(root, "",
            {"scheduler", "hypervisorHealth", "workers", "migrations", "leaderElection", "server",
             "rebalance"},
            errors);
  withMap(root, "scheduler", "scheduler", errors, [&](const YAML::Node& n, const std::string& p) {
    checkKeys(n, p, {"policy", "defaultOvercommit"}, errors);
    std::string policy;
    if (n["policy"] && scalar(n["policy"], p + ".policy", errors, policy)) {
      if (policy == "BinPack") {
        config.scheduler.policy = scheduler::Policy::kBinPack;
      } else if (policy == "Spread") {
        config.scheduler.policy = scheduler::Policy::kSpread;
      } else {
        errors.push_back(p + ".policy: must be BinPack or Spread, got " + quoted(policy));
      }
    }
    withMap(n, "defaultOvercommit", p + ".defaultOvercommit", errors,
            [&](const YAML::Node& o, const std::string& op) {
              checkKeys(o, op, {"cpu", "memory"}, errors);
              readRatio(o, "cpu", op + ".cpu", errors, config.scheduler.default_overcommit.cpu);
              readRatio(o, "memory", op + ".memory", errors,
                        config.scheduler.default_overcommit.memory);
            });
  });
  withMap(root, "hypervisorHealth", "hypervisorHealth", errors,
          [&](const YAML::Node& n, const std::string& p) {
            checkKeys(n, p, {"heartbeatTimeout", "failover"}, errors);
            readDuration(n, "heartbeatTimeout", p + ".heartbeatTimeout", errors,
                         config.health.heartbeat_timeout);
            std::string failover;
            if (n["failover"] && scalar(n["failover"], p + ".failover", errors, failover)) {
              if (failover == "None") {
                config.health.failover = FailoverPolicy::kNone;
              } else if (failover == "Fenced") {
                config.health.failover = FailoverPolicy::kFenced;
              } else {
                errors.push_back(p + ".failover: must be None or Fenced, got " + quoted(failover));
              }
            }
          });
  withMap(root, "workers", "workers", errors, [&](const YAML::Node& n, const std::string& p) {
    checkKeys(n, p, {"vm", "hypervisor", "migration"}, errors);
    readInt(n, "vm", p + ".vm", 1, 64, errors, config.workers.vm);
    readInt(n, "hypervisor", p + ".hypervisor", 1, 64, errors, config.workers.hypervisor);
    readInt(n, "migration", p + ".migration", 1, 64, errors, config.workers.migration);
  });
  withMap(root, "migrations", "migrations", errors, [&](const YAML::Node& n, const std::string& p) {
    checkKeys(n, p, {"maxParallel", "sourceTimeout", "coldTimeout"}, errors);
    readInt(n, "maxParallel", p + ".maxParallel", 1, kMaxParallelMigrations, errors,
            config.migrations.max_parallel);
    readDuration(n, "sourceTimeout", p + ".sourceTimeout", errors,
                 config.migrations.source_timeout);
    readDuration(n, "coldTimeout", p + ".coldTimeout", errors, config.migrations.cold_timeout);
  });
  withMap(root, "leaderElection", "leaderElection", errors,
          [&](const YAML::Node& n, const std::string& p) {
            auto& le = config.leader_election;
            checkKeys(n, p,
                      {"enabled", "namespace", "leaseName", "leaseDuration", "renewDeadline",
                       "retryPeriod"},
                      errors);
            readBool(n, "enabled", p + ".enabled", errors, le.enabled);
            readString(n, "namespace", p + ".namespace", errors, le.namespace_);
            readString(n, "leaseName", p + ".leaseName", errors, le.lease_name);
            readDuration(n, "leaseDuration", p + ".leaseDuration", errors, le.lease_duration);
            readDuration(n, "renewDeadline", p + ".renewDeadline", errors, le.renew_deadline);
            readDuration(n, "retryPeriod", p + ".retryPeriod", errors, le.retry_period);
          });
  withMap(root, "server", "server", errors, [&](const YAML::Node& n, const std::string& p) {
    checkKeys(n, p, {"bindAddress"}, errors);
    readString(n, "bindAddress", p + ".bindAddress", errors, config.server.bind_address);
  });
  withMap(root, "rebalance", "rebalance", errors, [&](const YAML::Node& n, const std::string& p) {
    readRebalance(n, p, config.rebalance, errors);
  });
}

core::Status joinErrors(const Errors& errors) {
  if (errors.empty()) {
    return core::okStatus();
  }
  std::string message = "invalid controller configuration: ";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    message += (i == 0 ? "" : "; ") + errors[i];
  }
  return core::invalidArgumentError(std::move(message));
}

}  // namespace

std::string_view failoverPolicyName(FailoverPolicy policy) {
  return policy == FailoverPolicy::kFenced ? "Fenced" : "None";
}

core::StatusOr<std::chrono::milliseconds> parseDuration(std::string_view text) {
  static const std::map<std::string, int64_t, std::less<>> kUnitsMs = {
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};
  auto bad = [&](std::string why) {
    return core::invalidArgumentError("invalid duration " + quoted(text) + ": " + why +
                                      " (use e.g. \"40s\", \"1m30s\", \"500ms\")");
  };
  if (text.empty()) {
    return bad("empty");
  }
  int64_t total_ms = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    int64_t number = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) {
      if (number > 1'000'000'000) {
        return bad("too large");
      }
      number = number * 10 + (text[i] - '0');
      ++i;
    }
    if (i == start) {
      return bad("expected a number");
    }
    start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])) != 0) {
      ++i;
    }
    auto unit = kUnitsMs.find(text.substr(start, i - start));
    if (unit == kUnitsMs.end()) {
      return bad(i == start ? "missing unit" : "unknown unit");
    }
    total_ms += number * unit->second;
    if (total_ms > int64_t{1'000'000'000'000}) {
      return bad("too large");
    }
  }
  return std::chrono::milliseconds(total_ms);
}

core::StatusOr<scheduler::Ratio> parseRatio(std::string_view text) {
  auto bad = [&](std::string why) {
    return core::invalidArgumentError(why + ", got " + quoted(text));
  };
  std::size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  auto digits = [](std::string_view s) {
    for (char c : s) {
      if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
        return false;
      }
    }
    return true;
  };
  if (whole.empty() || !digits(whole) || !digits(frac) ||
      (dot != std::string_view::npos && frac.empty())) {
    return bad("must be a decimal number such as 1.5");
  }
  if (frac.size() > 3) {
    return bad("must have at most 3 decimal places");
  }
  if (whole.size() > 4) {
    return bad("must be at most " +
               scheduler::formatRatio(scheduler::Ratio{scheduler::Ratio::kMax}));
  }
  int64_t milli = std::stoll(std::string(whole)) * scheduler::Ratio::kOne;
  std::string padded(frac);
  padded.append(3 - padded.size(), '0');
  milli += std::stoll(padded);
  if (milli <= 0) {
    return bad("must be greater than 0");
  }
  if (milli > scheduler::Ratio::kMax) {
    return bad("must be at most " +
               scheduler::formatRatio(scheduler::Ratio{scheduler::Ratio::kMax}));
  }
  return scheduler::Ratio{milli};
}

core::Status validateConfig(const ControllerConfig& config) {
  Errors errors;
  using std::chrono::milliseconds;
  const auto& h = config.health;
  if (h.heartbeat_timeout < std::chrono::seconds(1)) {
    errors.push_back("hypervisorHealth.heartbeatTimeout: must be at least 1s");
  }
  const auto& le = config.leader_election;
  if (le.retry_period <= milliseconds(0)) {
    errors.push_back("leaderElection.retryPeriod: must be greater than 0");
  }
  if (le.renew_deadline <= le.retry_period) {
    errors.push_back("leaderElection.renewDeadline: must be greater than retryPeriod");
  }
  if (le.lease_duration <= le.renew_deadline) {
    errors.push_back("leaderElection.leaseDuration: must be greater than renewDeadline");
  }
  // Node-daemons may write any Lease there: a node named like the leader Lease would win it.
  if (le.namespace_ == api::kNodeLeaseNamespace) {
    errors.push_back("leaderElection.namespace: must not be " +
                     std::string(api::kNodeLeaseNamespace) + " (the nodes' heartbeat Leases)");
  }
  if (config.workers.vm < 1 || config.workers.hypervisor < 1 || config.workers.migration < 1) {
    errors.push_back("workers: counts must be at least 1");
  }
  if (config.migrations.max_parallel < 1 ||
      config.migrations.max_parallel > kMaxParallelMigrations) {
    errors.push_back("migrations.maxParallel: must be 1.." +
                     std::to_string(kMaxParallelMigrations));
  }
  if (config.migrations.source_timeout < std::chrono::seconds(1) ||
      config.migrations.source_timeout > std::chrono::hours(1)) {
    errors.push_back("migrations.sourceTimeout: must be 1s..1h");
  }
  if (config.migrations.cold_timeout < std::chrono::minutes(1) ||
      config.migrations.cold_timeout > std::chrono::hours(24)) {
    errors.push_back("migrations.coldTimeout: must be 1m..24h");
  }
  for (auto [name, ratio] : {std::pair{"cpu", config.scheduler.default_overcommit.cpu},
                             std::pair{"memory", config.scheduler.default_overcommit.memory}}) {
    if (ratio.milli <= 0 || ratio.milli > scheduler::Ratio::kMax) {
      errors.push_back(std::string("scheduler.defaultOvercommit.") + name + ": out of range");
    }
  }
  const auto& rb = config.rebalance;
  if (rb.interval < std::chrono::seconds(10) || rb.interval > std::chrono::hours(24)) {
    errors.push_back("rebalance.interval: must be 10s..24h");
  }
  if (rb.cooldown > std::chrono::hours(24 * 30)) {
    errors.push_back("rebalance.cooldown: must be at most 720h");
  }
  return joinErrors(errors);
}

core::StatusOr<ControllerConfig> parseConfig(std::string_view yaml) {
  ControllerConfig config;
  Errors errors;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (root && !root.IsNull()) {
      if (!root.IsMap()) {
        return core::invalidArgumentError(
            "invalid controller configuration: the document must be a mapping");
      }
      readConfig(root, config, errors);
    }
  } catch (const YAML::Exception& e) {
    return core::invalidArgumentError(std::string("invalid controller configuration: ") + e.what());
  }
  NOVACRON_RETURN_IF_ERROR(joinErrors(errors));
  NOVACRON_RETURN_IF_ERROR(validateConfig(config));
  return config;
}

core::StatusOr<ControllerConfig> loadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return core::notFoundError("controller configuration " + path + ": cannot open");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto parsed = parseConfig(buffer.str());
  if (!parsed.isOk()) {
    return parsed.status().withContext(path);
  }
  return parsed;
}

}  // namespace novacron::controller::config
