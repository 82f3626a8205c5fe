// Each rule's hand-written scan (lib/api/pattern_scans.h) accepts exactly what its pattern does:
// checked with std::regex on hand-picked strings and on random ones built from the characters the
// patterns care about.
#include "lib/api/pattern_scans.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lib/api/schema_rules.h"

namespace novacron::api {
namespace {

struct Named {
  const char* name;
  const StringRule* rule;
};

std::vector<Named> scannedRules() {
  return {{"dns1123Label", &rules::kDns1123Label},
          {"dns1123Subdomain", &rules::kDns1123Subdomain},
          {"hypervisorName", &rules::kHypervisorName},
          {"qualifiedNamePart", &rules::kQualifiedNamePart},
          {"labelValue", &rules::kLabelValue},
          {"cpuModel", &rules::kCpuModel},
          {"cpuFeature", &rules::kCpuFeature},
          {"imageUrl", &rules::kImageUrl},
          {"sha256", &rules::kSha256},
          {"kernelCmdline", &rules::kKernelCmdline},
          {"bridgeName", &rules::kBridgeName},
          {"macAddress", &rules::kMacAddress},
          {"ipAddress", &rules::kIpAddress},
          {"uuid", &rules::kUuid},
          {"hostPort", &rules::kHostPort},
          {"freeText", &rules::kFreeText},
          {"conditionType", &rules::kConditionType},
          {"conditionReason", &rules::kConditionReason},
          {"quantity", &rules::kQuantity}};
}

void expectAgree(const Named& r, const std::string& value) {
  ASSERT_NE(r.rule->scan, nullptr) << r.name;
  EXPECT_EQ(r.rule->scan(value), matchesPattern(r.rule->pattern, value))
      << r.name << " on \"" << value << "\" (pattern " << r.rule->pattern << ")";
}

TEST(PatternScansTest, EveryPatternedRuleHasAScan) {
  for (const auto& r : scannedRules()) {
    EXPECT_FALSE(r.rule->pattern.empty()) << r.name;
    EXPECT_NE(r.rule->scan, nullptr) << r.name;
  }
  EXPECT_EQ(rules::kCloudInitData.scan, nullptr);  // no pattern: nothing to scan
}

TEST(PatternScansTest, ScansAgreeWithThePatternsOnEdgeCases) {
  const std::vector<std::string> corpus = {"",
                                           "a",
                                           "A",
                                           "0",
                                           "-",
                                           ".",
                                           "_",
                                           "a-",
                                           "-a",
                                           "a.b",
                                           "a..b",
                                           ".a",
                                           "a.",
                                           "a_b",
                                           "a b",
                                           "web-1",
                                           "node-1.rack-2",
                                           "Ready",
                                           "example.com/Ready",
                                           "a/b/c",
                                           "/Ready",
                                           "example.com/",
                                           "Bad Reason",
                                           "Reason:",
                                           "Reason,x",
                                           "R_",
                                           "R,",
                                           "a,b:c_9",
                                           "image:debian-12",
                                           "image:",
                                           "image:a..b",
                                           "image:A",
                                           "https://x",
                                           "http://",
                                           "https://",
                                           "http://x y",
                                           "http://x<y",
                                           "http://x\x7f",
                                           "https://images.example.com/x.qcow2?a=b&c",
                                           "ftp://x",
                                           "HTTP://x",
                                           "http://\xc3\xa9",
                                           "52:54:00:00:00:01",
                                           "52:54:00:00:00:0g",
                                           "52-54-00-00-00-01",
                                           "52:54:00:00:00:001",
                                           "192.0.2.1",
                                           "::1",
                                           "fe80::1%eth0",
                                           "g",
                                           "[::1]:80",
                                           "host:6443",
                                           "6a1f0c1e-2b3c-4d5e-8f90-a1b2c3d4e5f6",
                                           "6A1F0C1E-2B3C-4D5E-8F90-A1B2C3D4E5F6",
                                           "6a1f0c1e2b3c-4d5e-8f90-a1b2c3d4e5f6-",
                                           std::string(64, 'a'),
                                           std::string(64, 'A'),
                                           std::string(63, 'a'),
                                           std::string(65, 'f'),
                                           std::string("a\0b", 3),
                                           "a\nb",
                                           "a\tb",
                                           "caf\xc3\xa9",
                                           "\x7f",
                                           "console=ttyS0 quiet",
                                           "1",
                                           "1Gi",
                                           "1.5Gi",
                                           "1.",
                                           ".5",
                                           ".",
                                           "+1",
                                           "++1",
                                           "-1",
                                           "1e3",
                                           "1E3",
                                           "1e+3",
                                           "1e",
                                           "1E",
                                           "1Ei",
                                           "1Ki",
                                           "1k",
                                           "1K",
                                           "1m",
                                           "100m",
                                           "10Xi",
                                           "1e3i",
                                           "1.5e+10",
                                           "0.",
                                           "+.5M",
                                           "1 Gi"};
  for (const auto& r : scannedRules()) {
    for (const auto& value : corpus) {
      expectAgree(r, value);
    }
  }
}

// Random strings over the characters the patterns distinguish, short enough to hit every branch.
TEST(PatternScansTest, ScansAgreeWithThePatternsOnRandomStrings) {
  const std::string alphabet = std::string("aAzZ09fFgxeEiKkMm-_.,:/+[]<>\"'\\{}|^` ") +
                               std::string("\0\x01\x1f\x20\x7f\x80\xc3\xff", 8);
  std::mt19937 rng(20261203);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> length(0, 12);
  const std::vector<std::string> prefixes = {"", "image:", "http://", "https://", "a/", "1"};
  std::uniform_int_distribution<std::size_t> prefix(0, prefixes.size() - 1);
  for (int i = 0; i < 20000; ++i) {
    std::string value = prefixes[prefix(rng)];
    for (int n = length(rng); n > 0; --n) {
      value += alphabet[pick(rng)];
    }
    for (const auto& r : scannedRules()) {
      expectAgree(r, value);
    }
  }
  // Fixed-shape rules are rarely hit by chance: mutate valid values one character at a time.
  const std::vector<std::pair<const StringRule*, std::string>> shaped = {
      {&rules::kUuid, "6a1f0c1e-2b3c-4d5e-8f90-a1b2c3d4e5f6"},
      {&rules::kMacAddress, "52:54:00:ab:CD:01"},
      {&rules::kSha256, std::string(32, 'a') + std::string(32, '0')}};
  for (const auto& [rule, valid] : shaped) {
    EXPECT_TRUE(rule->scan(valid)) << valid;
    for (std::size_t at = 0; at < valid.size(); ++at) {
      for (char c : alphabet) {
        std::string v = valid;
        v[at] = c;
        EXPECT_EQ(rule->scan(v), matchesPattern(rule->pattern, v)) << v;
      }
    }
  }
}

}  // namespace
}  // namespace novacron::api
