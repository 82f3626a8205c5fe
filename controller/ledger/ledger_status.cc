#include "controller/ledger/ledger_status.h"

#include <string>

namespace novacron::controller::ledger {

std::string_view storedLedgerText(const api::Hypervisor& hypervisor) {
  if (hypervisor.status.allocations) {
    return *hypervisor.status.allocations;
  }
  auto it = hypervisor.metadata.annotations.find(std::string(kLegacyLedgerAnnotation));
  return it == hypervisor.metadata.annotations.end() ? std::string_view() : it->second;
}

bool hasLegacyLedger(const api::Hypervisor& hypervisor) {
  return hypervisor.metadata.annotations.contains(std::string(kLegacyLedgerAnnotation));
}

api::HypervisorAllocated allocatedOf(const Ledger& ledger) {
  const LedgerTotals sum = totals(ledger);
  api::HypervisorAllocated allocated;
  allocated.cpus = static_cast<int32_t>(sum.resources.cpus);
  allocated.memory = api::Quantity::fromBytes(sum.resources.memory_bytes);
  allocated.vms = static_cast<int32_t>(sum.vms);
  if (sum.resources.storage_bytes > 0) {
    allocated.storage = api::Quantity::fromBytes(sum.resources.storage_bytes);
  }
  return allocated;
}

void putLedger(api::HypervisorStatus& status, const Ledger& ledger, nlohmann::json* encoded) {
  if (encoded != nullptr) {
    *encoded = ledgerJson(ledger);
    status.allocations = encoded->dump();
  } else {
    status.allocations = encodeLedger(ledger);
  }
  api::HypervisorAllocated allocated = allocatedOf(ledger);
  if (status.allocated) {
    allocated.unknownFields = status.allocated->unknownFields;  // kept, as on every write
  }
  status.allocated = std::move(allocated);
}

core::Status checkLedgerStored(const api::Hypervisor& stored) {
  if (stored.status.allocations) {
    return core::okStatus();
  }
  return core::failedPreconditionError(
      "hypervisor " + stored.metadata.name +
      ": the API server did not store status.allocations (the capacity ledger): its Hypervisor "
      "CRD is older than this controller; apply the CRDs of this version (crds/) first");
}

}  // namespace novacron::controller::ledger
