// A reservation's write as a JSON patch (RFC 6902) of the Hypervisor's status subresource that
// tests exactly what the decision depends on, instead of a PUT conditional on the Hypervisor's
// resourceVersion. A resourceVersion precondition fails on ANY change of the object — a heartbeat
// condition, another field of the node-daemon — and under a burst of placements those unrelated
// writes turned most reservations into 409s, re-reads and retries (issue 15: 1.8 conflicts per VM
// at 1,000 VMs on 20 hypervisors). The patch fails (kConflict) only when an input of the decision
// changed: the ledger (status.allocations) itself, and every placement input present in the
// object read (annotations, so a fence too; labels, spec, status capacity/allocatable/conditions),
// so the fit re-checked against them still holds when the write lands — two reservations based on
// the same ledger cannot both succeed. It replaces status.allocations and status.allocated
// (its totals) together.
// nullopt when the object read has no status.allocations yet, or no annotations at all: absence
// cannot be tested in RFC 6902, and a fence (novacron.io/fenced) added to an object without
// annotations must still fail the write. The caller then writes the status with the
// resourceVersion precondition (since status.allocated goes with the ledger, few other writes
// touch a Hypervisor during a burst of placements: the node-daemon's status refresh, the
// controller's condition changes).
// Values are tested as they appear in `before`; pass the JSON as read from the server where there
// is one (a re-encoded copy may format a quantity differently, which only costs a retry).
// Thread-safety: pure functions.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

namespace novacron::controller::ledger {

// `after_status`: the status to write (its allocations and allocated are taken).
std::optional<nlohmann::json> reservationPatch(const nlohmann::json& before,
                                               const nlohmann::json& after_status);

}  // namespace novacron::controller::ledger
