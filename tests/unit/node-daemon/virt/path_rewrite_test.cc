// Rewriting a domain's file paths for a host with other roots (node-daemon/virt/path_rewrite.h).
#include "node-daemon/virt/path_rewrite.h"

#include <gtest/gtest.h>

namespace novacron::node::virt {
namespace {

const std::vector<PathPrefix> kRoots = {{"/run/a/vms", "/run/b/vms"},
                                        {"/run/a/images/", "/run/b/images"}};

TEST(PathRewriteTest, RewritesPathsThatStartAValue) {
  const std::string xml =
      "<domain><os><kernel>/run/a/images/named/k</kernel></os>"
      "<disk><source file='/run/a/vms/ns/vm/uid/disk-root.qcow2'/>"
      "<backingStore><source file=\"/run/a/images/url/abc.qcow2\"/></backingStore></disk>"
      "<serial><source path='/run/a/vms/ns/vm/uid/serial.log'/></serial></domain>";
  auto out = rewritePaths(xml, kRoots);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  EXPECT_EQ(*out,
            "<domain><os><kernel>/run/b/images/named/k</kernel></os>"
            "<disk><source file='/run/b/vms/ns/vm/uid/disk-root.qcow2'/>"
            "<backingStore><source file=\"/run/b/images/url/abc.qcow2\"/></backingStore></disk>"
            "<serial><source path='/run/b/vms/ns/vm/uid/serial.log'/></serial></domain>");
}

TEST(PathRewriteTest, LeavesEverythingElseAlone) {
  const std::string xml = "<x a='/run/a/vmsX/f' b='/other/run/a/vms/f'>/run/a/vms</x>";
  auto out = rewritePaths(xml, kRoots);
  ASSERT_TRUE(out.isOk());
  EXPECT_EQ(*out, xml) << "only whole root components at the start of a value";
  auto same = rewritePaths("<x a='/r/f'/>", {{"/r", "/r"}});
  ASSERT_TRUE(same.isOk());
  EXPECT_EQ(*same, "<x a='/r/f'/>");
}

TEST(PathRewriteTest, RefusesRootsThatCouldEscape) {
  for (const std::string bad : {"relative/root", "/a/../etc", "/a/./b", "/a'/b", "/a<b", ""}) {
    EXPECT_EQ(rewritePaths("<x/>", {{"/run/a", bad}}).status().code(),
              core::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(PathRewriteTest, SinglePath) {
  EXPECT_EQ(rewritePath("/run/a/images/named/base", kRoots), "/run/b/images/named/base");
  EXPECT_EQ(rewritePath("/elsewhere/base", kRoots), "/elsewhere/base");
}

}  // namespace
}  // namespace novacron::node::virt
