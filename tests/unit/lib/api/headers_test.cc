// Every public header of lib/api compiles on its own and the basic names are what other
// components rely on.
#include <gtest/gtest.h>

#include "lib/api/codec.h"
#include "lib/api/hypervisor.h"
#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "lib/api/quantity.h"
#include "lib/api/validation.h"
#include "lib/api/virtual_machine.h"
#include "lib/api/vm_migration.h"

namespace novacron::api {
namespace {

TEST(ApiNamesTest, EnumsRoundTrip) {
  EXPECT_EQ(toString(VirtualMachinePhase::kRunning), "Running");
  EXPECT_EQ(fromString<VirtualMachinePhase>("Migrating"), VirtualMachinePhase::kMigrating);
  EXPECT_EQ(fromString<VirtualMachinePhase>("running"), std::nullopt);
  EXPECT_EQ(enumValues<RunStrategy>().size(), 5u);
  EXPECT_EQ(kApiVersion, "novacron.io/v1alpha1");
}

}  // namespace
}  // namespace novacron::api
