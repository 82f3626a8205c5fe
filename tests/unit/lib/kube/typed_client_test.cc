// TypedClient over the FakeClient with the repository's sample objects: encode, decode, status
// writes, conflicts, and that the resource constants agree with lib/api's names.
#include "lib/kube/typed_client.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "lib/api/names.h"
#include "lib/core/check.h"
#include "tests/mocks/mock_kube_client.h"

namespace novacron::kube {
namespace {

api::VirtualMachine sampleVm() {
  const char* root = std::getenv("NOVACRON_SOURCE_DIR");
  std::ifstream in(std::string(root ? root : ".") +
                   "/config/samples/virtualmachine_kernelboot.yaml");
  std::stringstream text;
  text << in.rdbuf();
  auto json = api::yamlToJson(text.str());
  NOVACRON_CHECK(json.isOk(), json.status().toString());
  auto vm = api::virtualMachineFromJson(*json);
  NOVACRON_CHECK(vm.isOk(), vm.status().toString());
  if (vm->metadata.namespace_.empty()) {
    vm->metadata.namespace_ = "default";
  }
  return *vm;
}

TEST(TypedClientTest, ResourceConstantsMatchApiNames) {
  EXPECT_EQ(kVirtualMachine.group, api::kGroup);
  EXPECT_EQ(kVirtualMachine.version, api::kVersion);
  EXPECT_EQ(kVirtualMachine.apiVersion(), api::kApiVersion);
  EXPECT_EQ(kVirtualMachine.plural, api::kVirtualMachinePlural);
  EXPECT_EQ(kVirtualMachine.kind, api::kVirtualMachineKind);
  EXPECT_EQ(kVMMigration.plural, api::kVMMigrationPlural);
  EXPECT_EQ(kVMMigration.kind, api::kVMMigrationKind);
  EXPECT_EQ(kHypervisor.plural, api::kHypervisorPlural);
  EXPECT_EQ(kHypervisor.kind, api::kHypervisorKind);
  EXPECT_FALSE(kHypervisor.namespaced);
}

TEST(TypedClientTest, RoundTripAndStatus) {
  auto fake = std::make_shared<testing::FakeClient>();
  VirtualMachineClient vms(fake);
  api::VirtualMachine vm = sampleVm();
  auto created = vms.create(vm);
  ASSERT_TRUE(created.isOk()) << created.status();
  EXPECT_FALSE(created->metadata.resourceVersion.empty());
  EXPECT_EQ(created->spec, vm.spec);

  auto got = vms.get(vm.metadata.namespace_, vm.metadata.name);
  ASSERT_TRUE(got.isOk()) << got.status();
  EXPECT_EQ(*got, *created);

  api::VirtualMachine with_status = *got;
  with_status.status.observedGeneration = with_status.metadata.generation;
  auto written = vms.updateStatus(with_status);
  ASSERT_TRUE(written.isOk()) << written.status();
  EXPECT_EQ(written->status.observedGeneration, with_status.metadata.generation);
  EXPECT_NE(written->metadata.resourceVersion, got->metadata.resourceVersion);

  // The old copy is stale now.
  EXPECT_EQ(vms.update(*got).status().code(), core::StatusCode::kConflict);

  auto list = vms.list("");
  ASSERT_TRUE(list.isOk()) << list.status();
  ASSERT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->items[0], *written);
  EXPECT_EQ(list->resource_version, written->metadata.resourceVersion);

  ASSERT_TRUE(vms.remove(vm.metadata.namespace_, vm.metadata.name).isOk());
  EXPECT_EQ(vms.get(vm.metadata.namespace_, vm.metadata.name).status().code(),
            core::StatusCode::kNotFound);
}

TEST(TypedClientTest, UndecodableAnswerNamesTheObject) {
  auto fake = std::make_shared<testing::FakeClient>();
  Json bad = {{"metadata", {{"name", "broken"}, {"namespace", "ns"}}},
              {"spec", {{"resources", {{"cpus", "many"}}}}}};
  ASSERT_TRUE(fake->create(kVirtualMachine, "ns", bad).isOk());
  VirtualMachineClient vms(fake);
  auto got = vms.get("ns", "broken");
  EXPECT_EQ(got.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(got.status().message().find("ns/broken"), std::string::npos) << got.status();
}

}  // namespace
}  // namespace novacron::kube
