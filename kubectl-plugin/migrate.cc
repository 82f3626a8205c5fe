// migrate: creates a VMMigration and follows it to its end with a live progress bar; cancel: sets
// spec.cancel on a migration (named directly, or the VM's active one).
#include <chrono>
#include <ostream>

#include "kubectl-plugin/commands.h"
#include "kubectl-plugin/format.h"
#include "kubectl-plugin/migration_request.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/api/virtual_machine.h"
#include "lib/api/vm_migration.h"

namespace novacron::kubectl_plugin {
namespace {

using api::MigrationPhase;

bool terminal(MigrationPhase phase) {
  return phase == MigrationPhase::kSucceeded || phase == MigrationPhase::kFailed ||
         phase == MigrationPhase::kCancelled;
}

std::string conditionMessages(const api::VMMigration& m) {
  std::string out;
  for (const auto& c : m.status.conditions) {
    if (!c.message.empty() && (c.type == api::kConditionSucceeded || c.type == "Ready" ||
                               c.type == api::kConditionProgressing)) {
      out += "\n  " + c.type + ": " + c.reason + ": " + c.message;
    }
  }
  return out;
}

// Polls the migration and redraws its progress until it ends. The exit code says how it ended.
int follow(Env& env, const std::string& name, std::chrono::seconds timeout) {
  const auto deadline = env.clock->now() + timeout;
  std::string last_line;
  while (true) {
    auto json = env.client->get(kube::kVMMigration, env.ns, name);
    if (!json.isOk()) {
      if (json.status().code() == core::StatusCode::kNotFound) {
        if (env.tty) {
          env.out << "\n";
        }
        return fail(env, "vmmigration/" + name + " was deleted (cancelled)");
      }
      return fail(env, json.status().message());
    }
    auto m = api::vmMigrationFromJson(*json);
    if (!m.isOk()) {
      return fail(env, m.status().message());
    }
    const MigrationPhase phase = m->status.phase.value_or(MigrationPhase::kPending);
    api::MigrationProgress progress = m->status.progress.value_or(api::MigrationProgress{});
    if (phase == MigrationPhase::kSucceeded) {
      progress.percent = 100;
      progress.etaSeconds.reset();
    }
    std::string line = progressLine(progress, api::toString(phase));
    if (line != last_line) {
      if (env.tty) {
        env.out << "\r" << line << "\033[K" << std::flush;
      } else {
        env.out << line << "\n" << std::flush;
      }
      last_line = line;
    }
    if (terminal(phase)) {
      if (env.tty) {
        env.out << "\n";
      }
      std::string from = m->status.sourceHypervisor.value_or("?");
      std::string to = m->status.targetHypervisor.value_or("?");
      if (phase == MigrationPhase::kSucceeded) {
        env.out << "vmmigration/" << name << " succeeded: " << m->spec.vmName << " moved from "
                << from << " to " << to << "\n";
        return 0;
      }
      std::string reason = m->status.failureReason.value_or("");
      return fail(env, "vmmigration/" + name + " " + std::string(api::toString(phase)) +
                           (reason.empty() ? "" : ": " + reason) + conditionMessages(*m));
    }
    if (env.clock->now() >= deadline) {
      if (env.tty) {
        env.out << "\n";
      }
      return fail(env, "timed out following vmmigration/" + name + " (still " +
                           std::string(api::toString(phase)) + "; it keeps running)");
    }
    env.clock->sleepFor(std::chrono::milliseconds(250));
  }
}

std::chrono::seconds parseSeconds(const std::optional<std::string>& text,
                                  std::chrono::seconds fallback) {
  if (!text) {
    return fallback;
  }
  std::string t = *text;
  int64_t scale = 1;
  if (!t.empty() && t.back() == 's') {
    t.pop_back();
  } else if (!t.empty() && t.back() == 'm') {
    t.pop_back();
    scale = 60;
  } else if (!t.empty() && t.back() == 'h') {
    t.pop_back();
    scale = 3600;
  }
  try {
    return std::chrono::seconds(std::stoll(t) * scale);
  } catch (const std::exception&) {
    return fallback;
  }
}

}  // namespace

int runMigrate(Env& env, const Args& args) {
  const CreatedMigration created = createMigration(env, args, "-", /*dry_run=*/false);
  if (created.exit_code != 0) {
    return created.exit_code;
  }
  const std::string& name = created.name;
  env.out << "vmmigration/" << name << " created (" << created.request.mode << " migration of "
          << created.request.vm_name
          << (created.request.target ? " to " + *created.request.target : std::string()) << ")\n";
  if (args.has("no-wait")) {
    return 0;
  }
  return follow(env, name, parseSeconds(args.get("timeout"), std::chrono::hours(1)));
}

int runCancel(Env& env, const Args& args) {
  if (args.positional.size() != 1) {
    env.err << "error: expected a VMMigration or VM name\n";
    return 2;
  }
  std::string name = args.positional[0];
  auto migration = env.client->get(kube::kVMMigration, env.ns, name);
  if (!migration.isOk() && migration.status().code() == core::StatusCode::kNotFound) {
    // Not a migration: the VM's active one.
    auto vm_json = env.client->get(kube::kVirtualMachine, env.ns, name);
    if (!vm_json.isOk()) {
      return fail(env,
                  "no VMMigration or VirtualMachine named " + name + " in namespace " + env.ns);
    }
    auto vm = api::virtualMachineFromJson(*vm_json);
    if (!vm.isOk() || !vm->status.activeMigration || vm->status.activeMigration->empty()) {
      return fail(env, "virtualmachine/" + name + " has no migration in progress");
    }
    name = *vm->status.activeMigration;
  } else if (!migration.isOk()) {
    return fail(env, migration.status().message());
  }
  kube::Json patch = {{"spec", {{"cancel", true}}}};
  auto r = env.client->patch(kube::kVMMigration, env.ns, name, kube::PatchType::kMerge, patch);
  if (!r.isOk()) {
    return fail(env, r.status().message());
  }
  env.out << "vmmigration/" << name << " cancel requested\n";
  if (!args.has("wait")) {
    return 0;
  }
  int rc = follow(env, name, parseSeconds(args.get("timeout"), std::chrono::minutes(5)));
  // Following a cancelled migration "fails" by design: here that is the success.
  auto end = env.client->get(kube::kVMMigration, env.ns, name);
  if (end.isOk()) {
    auto m = api::vmMigrationFromJson(*end);
    if (m.isOk() && m->status.phase == MigrationPhase::kCancelled) {
      return 0;
    }
  }
  return rc;
}

}  // namespace novacron::kubectl_plugin
