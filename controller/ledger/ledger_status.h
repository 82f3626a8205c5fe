// Where a Hypervisor keeps its capacity ledger (controller/ledger/ledger.h): status.allocations,
// written together with its totals status.allocated; the annotation of older versions is read
// until the hypervisor reconciler moves it.
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "controller/ledger/ledger.h"
#include "lib/api/hypervisor.h"
#include "lib/core/status.h"

namespace novacron::controller::ledger {

// The ledger's text as stored: status.allocations, else the legacy annotation, else empty.
std::string_view storedLedgerText(const api::Hypervisor& hypervisor);

// True while the legacy annotation is still on the object.
bool hasLegacyLedger(const api::Hypervisor& hypervisor);

// status.allocated for `ledger`.
api::HypervisorAllocated allocatedOf(const Ledger& ledger);

// Puts `ledger` into `status`: status.allocations and its totals status.allocated, together.
// `encoded`, when given, receives status.allocations as JSON (the text is its dump()).
void putLedger(api::HypervisorStatus& status, const Ledger& ledger,
               nlohmann::json* encoded = nullptr);

// After a write of the ledger: FailedPrecondition when the stored object has no
// status.allocations, i.e. the API server dropped it because its Hypervisor CRD predates the
// field (the controller upgraded before the CRDs). Placing on such a ledger would overcommit.
core::Status checkLedgerStored(const api::Hypervisor& stored);

}  // namespace novacron::controller::ledger
