#include "node-daemon/virt/domain_type.h"

#include <gtest/gtest.h>

namespace novacron::node::virt {
namespace {

HostCapabilities caps(std::vector<std::string> types) {
  HostCapabilities c;
  c.domain_types = std::move(types);
  return c;
}

TEST(ChooseDomainType, PrefersKvmWhenOfferedAndDeviceUsable) {
  EXPECT_EQ(*chooseDomainType(caps({"qemu", "kvm"}), true, "auto"), "kvm");
  EXPECT_EQ(*chooseDomainType(caps({"qemu", "kvm"}), true, ""), "kvm");
}

TEST(ChooseDomainType, FallsBackToTcgWithoutKvmDevice) {
  EXPECT_EQ(*chooseDomainType(caps({"qemu", "kvm"}), false, "auto"), "qemu");
  EXPECT_EQ(*chooseDomainType(caps({"qemu"}), true, "auto"), "qemu");
}

TEST(ChooseDomainType, OverrideWins) {
  EXPECT_EQ(*chooseDomainType(caps({"qemu", "kvm"}), true, "qemu"), "qemu");
  auto forced = chooseDomainType(caps({"qemu"}), true, "kvm");
  ASSERT_FALSE(forced.isOk());
  EXPECT_EQ(forced.status().code(), core::StatusCode::kFailedPrecondition);
}

TEST(ChooseDomainType, RejectsUnknownOverride) {
  auto bad = chooseDomainType(caps({"qemu"}), true, "xen");
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().code(), core::StatusCode::kInvalidArgument);
}

TEST(ChooseDomainType, TestDriver) {
  EXPECT_EQ(*chooseDomainType(caps({"test"}), false, "auto"), "test");
  auto none = chooseDomainType(caps({}), false, "auto");
  EXPECT_FALSE(none.isOk());
}

}  // namespace
}  // namespace novacron::node::virt
