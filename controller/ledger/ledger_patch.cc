#include "controller/ledger/ledger_patch.h"

namespace novacron::controller::ledger {
namespace {

using nlohmann::json;

const json* at(const json& object, const json::json_pointer& pointer) {
  return object.contains(pointer) ? &object.at(pointer) : nullptr;
}

constexpr const char* kLedgerPointer = "/status/allocations";

}  // namespace

std::optional<json> reservationPatch(const json& before, const json& after_status) {
  const json* ledger = at(before, json::json_pointer(kLedgerPointer));
  if (ledger == nullptr || !ledger->is_array() || !after_status.contains("allocations") ||
      !after_status.contains("allocated") ||
      at(before, json::json_pointer("/metadata/annotations")) == nullptr) {
    return std::nullopt;
  }
  json ops = json::array();
  ops.push_back({{"op", "test"}, {"path", kLedgerPointer}, {"value", *ledger}});
  // What the scheduler's filter read (controller/vm/placement_inputs.cc hypervisorView()). All
  // annotations: a fence (novacron.io/fenced) added meanwhile fails the test.
  for (const char* input : {"/metadata/annotations", "/metadata/labels", "/spec",
                            "/status/capacity", "/status/allocatable", "/status/conditions"}) {
    if (const json* value = at(before, json::json_pointer(input))) {
      ops.push_back({{"op", "test"}, {"path", input}, {"value", *value}});
    }
  }
  ops.push_back(
      {{"op", "replace"}, {"path", kLedgerPointer}, {"value", after_status["allocations"]}});
  // `add` sets a member whether or not it is there (RFC 6902 4.1).
  ops.push_back(
      {{"op", "add"}, {"path", "/status/allocated"}, {"value", after_status["allocated"]}});
  return ops;
}

}  // namespace novacron::controller::ledger
