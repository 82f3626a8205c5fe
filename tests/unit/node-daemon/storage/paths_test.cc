#include "node-daemon/storage/paths.h"

#include <gtest/gtest.h>

namespace novacron::node::storage {
namespace {

NodePaths paths() {
  return NodePaths("/var/lib/novacron/vms/", "/var/lib/novacron/images");
}

TEST(NodePaths, BuildsTheDocumentedLayout) {
  auto p = paths();
  EXPECT_EQ(p.vmRoot(), "/var/lib/novacron/vms");
  EXPECT_EQ(*p.vmDir("default", "web"), "/var/lib/novacron/vms/default/web");
  EXPECT_EQ(*p.diskPath("default", "web", "root"),
            "/var/lib/novacron/vms/default/web/disk-root.qcow2");
  EXPECT_EQ(*p.seedPath("default", "web", "ci"), "/var/lib/novacron/vms/default/web/seed-ci.iso");
  EXPECT_EQ(*p.serialLogPath("default", "web"), "/var/lib/novacron/vms/default/web/serial.log");
  std::string digest(64, 'a');
  EXPECT_EQ(*p.imageByDigest(digest), "/var/lib/novacron/images/sha256/" + digest);
  EXPECT_EQ(*p.namedImage("debian-12.qcow2"), "/var/lib/novacron/images/named/debian-12.qcow2");
}

TEST(NodePaths, RefusesTraversal) {
  auto p = paths();
  const std::vector<std::string> bads = {"..",   ".",         "",      "a/b", "../../etc",
                                         "/etc", {"a\0b", 3}, "UPPER", "a_b"};
  for (const std::string& bad : bads) {
    EXPECT_EQ(p.vmDir(bad, "web").status().code(), core::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(p.vmDir("default", bad).status().code(), core::StatusCode::kInvalidArgument) << bad;
    EXPECT_FALSE(p.diskPath("default", "web", bad).isOk()) << bad;
    EXPECT_FALSE(p.seedPath("default", "web", bad).isOk()) << bad;
    EXPECT_FALSE(p.namedImage(bad).isOk()) << bad;
  }
  EXPECT_FALSE(p.namedImage("../../../etc/passwd").isOk());
  EXPECT_FALSE(p.namedImage("a/../../b").isOk());
  EXPECT_FALSE(p.imageByDigest("../" + std::string(61, 'a')).isOk());
  EXPECT_FALSE(p.imageByDigest(std::string(64, 'A')).isOk());
  EXPECT_FALSE(p.imageByDigest("abc").isOk());
}

TEST(NodePaths, CheckPathComponent) {
  EXPECT_TRUE(checkPathComponent("disk-1").isOk());
  EXPECT_FALSE(checkPathComponent("..").isOk());
  EXPECT_FALSE(checkPathComponent("a/b").isOk());
  EXPECT_FALSE(checkPathComponent(std::string_view("a\0b", 3)).isOk());
}

TEST(NodePaths, IsUnderVmRoot) {
  auto p = paths();
  EXPECT_TRUE(p.isUnderVmRoot("/var/lib/novacron/vms/default/web"));
  EXPECT_FALSE(p.isUnderVmRoot("/var/lib/novacron/vms"));
  EXPECT_FALSE(p.isUnderVmRoot("/var/lib/novacron/vms/../images"));
  EXPECT_FALSE(p.isUnderVmRoot("/var/lib/novacron/vmsx/a"));
  EXPECT_FALSE(p.isUnderVmRoot("/etc"));
}

}  // namespace
}  // namespace novacron::node::storage
