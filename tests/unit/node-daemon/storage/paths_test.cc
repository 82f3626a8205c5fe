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
  const std::string uid = "0b6c5a3e-1111-4222-8333-444455556666";
  const std::string dir = "/var/lib/novacron/vms/default/web/" + uid;
  EXPECT_EQ(*p.vmNameDir("default", "web"), "/var/lib/novacron/vms/default/web");
  EXPECT_EQ(*p.vmDir("default", "web", uid), dir);
  EXPECT_EQ(*p.diskPath("default", "web", uid, "root"), dir + "/disk-root.qcow2");
  EXPECT_EQ(*p.seedPath("default", "web", uid, "ci"), dir + "/seed-ci.iso");
  EXPECT_EQ(*p.serialLogPath("default", "web", uid), dir + "/serial.log");
  std::string digest(64, 'a');
  EXPECT_EQ(*p.imageByDigest(digest), "/var/lib/novacron/images/sha256/" + digest);
  EXPECT_EQ(*p.namedImage("debian-12.qcow2"), "/var/lib/novacron/images/named/debian-12.qcow2");
}

TEST(NodePaths, RefusesTraversal) {
  auto p = paths();
  const std::vector<std::string> bads = {"..",   ".",         "",      "a/b", "../../etc",
                                         "/etc", {"a\0b", 3}, "UPPER", "a_b"};
  for (const std::string& bad : bads) {
    EXPECT_EQ(p.vmDir(bad, "web", "u").status().code(), core::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(p.vmDir("default", bad, "u").status().code(), core::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_FALSE(p.diskPath("default", "web", "u", bad).isOk()) << bad;
    EXPECT_FALSE(p.seedPath("default", "web", "u", bad).isOk()) << bad;
    if (bad != "UPPER") {
      EXPECT_FALSE(p.vmDir("default", "web", bad).isOk()) << bad;
    }
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
  EXPECT_TRUE(p.isUnderImageRoot("/var/lib/novacron/images/url/x"));
  EXPECT_FALSE(p.isUnderImageRoot("/var/lib/novacron/images/../vms/x"));
}

}  // namespace
}  // namespace novacron::node::storage
