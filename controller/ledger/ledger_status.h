// Where a Hypervisor keeps its capacity ledger (controller/ledger/ledger.h): status.allocations,
// written together with its totals status.allocated; the annotation of older versions is read
// until the hypervisor reconciler moves it.
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "controller/ledger/ledger.h"
#include "lib/api/hypervisor.h"

namespace novacron::controller::ledger {

// The ledger's text as stored: status.allocations, else the legacy annotation, else empty.
std::string_view storedLedgerText(const api::Hypervisor& hypervisor);

// True while the legacy annotation is still on the object.
bool hasLegacyLedger(const api::Hypervisor& hypervisor);

// status.allocated for `ledger`.
api::HypervisorAllocated allocatedOf(const Ledger& ledger);

// Puts `ledger` into `status`: status.allocations and its totals status.allocated, together.
void putLedger(api::HypervisorStatus& status, const Ledger& ledger);

}  // namespace novacron::controller::ledger
