#include "controller/hypervisor/relevance.h"

#include "controller/evacuation/evacuator.h"
#include "controller/vm/placement_inputs.h"

namespace novacron::controller {
namespace {

// The metadata a write always changes.
bool sameMetadataButVersion(const api::ObjectMeta& before, const api::ObjectMeta& after) {
  api::ObjectMeta a = before;
  a.resourceVersion = after.resourceVersion;
  if (a == after) {
    return true;
  }
  // managedFields (kept among the unknown fields) records when each manager last wrote.
  auto others = [](const api::UnknownFields& fields) {
    api::UnknownFields kept;
    for (const auto& [name, value] : fields.fields()) {
      if (name != "managedFields") {
        kept.emplace(name, value);
      }
    }
    return kept;
  };
  a.unknownFields = others(a.unknownFields);
  api::ObjectMeta b = after;
  b.unknownFields = others(b.unknownFields);
  return a == b;
}

}  // namespace

FollowUp followUpOf(const api::VirtualMachine& before, const api::VirtualMachine& after) {
  const std::string was = boundHypervisor(before);
  const std::string is = boundHypervisor(after);
  if (is.empty()) {
    return FollowUp::kNone;
  }
  auto facts_before = vmFacts(before);
  const auto facts_after = vmFacts(after);
  if (was.empty()) {
    // Just bound: placement reserved the entry on `is` before it bound the VM. Anything else that
    // changed with the binding (resources, uid) is not what was reserved: at once.
    facts_before.bound_to = facts_after.bound_to;
    return facts_before == facts_after &&
                   before.status.activeMigration == after.status.activeMigration
               ? FollowUp::kSoon
               : FollowUp::kNow;
  }
  if (facts_before != facts_after ||
      before.status.activeMigration != after.status.activeMigration) {
    return FollowUp::kNow;
  }
  return evacuation::vmFacts(before) != evacuation::vmFacts(after) ? FollowUp::kSoon
                                                                   : FollowUp::kNone;
}

FollowUp followUpOf(const api::Hypervisor& before, const api::Hypervisor& after) {
  if (before.spec != after.spec || before.unknownFields != after.unknownFields ||
      !sameMetadataButVersion(before.metadata, after.metadata)) {
    return FollowUp::kNow;
  }
  if (before.status == after.status) {
    return FollowUp::kSoon;  // nothing this reconcile reads changed
  }
  api::HypervisorStatus a = before.status;
  a.allocations = after.status.allocations;
  a.allocated = after.status.allocated;
  return a == after.status ? FollowUp::kSoon : FollowUp::kNow;
}

}  // namespace novacron::controller
