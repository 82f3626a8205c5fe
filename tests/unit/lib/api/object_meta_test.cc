// Timestamps, condition helpers and enum names.
#include "lib/api/object_meta.h"

#include <gtest/gtest.h>

#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "tests/unit/lib/api/fixtures.h"

namespace novacron::api {
namespace {

TEST(TimestampTest, FormatsAndParsesRfc3339) {
  const Timestamp t = testing::at(5);
  EXPECT_EQ(formatTimestamp(t), "2026-11-21T23:00:05Z");
  EXPECT_EQ(parseTimestamp("2026-11-21T23:00:05Z"), t);
  EXPECT_EQ(parseTimestamp("2026-11-21t23:00:05z"), t);
  EXPECT_EQ(parseTimestamp("2026-11-21T23:00:05.999999Z"), t);  // truncated to seconds
  EXPECT_EQ(parseTimestamp("2026-11-22T01:00:05+02:00"), t);
  EXPECT_EQ(parseTimestamp("2026-11-21T20:30:05-02:30"), t);
  EXPECT_EQ(formatTimestamp(Timestamp{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(toTimestamp(std::chrono::system_clock::time_point(std::chrono::milliseconds(1500))),
            Timestamp(std::chrono::seconds(1)));
}

TEST(TimestampTest, RejectsMalformedTimes) {
  for (const char* bad :
       {"", "2026-11-21", "2026-11-21T23:00:05", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
        "2026-11-21T24:00:00Z", "2026-11-21T23:60:00Z", "2026-11-21T23:00:05.Z",
        "2026-11-21T23:00:05+2:00", "2026-11-21T23:00:05Zjunk", "yesterday", "2026-11-21 23:00:05Z",
        "+2026-11-21T23:00:05Z"}) {
    EXPECT_FALSE(parseTimestamp(bad).has_value()) << bad;
  }
}

TEST(ConditionTest, SetConditionChangesTransitionTimeOnlyOnStatusChange) {
  std::vector<Condition> conditions;
  Condition ready;
  ready.type = std::string(kConditionReady);
  ready.status = ConditionStatus::kFalse;
  ready.reason = "Starting";
  EXPECT_TRUE(setCondition(conditions, ready, testing::at(1)));
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0].lastTransitionTime, testing::at(1));

  // Same condition again: nothing changes, so a reconciler can skip the write.
  EXPECT_FALSE(setCondition(conditions, ready, testing::at(2)));
  EXPECT_EQ(conditions[0].lastTransitionTime, testing::at(1));

  // New reason, same status: updated, but the transition time stays.
  ready.reason = "ImageDownloading";
  EXPECT_TRUE(setCondition(conditions, ready, testing::at(3)));
  EXPECT_EQ(conditions[0].reason, "ImageDownloading");
  EXPECT_EQ(conditions[0].lastTransitionTime, testing::at(1));

  // Status flips: transition time moves.
  ready.status = ConditionStatus::kTrue;
  ready.reason = "DomainRunning";
  EXPECT_TRUE(setCondition(conditions, ready, testing::at(4)));
  EXPECT_EQ(conditions[0].lastTransitionTime, testing::at(4));
  EXPECT_TRUE(isConditionTrue(conditions, kConditionReady));
  EXPECT_FALSE(isConditionTrue(conditions, kConditionScheduled));
  EXPECT_EQ(findCondition(conditions, kConditionScheduled), nullptr);

  EXPECT_TRUE(removeCondition(conditions, kConditionReady));
  EXPECT_FALSE(removeCondition(conditions, kConditionReady));
  EXPECT_TRUE(conditions.empty());
}

TEST(ConditionTest, CodecRoundTrip) {
  const Condition c = testing::condition("Ready", ConditionStatus::kUnknown, "HeartbeatTimeout");
  auto decoded = conditionFromJson(toJson(c));
  ASSERT_TRUE(decoded.isOk()) << decoded.status();
  EXPECT_EQ(*decoded, c);
  EXPECT_FALSE(conditionFromJson(nlohmann::json::parse(R"({"type":"Ready"})")).isOk());
}

TEST(NamesTest, EveryEnumValueRoundTrips) {
  const auto check = [](auto tag) {
    using E = decltype(tag);
    const auto values = enumValues<E>();
    ASSERT_FALSE(values.empty());
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto parsed = fromString<E>(values[i]);
      ASSERT_TRUE(parsed.has_value()) << values[i];
      EXPECT_EQ(static_cast<std::size_t>(*parsed), i);
      EXPECT_EQ(toString(*parsed), values[i]);
    }
    EXPECT_FALSE(fromString<E>("").has_value());
    EXPECT_EQ(toString(static_cast<E>(values.size())), "<invalid>");
  };
  check(ConditionStatus{});
  check(RunStrategy{});
  check(Firmware{});
  check(DiskBus{});
  check(NetworkType{});
  check(EvictionStrategy{});
  check(VirtualMachinePhase{});
  check(MigrationMode{});
  check(MigrationCompression{});
  check(CopyStorage{});
  check(MigrationPhase{});
  check(Virtualization{});
  EXPECT_TRUE(isTerminal(MigrationPhase::kCancelled));
  EXPECT_FALSE(isTerminal(MigrationPhase::kFinalizing));
}

}  // namespace
}  // namespace novacron::api
