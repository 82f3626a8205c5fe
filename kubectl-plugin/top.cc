// top: hypervisor capacity and allocation as a table, from Hypervisor status (node-daemon:
// allocatable; controller: the allocated ledger and Schedulable).
#include <ostream>

#include "kubectl-plugin/commands.h"
#include "kubectl-plugin/format.h"
#include "lib/api/codec.h"
#include "lib/api/hypervisor.h"
#include "lib/api/names.h"

namespace novacron::kubectl_plugin {
namespace {

std::string conditionText(const api::Hypervisor& hv, std::string_view type) {
  const api::Condition* c = api::findCondition(hv.status.conditions, type);
  if (c == nullptr) {
    return "Unknown";
  }
  return std::string(api::toString(c->status));
}

std::string schedulingText(const api::Hypervisor& hv) {
  if (hv.spec.maintenance) {
    return "Maintenance";
  }
  if (hv.spec.unschedulable) {
    return "Cordoned";
  }
  const api::Condition* c = api::findCondition(hv.status.conditions, api::kConditionSchedulable);
  if (c == nullptr) {
    return "Unknown";
  }
  return c->status == api::ConditionStatus::kTrue ? "Schedulable" : "No (" + c->reason + ")";
}

}  // namespace

int runTop(Env& env, const Args& args) {
  (void)args;
  auto list = env.client->list(kube::kHypervisor, "", {});
  if (!list.isOk()) {
    return fail(env, list.status().message());
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "READY", "SCHEDULING", "CPU(ALLOC/AVAIL)",
                                                 "CPU%", "MEMORY(ALLOC/AVAIL)", "MEMORY%", "VMS",
                                                 "MIGRATIONS(IN/OUT)"}};
  int64_t total_cpu = 0, total_cpu_alloc = 0, total_mem = 0, total_mem_alloc = 0, total_vms = 0;
  for (const auto& item : (*list)["items"]) {
    auto hv = api::hypervisorFromJson(item);
    if (!hv.isOk()) {
      env.err << "warning: skipping a Hypervisor: " << hv.status().message() << "\n";
      continue;
    }
    const auto& st = hv->status;
    const auto avail = st.allocatable ? st.allocatable : st.capacity;
    int64_t cpus = avail ? avail->cpus : 0;
    int64_t mem = avail ? avail->memory.value() : 0;
    int64_t cpu_alloc = st.allocated ? st.allocated->cpus : 0;
    int64_t mem_alloc = st.allocated ? st.allocated->memory.value() : 0;
    int64_t vms = st.allocated ? st.allocated->vms : 0;
    total_cpu += cpus;
    total_cpu_alloc += cpu_alloc;
    total_mem += mem;
    total_mem_alloc += mem_alloc;
    total_vms += vms;
    std::string migrations = st.activeMigrations
                                 ? std::to_string(st.activeMigrations->inbound) + "/" +
                                       std::to_string(st.activeMigrations->outbound)
                                 : "0/0";
    rows.push_back({hv->metadata.name, conditionText(*hv, api::kConditionReady),
                    schedulingText(*hv), std::to_string(cpu_alloc) + "/" + std::to_string(cpus),
                    percent(cpu_alloc, cpus),
                    api::formatQuantity(mem_alloc) + "/" + api::formatQuantity(mem),
                    percent(mem_alloc, mem), std::to_string(vms), migrations});
  }
  if (rows.size() == 1) {
    env.out << "No hypervisors found.\n";
    return 0;
  }
  if (rows.size() > 2) {
    rows.push_back({"TOTAL", "", "",
                    std::to_string(total_cpu_alloc) + "/" + std::to_string(total_cpu),
                    percent(total_cpu_alloc, total_cpu),
                    api::formatQuantity(total_mem_alloc) + "/" + api::formatQuantity(total_mem),
                    percent(total_mem_alloc, total_mem), std::to_string(total_vms), ""});
  }
  env.out << formatTable(rows);
  return 0;
}

}  // namespace novacron::kubectl_plugin
