// The ledger's writes as JSON patches (RFC 6902) that test exactly what they depend on, instead of
// PUTs conditional on the Hypervisor's resourceVersion. A resourceVersion precondition fails on
// ANY change of the object — a heartbeat condition, the status.allocated summary, another field
// of the node-daemon — and under a burst of placements those unrelated writes turned most
// reservations into 409s, re-reads and retries (issue 15: 1.8 conflicts per VM at 1,000 VMs on 20
// hypervisors). These patches fail (kConflict) only when an input of the decision changed:
//   reservationPatch: the ledger text itself, and every placement input present in the object
//     read (annotations, so a fence too; labels, spec, status capacity/allocatable/conditions), so
//     the fit re-checked against them still holds when the write lands — two reservations based on
//     the same ledger cannot both succeed, as before.
//   summaryPatch: the ledger text the summary status.allocated was computed from.
// Both return nullopt when the object has no ledger annotation yet (absence cannot be tested in
// RFC 6902): the caller then writes with the resourceVersion precondition, as before.
// Values are tested as they appear in `before`; pass the JSON as read from the server where there
// is one (a re-encoded copy may format a quantity differently, which only costs a retry).
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace novacron::controller::ledger {

// "novacron.io/allocations" -> "novacron.io~1allocations" (RFC 6901).
std::string pointerToken(std::string_view key);

std::optional<nlohmann::json> reservationPatch(const nlohmann::json& before,
                                               const std::string& ledger_text);

std::optional<nlohmann::json> summaryPatch(const nlohmann::json& before,
                                           const nlohmann::json& allocated);

}  // namespace novacron::controller::ledger
