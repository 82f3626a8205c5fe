#include "controller/hypervisor/relevance.h"

#include <gtest/gtest.h>

#include "lib/api/names.h"
#include "tests/unit/controller/cluster_objects.h"

namespace novacron::controller {
namespace {

api::VirtualMachine boundVm() {
  auto vm = ctltest::makeVm("default", "web", 2, 2 * ctltest::kGi);
  vm.metadata.uid = "u1";
  vm.status.hypervisor = "hv-a";
  vm.status.phase = api::VirtualMachinePhase::kScheduled;
  return vm;
}

std::vector<std::pair<const char*, api::VirtualMachine>> changesOf(
    const api::VirtualMachine& vm,
    std::vector<std::pair<const char*, std::function<void(api::VirtualMachine&)>>> changes) {
  std::vector<std::pair<const char*, api::VirtualMachine>> out;
  for (const auto& [what, change] : changes) {
    auto next = vm;
    change(next);
    out.emplace_back(what, next);
  }
  return out;
}

// What the node-daemons and the controller change on a VM that its hypervisor's reconcile does not
// read: no reconcile of a hypervisor with hundreds of VMs for each.
TEST(RelevanceTest, LabelsFinalizersAndStatusDetailsDoNotConcernTheHypervisor) {
  const auto vm = boundVm();
  auto labelled = vm;
  labelled.metadata.labels["novacron.io/hypervisor"] = "hv-a";
  labelled.metadata.finalizers.push_back("novacron.io/node-daemon");
  labelled.metadata.resourceVersion = "12";
  EXPECT_EQ(followUpOf(vm, labelled), FollowUp::kNone);
  auto observed = vm;
  observed.status.observedGeneration = 3;
  EXPECT_EQ(followUpOf(vm, observed), FollowUp::kNone);
  // An unbound VM concerns no hypervisor (its reservations are looked after by the VM's own
  // reconcile and by the ledger's recheck).
  auto unbound = vm;
  unbound.status.hypervisor.reset();
  auto resized = unbound;
  resized.spec.resources.cpus = 8;
  EXPECT_EQ(followUpOf(unbound, resized), FollowUp::kNone);
}

// A change of the VM's ledger entry is decided on at once; so is a move (the old hypervisor is the
// caller's kNow: it frees capacity there).
TEST(RelevanceTest, WhatTheLedgerEntryHoldsConcernsTheHypervisorAtOnce) {
  const auto vm = boundVm();
  for (const auto& [what, next] : changesOf(
           vm, {{"moved", [](api::VirtualMachine& v) { v.status.hypervisor = "hv-b"; }},
                {"resources", [](api::VirtualMachine& v) { v.spec.resources.cpus = 4; }},
                {"runStrategy",
                 [](api::VirtualMachine& v) { v.spec.runStrategy = api::RunStrategy::kHalted; }},
                {"uid", [](api::VirtualMachine& v) { v.metadata.uid = "u2"; }},
                {"activeMigration",
                 [](api::VirtualMachine& v) { v.status.activeMigration = "m1"; }}})) {
    EXPECT_EQ(followUpOf(vm, next), FollowUp::kNow) << what;
  }
}

// What only an evacuation looks at, and a binding to the hypervisor placement reserved on, are
// followed up once per burst: the reconcile confirms, it rarely writes.
TEST(RelevanceTest, EvacuationFactsAndAFreshBindingAreFollowedUpSoon) {
  const auto vm = boundVm();
  for (const auto& [what, next] : changesOf(
           vm,
           {{"phase",
             [](api::VirtualMachine& v) { v.status.phase = api::VirtualMachinePhase::kRunning; }},
            {"evictionStrategy",
             [](api::VirtualMachine& v) {
               v.spec.evictionStrategy = api::EvictionStrategy::kNone;
             }},
            {"stopped by an evacuation",
             [](api::VirtualMachine& v) {
               v.metadata.annotations[std::string(api::kEvacuationStoppedAnnotation)] = "Always";
             }},
            {"deleting",
             [](api::VirtualMachine& v) { v.metadata.deletionTimestamp = api::Timestamp{}; }}})) {
    EXPECT_EQ(followUpOf(vm, next), FollowUp::kSoon) << what;
  }
  auto unbound = vm;
  unbound.status.hypervisor.reset();
  EXPECT_EQ(followUpOf(unbound, vm), FollowUp::kSoon) << "bound where it was reserved";
  auto grown = vm;
  grown.spec.resources.cpus = 16;
  EXPECT_EQ(followUpOf(unbound, grown), FollowUp::kNow)
      << "bound with other resources than were reserved";
}

api::Hypervisor hypervisor() {
  auto hv = ctltest::makeHypervisor("hv-a", 16, 64 * ctltest::kGi);
  hv.metadata.resourceVersion = "10";
  hv.metadata.unknownFields.emplace("managedFields", R"([{"manager":"a","time":"t1"}])");
  hv.status.allocations = R"([{"vm":"default/a","uid":"u1","cpus":1,"memoryBytes":1}])";
  hv.status.allocated = api::HypervisorAllocated{};
  hv.status.allocated->cpus = 1;
  return hv;
}

// A reservation or release the controller wrote changes only the ledger and its totals: the
// hypervisor's reconcile confirms it once per burst, not once per VM.
TEST(RelevanceTest, AHypervisorWhoseLedgerAloneChangedIsFollowedUpSoon) {
  const auto hv = hypervisor();
  auto reserved = hv;
  reserved.metadata.resourceVersion = "11";
  reserved.metadata.unknownFields = {};
  reserved.metadata.unknownFields.emplace("managedFields", R"([{"manager":"a","time":"t2"}])");
  reserved.status.allocations =
      R"([{"vm":"default/a","uid":"u1","cpus":1,"memoryBytes":1},{"vm":"default/b","uid":"u2","cpus":1,"memoryBytes":1}])";
  reserved.status.allocated->cpus = 2;
  EXPECT_EQ(followUpOf(hv, reserved), FollowUp::kSoon);
  EXPECT_EQ(followUpOf(hv, hv), FollowUp::kSoon) << "a relist's copy";
}

// Everything else the reconcile decides on: at once.
TEST(RelevanceTest, AnyOtherChangeOfAHypervisorIsFollowedUpAtOnce) {
  const auto hv = hypervisor();
  std::vector<std::pair<const char*, std::function<void(api::Hypervisor&)>>> changes = {
      {"spec", [](api::Hypervisor& h) { h.spec.unschedulable = true; }},
      {"label", [](api::Hypervisor& h) { h.metadata.labels["zone"] = "b"; }},
      {"annotation",
       [](api::Hypervisor& h) {
         h.metadata.annotations[std::string(api::kFencedAnnotation)] = "true";
       }},
      {"deleting", [](api::Hypervisor& h) { h.metadata.deletionTimestamp = api::Timestamp{}; }},
      {"heartbeat", [](api::Hypervisor& h) { h.status.lastHeartbeatTime = api::Timestamp{}; }},
      {"allocatable",
       [](api::Hypervisor& h) { h.status.allocatable = api::HypervisorResources{}; }},
      {"unknown status field",
       [](api::Hypervisor& h) { h.status.unknownFields.emplace("future", "1"); }},
      {"ledger and a condition",
       [](api::Hypervisor& h) {
         h.status.allocations = "[]";
         h.status.conditions.push_back(api::Condition{});
       }},
  };
  for (const auto& [what, change] : changes) {
    auto next = hv;
    change(next);
    EXPECT_EQ(followUpOf(hv, next), FollowUp::kNow) << what;
  }
}

}  // namespace
}  // namespace novacron::controller
