#include "controller/ledger/ledger_patch.h"

#include "controller/ledger/ledger.h"

namespace novacron::controller::ledger {
namespace {

using nlohmann::json;

const json* at(const json& object, const json::json_pointer& pointer) {
  return object.contains(pointer) ? &object.at(pointer) : nullptr;
}

// The ledger annotation's pointer and its `test` op; nullopt when there is no annotation.
std::optional<std::string> ledgerTest(const json& before, json& ops) {
  const std::string pointer =
      "/metadata/annotations/" + pointerToken(std::string(kLedgerAnnotation));
  const json* current = at(before, json::json_pointer(pointer));
  if (current == nullptr || !current->is_string()) {
    return std::nullopt;
  }
  ops.push_back({{"op", "test"}, {"path", pointer}, {"value", *current}});
  return pointer;
}

}  // namespace

std::string pointerToken(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<json> reservationPatch(const json& before, const std::string& ledger_text) {
  json ops = json::array();
  auto pointer = ledgerTest(before, ops);
  if (!pointer) {
    return std::nullopt;
  }
  // What the scheduler's filter read (controller/vm/placement_inputs.cc hypervisorView()). All
  // annotations, not just the ledger: a fence (novacron.io/fenced) added meanwhile fails the test.
  for (const char* input : {"/metadata/annotations", "/metadata/labels", "/spec",
                            "/status/capacity", "/status/allocatable", "/status/conditions"}) {
    if (const json* value = at(before, json::json_pointer(input))) {
      ops.push_back({{"op", "test"}, {"path", input}, {"value", *value}});
    }
  }
  ops.push_back({{"op", "replace"}, {"path", *pointer}, {"value", ledger_text}});
  return ops;
}

std::optional<json> summaryPatch(const json& before, const json& allocated) {
  json ops = json::array();
  if (!ledgerTest(before, ops) || at(before, json::json_pointer("/status/allocated")) == nullptr) {
    return std::nullopt;
  }
  ops.push_back({{"op", "replace"}, {"path", "/status/allocated"}, {"value", allocated}});
  return ops;
}

}  // namespace novacron::controller::ledger
