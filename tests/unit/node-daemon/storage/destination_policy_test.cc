// DestinationPolicy and ImageUrl: which hosts the image fetcher may reach, and how strictly URLs
// are read (the fetcher and curl must agree on the host).
#include "node-daemon/storage/destination_policy.h"

#include <gtest/gtest.h>

#include "node-daemon/storage/image_url.h"
#include "node-daemon/storage/resolver.h"

namespace novacron::node::storage {
namespace {

IpAddress ip(const std::string& text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a.isOk()) << text;
  return *a;
}

TEST(DestinationPolicy, RefusesEveryNonPublicClassByDefault) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"127.0.0.1", "loopback"},
      {"127.255.0.9", "loopback"},
      {"::1", "loopback"},
      {"169.254.169.254", "link-local"},
      {"fe80::1", "link-local"},
      {"10.1.2.3", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},
      {"fd00::1", "private"},
      {"fc00::5", "private"},
      {"100.64.0.1", "private (CGNAT)"},
      {"100.127.255.254", "private (CGNAT)"},
      {"0.0.0.0", "unspecified"},
      {"::", "unspecified"},
      {"224.0.0.1", "multicast"},
      {"239.1.2.3", "multicast"},
      {"ff02::1", "multicast"},
      {"255.255.255.255", "broadcast"},
      {"240.0.0.1", "reserved"},
      // IPv6 forms that carry an IPv4 address are judged by it.
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:169.254.169.254", "link-local"},
      {"::7f00:1", "loopback"},
      {"64:ff9b::a9fe:a9fe", "link-local"},
  };
  DestinationPolicy policy;
  for (const auto& [addr, cls] : cases) {
    EXPECT_EQ(refusedClass(ip(addr)), cls) << addr;
    auto s = policy.check("h.example", ip(addr));
    EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument) << addr;
    EXPECT_NE(s.message().find(cls), std::string::npos) << s.message();
  }
}

TEST(DestinationPolicy, AllowsPublicUnicast) {
  DestinationPolicy policy;
  for (const char* addr : {"93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1",
                           "100.128.0.1", "::ffff:8.8.8.8"}) {
    EXPECT_EQ(refusedClass(ip(addr)), "") << addr;
    EXPECT_TRUE(policy.check("h.example", ip(addr)).isOk()) << addr;
  }
}

TEST(DestinationPolicy, AllowListOfNetworksAndHosts) {
  auto policy = DestinationPolicy::parse("127.0.0.0/8, 10.0.0.0/8,fd00::/8 ,Images.Internal");
  ASSERT_TRUE(policy.isOk()) << policy.status();
  EXPECT_TRUE(policy->check("x", ip("127.0.0.1")).isOk());
  EXPECT_TRUE(policy->check("x", ip("10.9.9.9")).isOk());
  EXPECT_TRUE(policy->check("x", ip("fd12::1")).isOk());
  EXPECT_TRUE(policy->check("images.internal", ip("192.168.7.7")).isOk());
  EXPECT_FALSE(policy->check("x", ip("192.168.7.7")).isOk());
  EXPECT_FALSE(policy->check("x", ip("169.254.169.254")).isOk());
  EXPECT_FALSE(policy->check("x", ip("::1")).isOk()) << "127.0.0.0/8 does not allow ::1";

  EXPECT_TRUE(DestinationPolicy::parse("").isOk());
  EXPECT_FALSE(DestinationPolicy::parse("10.0.0.0/33").isOk());
  EXPECT_FALSE(DestinationPolicy::parse("not a host!").isOk());
  EXPECT_FALSE(DestinationPolicy::parse("::1/129").isOk());
}

TEST(DestinationPolicy, CidrContains) {
  auto c = *Cidr::parse("172.16.0.0/12");
  EXPECT_TRUE(c.contains(ip("172.20.1.1")));
  EXPECT_FALSE(c.contains(ip("172.32.0.0")));
  EXPECT_FALSE(c.contains(ip("fd00::1")));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(ip("1.2.3.4")));
  EXPECT_TRUE(Cidr::parse("::/0")->contains(ip("2001::1")));
}

TEST(ImageUrl, ParsesAndRebuildsCanonically) {
  auto u = ImageUrl::parse("HTTPS://Images.Example.com/debian/12.qcow2?x=1#frag");
  ASSERT_TRUE(u.isOk()) << u.status();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "images.example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/debian/12.qcow2?x=1");
  EXPECT_EQ(u->toString(), "https://images.example.com:443/debian/12.qcow2?x=1");
  auto v6 = ImageUrl::parse("http://[::1]:8080");
  ASSERT_TRUE(v6.isOk()) << v6.status();
  EXPECT_TRUE(v6->host_is_ip);
  EXPECT_EQ(v6->toString(), "http://[::1]:8080/");
  auto v4 = ImageUrl::parse("http://10.0.0.1/x");
  ASSERT_TRUE(v4.isOk());
  EXPECT_TRUE(v4->host_is_ip);
}

TEST(ImageUrl, RefusesAmbiguousOrHostileForms) {
  for (const char* bad : {"ftp://h/x",          "file:///etc/passwd",
                          "http://user:pw@h/x", "http://h@169.254.169.254/",
                          "http://2130706433/", "http://0x7f.1/",
                          "http://127.1/",      "http://017700000001/",
                          "http://h\\@evil/",   "http://h /x",
                          "http://h/x\n",       "http://[::1/",
                          "http://h:99999/",    "http://h:/",
                          "http://.h/",         "http://h..x/",
                          "http://h_x/",        "http://[127.0.0.1]/",
                          "http:///x",          "http://h\xc3\xa9/"}) {
    auto u = ImageUrl::parse(bad);
    EXPECT_FALSE(u.isOk()) << bad << " parsed as " << (u.isOk() ? u->toString() : "");
    if (!u.isOk()) {
      EXPECT_EQ(u.status().code(), core::StatusCode::kInvalidArgument);
    }
  }
}

TEST(SystemResolver, ReturnsEveryAddressOfAName) {
  // localhost comes from /etc/hosts: no DNS traffic.
  auto addrs = makeSystemResolver()->resolve("localhost");
  ASSERT_TRUE(addrs.isOk()) << addrs.status();
  ASSERT_FALSE(addrs->empty());
  for (const auto& a : *addrs) {
    EXPECT_EQ(refusedClass(a), "loopback") << a.toString();
  }
}

}  // namespace
}  // namespace novacron::node::storage
