#include "controller/ledger/ledger.h"

#include <nlohmann/json.hpp>

namespace novacron::controller::ledger {

std::string encodeLedger(const Ledger& ledger) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [key, entry] : ledger) {
    nlohmann::json item = {{"uid", entry.uid},
                           {"cpus", entry.resources.cpus},
                           {"memory", entry.resources.memory_bytes}};
    if (entry.resources.storage_bytes > 0) {
      item["storage"] = entry.resources.storage_bytes;
    }
    if (!entry.anti_affinity_group.empty()) {
      item["group"] = entry.anti_affinity_group;
    }
    json[key] = std::move(item);
  }
  return json.dump();
}

core::StatusOr<Ledger> decodeLedger(std::string_view text) {
  Ledger ledger;
  if (text.empty()) {
    return ledger;
  }
  try {
    const nlohmann::json json = nlohmann::json::parse(text);
    if (!json.is_object()) {
      return core::invalidArgumentError(std::string(kLedgerAnnotation) + ": not a JSON object");
    }
    for (const auto& [key, item] : json.items()) {
      if (!item.is_object() || !item.contains("uid") || !item["uid"].is_string() ||
          !item.contains("cpus") || !item["cpus"].is_number_integer() || !item.contains("memory") ||
          !item["memory"].is_number_integer()) {
        return core::invalidArgumentError(std::string(kLedgerAnnotation) + ": entry " + key +
                                          " needs string uid and integer cpus, memory");
      }
      LedgerEntry entry;
      entry.uid = item["uid"].get<std::string>();
      entry.resources.cpus = item["cpus"].get<int64_t>();
      entry.resources.memory_bytes = item["memory"].get<int64_t>();
      if (item.contains("storage")) {
        // Optional: ledgers written before disk space was counted have none.
        if (!item["storage"].is_number_integer()) {
          return core::invalidArgumentError(std::string(kLedgerAnnotation) + ": entry " + key +
                                            ": storage must be an integer");
        }
        entry.resources.storage_bytes = item["storage"].get<int64_t>();
      }
      if (item.contains("group") && item["group"].is_string()) {
        entry.anti_affinity_group = item["group"].get<std::string>();
      }
      ledger.emplace(key, std::move(entry));
    }
  } catch (const nlohmann::json::exception& e) {
    return core::invalidArgumentError(std::string(kLedgerAnnotation) + ": " + e.what());
  }
  return ledger;
}

LedgerTotals totals(const Ledger& ledger) {
  LedgerTotals sum;
  for (const auto& [key, entry] : ledger) {
    sum.resources.cpus += entry.resources.cpus;
    sum.resources.memory_bytes += entry.resources.memory_bytes;
    sum.resources.storage_bytes += entry.resources.storage_bytes;
    ++sum.vms;
  }
  return sum;
}

std::vector<std::string> antiAffinityGroups(const Ledger& ledger) {
  std::vector<std::string> groups;
  for (const auto& [key, entry] : ledger) {
    if (!entry.anti_affinity_group.empty()) {
      groups.push_back(entry.anti_affinity_group);
    }
  }
  return groups;
}

LedgerEntry entryFor(const VmFacts& vm) {
  return LedgerEntry{vm.uid, vm.resources, vm.anti_affinity_group};
}

LedgerPlan planLedger(std::string_view hypervisor, const Ledger& current,
                      const std::vector<VmFacts>& bound, const VmLookup& lookup,
                      bool accept_reservations) {
  LedgerPlan plan;
  for (const VmFacts& vm : bound) {
    if (vm.bound_to == hypervisor) {
      plan.desired[vm.key] = entryFor(vm);
    }
  }
  for (const auto& [key, entry] : current) {
    if (plan.desired.contains(key)) {
      continue;
    }
    const std::optional<VmFacts> cached = lookup(key);
    const bool pending =
        cached && cached->uid == entry.uid &&
        ((cached->bound_to.empty() && !cached->halted) || cached->migratingTo(hypervisor));
    if (!(pending && accept_reservations)) {
      plan.to_confirm.push_back(key);
    }
    plan.desired[key] = entry;  // kept until confirmed or bound
  }
  return plan;
}

void confirmRemoval(std::string_view hypervisor, Ledger& desired, const std::string& key,
                    const std::optional<VmFacts>& live, bool accept_reservations) {
  auto it = desired.find(key);
  if (it == desired.end()) {
    return;
  }
  if (!live || live->uid != it->second.uid) {
    desired.erase(it);  // the VM is gone (or was recreated: the new one is not bound here)
    return;
  }
  if (live->bound_to == hypervisor) {
    it->second = entryFor(*live);
    return;
  }
  if (live->bound_to.empty() && !live->halted && accept_reservations) {
    return;  // a reservation in flight: the binding will complete here
  }
  if (live->migratingTo(hypervisor) && accept_reservations) {
    return;  // a migration's reservation: the binding moves here when it succeeds
  }
  desired.erase(it);  // bound elsewhere, or a reservation on a fenced hypervisor
}

}  // namespace novacron::controller::ledger
