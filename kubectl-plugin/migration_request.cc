#include "kubectl-plugin/migration_request.h"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <utility>

namespace novacron::kubectl_plugin {
namespace {

// A whole non-negative number spelled entirely of digits ("100", not "100x" or "-1").
[[nodiscard]] core::StatusOr<int64_t> wholeNumber(const std::string& flag, std::string_view unit,
                                                  const std::string& text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < 0) {
    return core::invalidArgumentError("--" + flag + " takes a whole number of " +
                                      std::string(unit) + ", not \"" + text + "\"");
  }
  return value;
}

}  // namespace

core::StatusOr<MigrationRequest> parseMigrationRequest(const Args& args) {
  if (args.positional.size() != 1) {
    return core::invalidArgumentError("expected exactly one VM name");
  }
  MigrationRequest r;
  r.vm_name = args.positional[0];
  const std::string mode = args.get("mode").value_or("live");
  if (mode == "live" || mode == "Live") {
    r.mode = "Live";
  } else if (mode == "cold" || mode == "Cold") {
    r.mode = "Cold";
  } else {
    return core::invalidArgumentError("--mode must be live or cold, not \"" + mode + "\"");
  }
  r.target = args.get("to");
  r.name = args.get("name");
  if (auto v = args.get("bandwidth")) {
    auto n = wholeNumber("bandwidth", "MiB/s", *v);
    if (!n.isOk()) {
      return n.status();
    }
    r.options["bandwidthMiBps"] = *n;
  }
  if (auto v = args.get("max-downtime")) {
    auto n = wholeNumber("max-downtime", "milliseconds", *v);
    if (!n.isOk()) {
      return n.status();
    }
    r.options["maxDowntimeMs"] = *n;
  }
  if (args.has("auto-converge")) {
    r.options["autoConverge"] = true;
  }
  if (args.has("post-copy")) {
    r.options["postCopy"] = {{"enabled", true}};
  }
  if (auto v = args.get("compression")) {
    r.options["compression"] = *v;
  }
  if (auto v = args.get("copy-storage")) {
    r.options["copyStorage"] = *v;
  }
  return r;
}

std::string migrationName(const MigrationRequest& request, std::string_view suffix,
                          const core::Clock& clock) {
  if (request.name) {
    return *request.name;
  }
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(clock.wallNow().time_since_epoch()).count();
  return request.vm_name.substr(0, 40) + std::string(suffix) + std::to_string(seconds);
}

kube::Json migrationObject(const MigrationRequest& request, const std::string& name,
                           const std::string& ns, bool dry_run) {
  kube::Json spec = {{"vmName", request.vm_name}, {"mode", request.mode}};
  if (dry_run) {
    spec["dryRun"] = true;
  }
  if (request.target) {
    spec["targetHypervisor"] = *request.target;
  }
  if (!request.options.empty()) {
    spec["options"] = request.options;
  }
  return {{"apiVersion", "novacron.io/v1alpha1"},
          {"kind", "VMMigration"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", spec}};
}

CreatedMigration createMigration(Env& env, const Args& args, std::string_view name_suffix,
                                 bool dry_run) {
  CreatedMigration out;
  auto request = parseMigrationRequest(args);
  if (!request.isOk()) {
    env.err << "error: " << request.status().message() << "\n";
    out.exit_code = 2;
    return out;
  }
  out.request = std::move(request).value();
  auto vm = env.client->get(kube::kVirtualMachine, env.ns, out.request.vm_name);
  if (!vm.isOk()) {
    out.exit_code = fail(env, vm.status().message());
    return out;
  }
  out.name = migrationName(out.request, name_suffix, *env.clock);
  auto created = env.client->create(kube::kVMMigration, env.ns,
                                    migrationObject(out.request, out.name, env.ns, dry_run));
  if (!created.isOk()) {
    out.exit_code = fail(env, created.status().message());
  }
  return out;
}

}  // namespace novacron::kubectl_plugin
