#include "controller/vm/placement_inputs.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "controller/cache/cluster_cache.h"
#include "controller/ledger/ledger_memo.h"
#include "controller/ledger/ledger_status.h"
#include "lib/api/names.h"
#include "lib/api/object_meta.h"

namespace novacron::controller {
namespace {

// How many hypervisors' decoded ledgers the process keeps (a few MB at hundreds of VMs each).
constexpr size_t kLedgerMemoCapacity = 256;

scheduler::Ratio toRatio(double value) {
  return scheduler::Ratio{static_cast<int64_t>(std::llround(value * scheduler::Ratio::kOne))};
}

}  // namespace

std::string vmKey(const api::VirtualMachine& vm) {
  return vm.metadata.namespace_ + "/" + vm.metadata.name;
}

// The process's memo: the hypervisors placement and the reconcilers looked at last.
ledger::LedgerMemo& ledgerMemo() {
  static ledger::LedgerMemo memo(kLedgerMemoCapacity);
  return memo;
}

core::StatusOr<std::shared_ptr<const ledger::Ledger>> sharedLedgerOf(
    const api::Hypervisor& hypervisor) {
  const std::string_view text = ledger::storedLedgerText(hypervisor);
  if (text.empty()) {
    static const auto empty = std::make_shared<const ledger::Ledger>();
    return empty;
  }
  return ledgerMemo().decode(hypervisor.metadata.name, hypervisor.metadata.resourceVersion, text);
}

void rememberLedger(const api::Hypervisor& stored, std::string_view written_text,
                    std::shared_ptr<const ledger::Ledger> ledger) {
  const std::string_view text = ledger::storedLedgerText(stored);
  if (!text.empty() && text == written_text) {
    ledgerMemo().remember(stored.metadata.name, stored.metadata.resourceVersion, text,
                          std::move(ledger));
  }
}

uint64_t ledgerDecodes() {
  return ledgerMemo().decodes();
}

core::StatusOr<ledger::Ledger> ledgerOf(const api::Hypervisor& hypervisor) {
  NOVACRON_ASSIGN_OR_RETURN(auto shared, sharedLedgerOf(hypervisor));
  return ledger::Ledger(*shared);
}

namespace {

// Everything of the view but what the ledger gives.
scheduler::HypervisorView withoutLedger(const api::Hypervisor& hypervisor, bool heartbeat_fresh) {
  scheduler::HypervisorView view;
  view.name = hypervisor.metadata.name;
  view.labels = hypervisor.metadata.labels;
  const api::Condition* ready =
      api::findCondition(hypervisor.status.conditions, api::kConditionReady);
  view.ready = heartbeat_fresh && !isFenced(hypervisor) &&
               (ready == nullptr || ready->status == api::ConditionStatus::kTrue);
  view.unschedulable = hypervisor.spec.unschedulable;
  view.maintenance = hypervisor.spec.maintenance;
  const auto& base =
      hypervisor.status.allocatable ? hypervisor.status.allocatable : hypervisor.status.capacity;
  if (base) {
    view.capacity = scheduler::Resources{base->cpus, base->memory.value()};
  }
  // Disk space likewise: allocatable's, else capacity's; unreported means unchecked.
  for (const auto& side : {hypervisor.status.allocatable, hypervisor.status.capacity}) {
    if (side && side->storage) {
      view.storage_capacity_bytes = side->storage->value();
      break;
    }
  }
  // The node-daemon's allocatable carries no overcommit; the scheduler applies these ratios (or its
  // defaults for unset ones) to it exactly once.
  if (hypervisor.spec.overcommit) {
    if (hypervisor.spec.overcommit->cpu) {
      view.overcommit.cpu = toRatio(*hypervisor.spec.overcommit->cpu);
    }
    if (hypervisor.spec.overcommit->memory) {
      view.overcommit.memory = toRatio(*hypervisor.spec.overcommit->memory);
    }
  }
  return view;
}

}  // namespace

scheduler::HypervisorView hypervisorView(const api::Hypervisor& hypervisor, bool heartbeat_fresh) {
  auto entries = sharedLedgerOf(hypervisor);
  if (!entries.isOk()) {
    scheduler::HypervisorView view = withoutLedger(hypervisor, heartbeat_fresh);
    view.unschedulable = true;
    return view;
  }
  return hypervisorView(hypervisor, **entries, heartbeat_fresh);
}

scheduler::HypervisorView hypervisorView(const api::Hypervisor& hypervisor,
                                         const ledger::Ledger& entries, bool heartbeat_fresh) {
  scheduler::HypervisorView view = withoutLedger(hypervisor, heartbeat_fresh);
  const auto sum = ledger::totals(entries);
  view.allocated = sum.resources;
  view.anti_affinity_groups = ledger::antiAffinityGroups(entries);
  return view;
}

scheduler::VmRequest vmRequest(const api::VirtualMachine& vm) {
  scheduler::VmRequest request;
  request.resources = scheduler::Resources{vm.spec.resources.cpus, vm.spec.resources.memory.value(),
                                           countedDiskBytes(vm.spec)};
  if (vm.spec.placement) {
    request.hypervisor_selector = vm.spec.placement->hypervisorSelector;
    request.anti_affinity_group = vm.spec.placement->antiAffinityGroup.value_or("");
    request.pinned_hypervisor = vm.spec.placement->hypervisor.value_or("");
  }
  return request;
}

int64_t countedDiskBytes(const api::VirtualMachineSpec& spec) {
  int64_t sum = 0;
  for (const auto& disk : spec.disks) {
    if (disk.emptyDisk) {
      sum += std::max<int64_t>(0, disk.emptyDisk->size.value());  // validate(): <= 64Ti each
    }
  }
  return sum;
}

std::string boundHypervisor(const api::VirtualMachine& vm) {
  return vm.status.hypervisor.value_or("");
}

std::string hypervisorLabel(const api::VirtualMachine& vm) {
  auto it = vm.metadata.labels.find(std::string(api::kHypervisorLabel));
  return it == vm.metadata.labels.end() ? std::string() : it->second;
}

ledger::VmFacts vmFacts(const api::VirtualMachine& vm) {
  const auto request = vmRequest(vm);
  ledger::VmFacts facts{vmKey(vm), vm.metadata.uid, boundHypervisor(vm), request.resources,
                        request.anti_affinity_group};
  facts.halted = vm.spec.runStrategy == api::RunStrategy::kHalted;
  return facts;
}

int64_t resourceVersionNumber(const std::string& resource_version) {
  int64_t v = 0;
  const char* end = resource_version.data() + resource_version.size();
  auto [ptr, ec] = std::from_chars(resource_version.data(), end, v);
  return ec == std::errc() && ptr == end ? v : -1;
}

}  // namespace novacron::controller
