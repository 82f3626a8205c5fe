// The arguments `kubectl novacron migrate` and `plan` share: what they become in the VMMigration,
// and the message each kind of bad input gets (the command prints it and exits 2).
#include "kubectl-plugin/migration_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/mocks/fake_clock.h"

namespace novacron::kubectl_plugin {
namespace {

using ::testing::HasSubstr;

core::StatusOr<MigrationRequest> parse(const std::vector<std::string>& words) {
  auto args = parseArgs(words, {"auto-converge", "post-copy"});
  EXPECT_TRUE(args.isOk()) << args.status();
  return parseMigrationRequest(*args);
}

std::string errorOf(const std::vector<std::string>& words) {
  auto r = parse(words);
  EXPECT_FALSE(r.isOk());
  if (r.isOk()) {
    return "";
  }
  EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument);
  return std::string(r.status().message());
}

TEST(MigrationRequestTest, EveryFlagReachesTheSpec) {
  auto r = parse({"web", "--to", "node-b", "--mode", "cold", "--name", "m1", "--bandwidth", "100",
                  "--max-downtime", "200", "--auto-converge", "--post-copy", "--compression",
                  "XBZRLE", "--copy-storage", "Always"});
  ASSERT_TRUE(r.isOk()) << r.status();
  const kube::Json obj = migrationObject(*r, "m1", "prod", /*dry_run=*/true);
  EXPECT_EQ(obj["kind"], "VMMigration");
  EXPECT_EQ(obj["metadata"]["name"], "m1");
  EXPECT_EQ(obj["metadata"]["namespace"], "prod");
  const kube::Json& spec = obj["spec"];
  EXPECT_EQ(spec["vmName"], "web");
  EXPECT_EQ(spec["mode"], "Cold");
  EXPECT_EQ(spec["dryRun"], true);
  EXPECT_EQ(spec["targetHypervisor"], "node-b");
  EXPECT_EQ(spec["options"]["bandwidthMiBps"], 100);
  EXPECT_EQ(spec["options"]["maxDowntimeMs"], 200);
  EXPECT_EQ(spec["options"]["autoConverge"], true);
  EXPECT_EQ(spec["options"]["postCopy"]["enabled"], true);
  EXPECT_EQ(spec["options"]["compression"], "XBZRLE");
  EXPECT_EQ(spec["options"]["copyStorage"], "Always");
}

TEST(MigrationRequestTest, DefaultsLeaveOptionalFieldsOut) {
  auto r = parse({"web"});
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(r->mode, "Live");
  const kube::Json spec = migrationObject(*r, "m1", "default", /*dry_run=*/false)["spec"];
  EXPECT_FALSE(spec.contains("dryRun"));
  EXPECT_FALSE(spec.contains("targetHypervisor"));
  EXPECT_FALSE(spec.contains("options"));
}

TEST(MigrationRequestTest, NameIsGivenOrMadeFromTheVmAndTheTime) {
  testing::FakeClock clock;  // wall time 1'800'000'000 s
  auto r = parse({std::string(50, 'v')});
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(migrationName(*r, "-plan-", clock), std::string(40, 'v') + "-plan-1800000000");
  auto named = parse({"web", "--name", "mine"});
  ASSERT_TRUE(named.isOk()) << named.status();
  EXPECT_EQ(migrationName(*named, "-", clock), "mine");
}

TEST(MigrationRequestTest, BadInputGetsAClearError) {
  EXPECT_EQ(errorOf({}), "expected exactly one VM name");
  EXPECT_EQ(errorOf({"web", "db"}), "expected exactly one VM name");
  EXPECT_EQ(errorOf({"web", "--mode", "sideways"}),
            "--mode must be live or cold, not \"sideways\"");
  EXPECT_EQ(errorOf({"web", "--bandwidth", "fast"}),
            "--bandwidth takes a whole number of MiB/s, not \"fast\"");
  EXPECT_THAT(errorOf({"web", "--bandwidth", "100x"}), HasSubstr("not \"100x\""));
  EXPECT_THAT(errorOf({"web", "--bandwidth", "-5"}), HasSubstr("whole number"));
  EXPECT_THAT(errorOf({"web", "--bandwidth="}), HasSubstr("whole number"));
  EXPECT_EQ(errorOf({"web", "--max-downtime", "1.5"}),
            "--max-downtime takes a whole number of milliseconds, not \"1.5\"");
}

}  // namespace
}  // namespace novacron::kubectl_plugin
