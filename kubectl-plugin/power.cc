// start, stop, restart, pause, unpause: each is one merge patch of a spec field (docs/api.md,
// "Power operations"), optionally followed by waiting for the phase it leads to (--wait).
#include <chrono>
#include <functional>
#include <ostream>

#include "kubectl-plugin/commands.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/api/virtual_machine.h"

namespace novacron::kubectl_plugin {
namespace {

using api::VirtualMachinePhase;

core::StatusOr<api::VirtualMachine> getVm(Env& env, const std::string& name) {
  NOVACRON_ASSIGN_OR_RETURN(kube::Json json, env.client->get(kube::kVirtualMachine, env.ns, name));
  return api::virtualMachineFromJson(json);
}

std::chrono::seconds timeoutOf(const Args& args) {
  auto t = args.get("timeout");
  if (!t) {
    return std::chrono::seconds(120);
  }
  std::string text = *t;
  int64_t scale = 1;
  if (!text.empty() && text.back() == 's') {
    text.pop_back();
  } else if (!text.empty() && text.back() == 'm') {
    text.pop_back();
    scale = 60;
  }
  try {
    return std::chrono::seconds(std::stoll(text) * scale);
  } catch (const std::exception&) {
    return std::chrono::seconds(120);
  }
}

// Polls the VM until `done` holds or --timeout passes. 0 when done.
int waitFor(Env& env, const Args& args, const std::string& name, std::string_view what,
            const std::function<bool(const api::VirtualMachine&)>& done) {
  const auto deadline = env.clock->now() + timeoutOf(args);
  std::string last_phase;
  while (true) {
    auto vm = getVm(env, name);
    if (vm.isOk()) {
      if (done(*vm)) {
        env.out << "virtualmachine/" << name << " " << what << "\n";
        return 0;
      }
      last_phase = vm->status.phase ? std::string(api::toString(*vm->status.phase)) : "";
      if (vm->status.phase == VirtualMachinePhase::kFailed) {
        return fail(env, "virtualmachine/" + name + " is Failed");
      }
    }
    if (env.clock->now() >= deadline) {
      return fail(env, "timed out waiting for virtualmachine/" + name + " to be " +
                           std::string(what) + " (phase " + last_phase + ")");
    }
    env.clock->sleepFor(std::chrono::milliseconds(250));
  }
}

bool phaseIs(const api::VirtualMachine& vm, VirtualMachinePhase phase) {
  return vm.status.phase == phase;
}

// Applies `patch` to the VM named by the only positional argument; then waits if asked.
int patchVm(Env& env, const Args& args, const kube::Json& patch, std::string_view verb,
            std::string_view waited, const std::function<bool(const api::VirtualMachine&)>& done) {
  if (args.positional.size() != 1) {
    env.err << "error: expected exactly one VM name\n";
    return 2;
  }
  const std::string& name = args.positional[0];
  auto r = env.client->patch(kube::kVirtualMachine, env.ns, name, kube::PatchType::kMerge, patch);
  if (!r.isOk()) {
    return fail(env, r.status().message());
  }
  env.out << "virtualmachine/" << name << " " << verb << "\n";
  if (!args.has("wait")) {
    return 0;
  }
  return waitFor(env, args, name, waited, done);
}

}  // namespace

int runStart(Env& env, const Args& args) {
  std::string strategy = args.get("run-strategy").value_or("Always");
  auto parsed = api::fromString<api::RunStrategy>(strategy);
  if (!parsed || *parsed == api::RunStrategy::kHalted) {
    env.err << "error: --run-strategy must be Always, RerunOnFailure, Manual or Once\n";
    return 2;
  }
  if (*parsed == api::RunStrategy::kManual) {
    env.err << "error: Manual never starts a stopped VM; use Always, RerunOnFailure or Once\n";
    return 2;
  }
  kube::Json patch = {{"spec", {{"runStrategy", strategy}}}};
  return patchVm(env, args, patch, "start requested (runStrategy " + strategy + ")", "running",
                 [](const api::VirtualMachine& vm) {
                   return phaseIs(vm, VirtualMachinePhase::kRunning) ||
                          phaseIs(vm, VirtualMachinePhase::kPaused);
                 });
}

int runStop(Env& env, const Args& args) {
  kube::Json patch = {{"spec", {{"runStrategy", "Halted"}}}};
  return patchVm(
      env, args, patch, "stop requested (runStrategy Halted)", "stopped",
      [](const api::VirtualMachine& vm) { return phaseIs(vm, VirtualMachinePhase::kStopped); });
}

int runPause(Env& env, const Args& args) {
  kube::Json patch = {{"spec", {{"paused", true}}}};
  return patchVm(env, args, patch, "pause requested", "paused", [](const api::VirtualMachine& vm) {
    return phaseIs(vm, VirtualMachinePhase::kPaused);
  });
}

int runUnpause(Env& env, const Args& args) {
  // Also drops the deprecated annotation, which would keep the VM paused.
  kube::Json patch = {
      {"metadata", {{"annotations", {{std::string(api::kPausedAnnotation), nullptr}}}}},
      {"spec", {{"paused", nullptr}}}};
  return patchVm(
      env, args, patch, "unpause requested", "running",
      [](const api::VirtualMachine& vm) { return phaseIs(vm, VirtualMachinePhase::kRunning); });
}

int runRestart(Env& env, const Args& args) {
  if (args.positional.size() != 1) {
    env.err << "error: expected exactly one VM name\n";
    return 2;
  }
  auto vm = getVm(env, args.positional[0]);
  if (!vm.isOk()) {
    return fail(env, vm.status().message());
  }
  if (vm->spec.runStrategy == api::RunStrategy::kHalted) {
    return fail(env, "virtualmachine/" + args.positional[0] +
                         " is stopped (runStrategy Halted); use start");
  }
  // After the last start even when our clock is behind the node's: the node restarts a guest
  // that started before the request.
  api::Timestamp requested = api::toTimestamp(env.clock->wallNow());
  if (vm->status.startTime && requested <= *vm->status.startTime) {
    requested = *vm->status.startTime + std::chrono::seconds(1);
  }
  kube::Json patch = {{"spec", {{"restartRequestedAt", api::formatTimestamp(requested)}}}};
  return patchVm(env, args, patch, "restart requested", "restarted",
                 [requested](const api::VirtualMachine& now) {
                   return now.status.startTime && *now.status.startTime >= requested &&
                          phaseIs(now, VirtualMachinePhase::kRunning);
                 });
}

}  // namespace novacron::kubectl_plugin
