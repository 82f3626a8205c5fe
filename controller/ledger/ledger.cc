#include "controller/ledger/ledger.h"

#include <nlohmann/json.hpp>

namespace novacron::controller::ledger {

std::string encodeLedger(const Ledger& ledger) {
  return ledgerJson(ledger).dump();
}

nlohmann::json ledgerJson(const Ledger& ledger) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [key, entry] : ledger) {  // sorted by key: one text per ledger
    nlohmann::json item = {{"vm", key},
                           {"uid", entry.uid},
                           {"cpus", entry.resources.cpus},
                           {"memoryBytes", entry.resources.memory_bytes}};
    if (entry.resources.storage_bytes > 0) {
      item["storageBytes"] = entry.resources.storage_bytes;
    }
    if (!entry.anti_affinity_group.empty()) {
      item["antiAffinityGroup"] = entry.anti_affinity_group;
    }
    list.push_back(std::move(item));
  }
  return list;
}

namespace {

// The names of an entry's members: status.allocations, and the legacy annotation's.
struct EntryNames {
  const char* memory;
  const char* storage;
  const char* group;
};
constexpr EntryNames kStatusNames{"memoryBytes", "storageBytes", "antiAffinityGroup"};
constexpr EntryNames kAnnotationNames{"memory", "storage", "group"};

core::Status decodeEntry(const std::string& key, const nlohmann::json& item,
                         const EntryNames& names, Ledger& ledger) {
  auto integer = [&item](const char* name) {
    return item.contains(name) && item[name].is_number_integer();
  };
  if (!item.is_object() || !item.contains("uid") || !item["uid"].is_string() || !integer("cpus") ||
      !integer(names.memory)) {
    return core::invalidArgumentError("ledger entry " + key +
                                      " needs string uid and integer cpus, " + names.memory);
  }
  LedgerEntry entry;
  entry.uid = item["uid"].get<std::string>();
  entry.resources.cpus = item["cpus"].get<int64_t>();
  entry.resources.memory_bytes = item[names.memory].get<int64_t>();
  if (item.contains(names.storage)) {
    // Optional: ledgers written before disk space was counted have none.
    if (!integer(names.storage)) {
      return core::invalidArgumentError("ledger entry " + key + ": " + names.storage +
                                        " must be an integer");
    }
    entry.resources.storage_bytes = item[names.storage].get<int64_t>();
  }
  if (item.contains(names.group) && item[names.group].is_string()) {
    entry.anti_affinity_group = item[names.group].get<std::string>();
  }
  if (!ledger.emplace(key, std::move(entry)).second) {
    return core::invalidArgumentError("ledger: VM " + key + " has two entries");
  }
  return core::okStatus();
}

}  // namespace

core::StatusOr<Ledger> decodeLedger(std::string_view text) {
  Ledger ledger;
  if (text.empty()) {
    return ledger;
  }
  try {
    const nlohmann::json json = nlohmann::json::parse(text);
    if (json.is_array()) {
      for (const auto& item : json) {
        if (!item.is_object() || !item.contains("vm") || !item["vm"].is_string()) {
          return core::invalidArgumentError("ledger: every entry needs a string vm");
        }
        NOVACRON_RETURN_IF_ERROR(
            decodeEntry(item["vm"].get<std::string>(), item, kStatusNames, ledger));
      }
    } else if (json.is_object()) {
      for (const auto& [key, item] : json.items()) {
        NOVACRON_RETURN_IF_ERROR(decodeEntry(key, item, kAnnotationNames, ledger));
      }
    } else {
      return core::invalidArgumentError("ledger: neither a list nor a legacy annotation object");
    }
  } catch (const nlohmann::json::exception& e) {
    return core::invalidArgumentError(std::string("ledger: ") + e.what());
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
