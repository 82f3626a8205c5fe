#include "controller/hypervisor/vm_relevance.h"

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

// What the node-daemons and the controller change on a VM that its hypervisor's reconcile does not
// read: no reconcile of a hypervisor with hundreds of VMs for each.
TEST(VmRelevanceTest, LabelsFinalizersAndStatusDetailsDoNotConcernTheHypervisor) {
  const auto vm = boundVm();
  auto labelled = vm;
  labelled.metadata.labels["novacron.io/hypervisor"] = "hv-a";
  labelled.metadata.finalizers.push_back("novacron.io/node-daemon");
  labelled.metadata.resourceVersion = "12";
  EXPECT_FALSE(changesHypervisorFacts(vm, labelled));
  auto observed = vm;
  observed.status.observedGeneration = 3;
  EXPECT_FALSE(changesHypervisorFacts(vm, observed));
}

// Everything its ledger entry or an evacuation depends on does.
TEST(VmRelevanceTest, WhatTheLedgerOrAnEvacuationReadsConcernsTheHypervisor) {
  const auto vm = boundVm();
  std::vector<std::pair<const char*, api::VirtualMachine>> changes;
  auto add = [&](const char* what, auto change) {
    auto next = vm;
    change(next);
    changes.emplace_back(what, next);
  };
  add("binding", [](api::VirtualMachine& v) { v.status.hypervisor = "hv-b"; });
  add("resources", [](api::VirtualMachine& v) { v.spec.resources.cpus = 4; });
  add("runStrategy",
      [](api::VirtualMachine& v) { v.spec.runStrategy = api::RunStrategy::kHalted; });
  add("uid", [](api::VirtualMachine& v) { v.metadata.uid = "u2"; });
  add("activeMigration", [](api::VirtualMachine& v) { v.status.activeMigration = "m1"; });
  add("phase", [](api::VirtualMachine& v) { v.status.phase = api::VirtualMachinePhase::kRunning; });
  add("evictionStrategy",
      [](api::VirtualMachine& v) { v.spec.evictionStrategy = api::EvictionStrategy::kNone; });
  add("stopped by an evacuation", [](api::VirtualMachine& v) {
    v.metadata.annotations[std::string(api::kEvacuationStoppedAnnotation)] = "Always";
  });
  add("deleting", [](api::VirtualMachine& v) { v.metadata.deletionTimestamp = api::Timestamp{}; });
  for (const auto& [what, next] : changes) {
    EXPECT_TRUE(changesHypervisorFacts(vm, next)) << what;
  }
}

}  // namespace
}  // namespace novacron::controller
