// explain: why a VM runs where it runs, or why it runs nowhere. Reads the VM (phase, binding,
// conditions), its Events, and every Hypervisor, and runs the controller's own scheduler filters
// (controller/scheduler) against each, so the reasons shown are the ones the controller applies.
// Overcommit ratios a hypervisor does not set are taken as the controller's defaults.
#include <algorithm>
#include <ostream>

#include "controller/scheduler/scheduler.h"
#include "controller/vm/placement_inputs.h"
#include "kubectl-plugin/commands.h"
#include "kubectl-plugin/format.h"
#include "lib/api/codec.h"
#include "lib/api/hypervisor.h"
#include "lib/api/names.h"
#include "lib/api/virtual_machine.h"

namespace novacron::kubectl_plugin {
namespace {

namespace sched = controller::scheduler;

void printConditions(Env& env, const api::VirtualMachine& vm) {
  if (vm.status.conditions.empty()) {
    env.out << "Conditions:  none reported yet\n";
    return;
  }
  env.out << "Conditions:\n";
  std::vector<std::vector<std::string>> rows = {{"  TYPE", "STATUS", "REASON", "MESSAGE"}};
  for (const auto& c : vm.status.conditions) {
    rows.push_back({"  " + c.type, std::string(api::toString(c.status)), c.reason, c.message});
  }
  env.out << formatTable(rows);
}

void printEvents(Env& env, const std::string& name) {
  kube::ListOptions options;
  options.field_selector = "involvedObject.kind=VirtualMachine,involvedObject.name=" + name;
  auto list = env.client->list(kube::kCoreEvent, env.ns, options);
  if (!list.isOk()) {
    env.out << "Events:  (not readable: " << list.status().message() << ")\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"  TYPE", "REASON", "FROM", "MESSAGE"}};
  for (const auto& e : (*list)["items"]) {
    const auto& obj = e.value("involvedObject", kube::Json::object());
    if (obj.value("name", "") != name || obj.value("kind", "") != "VirtualMachine") {
      continue;  // a server that ignored the field selector
    }
    rows.push_back({"  " + e.value("type", ""), e.value("reason", ""),
                    e.value("source", kube::Json::object()).value("component", ""),
                    e.value("message", "")});
  }
  if (rows.size() == 1) {
    env.out << "Events:  none\n";
    return;
  }
  env.out << "Events:\n" << formatTable(rows);
}

}  // namespace

int runExplain(Env& env, const Args& args) {
  if (args.positional.size() != 1) {
    env.err << "error: expected exactly one VM name\n";
    return 2;
  }
  const std::string& name = args.positional[0];
  auto json = env.client->get(kube::kVirtualMachine, env.ns, name);
  if (!json.isOk()) {
    return fail(env, json.status().message());
  }
  auto vm = api::virtualMachineFromJson(*json);
  if (!vm.isOk()) {
    return fail(env, vm.status().message());
  }
  const std::string bound = controller::boundHypervisor(*vm);
  const std::string phase =
      vm->status.phase ? std::string(api::toString(*vm->status.phase)) : std::string("(none yet)");
  env.out << "VirtualMachine " << env.ns << "/" << name << "\n";
  env.out << "Phase:       " << phase << "\n";
  env.out << "Requests:    " << vm->spec.resources.cpus << " CPU, "
          << vm->spec.resources.memory.toString() << " memory\n";
  env.out << "Hypervisor:  " << (bound.empty() ? "(not placed)" : bound) << "\n";
  if (vm->spec.placement) {
    const auto& p = *vm->spec.placement;
    if (p.hypervisor) {
      env.out << "Pinned to:   " << *p.hypervisor << "\n";
    }
    for (const auto& [k, v] : p.hypervisorSelector) {
      env.out << "Selector:    " << k << "=" << v << "\n";
    }
    if (p.antiAffinityGroup) {
      env.out << "Anti-affinity group: " << *p.antiAffinityGroup << "\n";
    }
  }
  if (bound.empty()) {
    const api::Condition* scheduled =
        api::findCondition(vm->status.conditions, api::kConditionScheduled);
    env.out << "Why:         "
            << (scheduled != nullptr && !scheduled->message.empty()
                    ? scheduled->reason + ": " + scheduled->message
                    : std::string("the controller has not placed it yet"))
            << "\n";
  } else {
    env.out << "Why:         the controller bound it to " << bound
            << " (status.hypervisor); the node-daemon there runs it\n";
  }
  printConditions(env, *vm);

  auto hv_list = env.client->list(kube::kHypervisor, "", {});
  if (hv_list.isOk()) {
    sched::Scheduler scheduler(sched::SchedulerOptions{});
    const sched::VmRequest request = controller::vmRequest(*vm);
    std::vector<std::vector<std::string>> rows = {{"  HYPERVISOR", "FITS", "REASON"}};
    for (const auto& item : (*hv_list)["items"]) {
      auto hv = api::hypervisorFromJson(item);
      if (!hv.isOk()) {
        continue;
      }
      const bool ready = api::isConditionTrue(hv->status.conditions, api::kConditionReady);
      sched::HypervisorView view = controller::hypervisorView(*hv, ready);
      std::string fits;
      std::string reason;
      if (hv->metadata.name == bound) {
        fits = "bound";
        reason = "runs here";
      } else if (auto rejected = scheduler.filter(request, view)) {
        fits = "no";
        reason = std::string(sched::rejectReasonText(*rejected));
      } else {
        fits = "yes";
        reason = "would fit";
      }
      rows.push_back({"  " + hv->metadata.name, fits, reason});
    }
    env.out << "Hypervisors (scheduler filters; default overcommit where a hypervisor sets none):\n"
            << (rows.size() > 1 ? formatTable(rows) : std::string("  none\n"));
  }
  printEvents(env, name);
  return 0;
}

}  // namespace novacron::kubectl_plugin
