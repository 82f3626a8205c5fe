// BookmarkSchedule: kube-apiserver's bookmark rules (periodic, pre-timeout, only newer than the
// watch's start), checked on time points, without waiting.
#include "dev-apiserver/bookmark_schedule.h"

#include <gtest/gtest.h>

namespace novacron::devapi {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using TimePoint = BookmarkSchedule::Clock::time_point;

const TimePoint kStart{seconds(1000)};

TEST(BookmarkScheduleTest, PeriodicThenPreTimeoutThenNone) {
  BookmarkSchedule s(kStart, kStart + seconds(10), seconds(3), /*start_revision=*/100);
  s.observe(101);
  ASSERT_TRUE(s.due());
  EXPECT_EQ(*s.due(), kStart + seconds(3));
  EXPECT_EQ(s.fire(kStart + seconds(3)), 101);
  EXPECT_EQ(*s.due(), kStart + seconds(6));
  EXPECT_EQ(s.fire(kStart + seconds(6)), 101);
  // The next heartbeat (9 s) is later than 2 s before the deadline (8 s): the pre-timeout wins.
  EXPECT_EQ(*s.due(), kStart + seconds(8));
  s.observe(105);
  EXPECT_EQ(s.fire(kStart + seconds(8)), 105);
  EXPECT_FALSE(s.due()) << "nothing after the pre-timeout bookmark";
}

TEST(BookmarkScheduleTest, NoChangeSinceTheStartMeansNoBookmark) {
  BookmarkSchedule s(kStart, kStart + seconds(5), seconds(60), /*start_revision=*/100);
  s.observe(90);   // before the watch's start
  s.observe(100);  // the start itself
  ASSERT_TRUE(s.due());
  EXPECT_EQ(*s.due(), kStart + seconds(3));
  EXPECT_FALSE(s.fire(kStart + seconds(3)));
  EXPECT_FALSE(s.due());
}

TEST(BookmarkScheduleTest, CarriesTheLastChangeSeen) {
  BookmarkSchedule s(kStart, kStart + seconds(30), seconds(1), /*start_revision=*/7);
  s.observe(12);
  s.observe(9);  // revisions only move forward
  EXPECT_EQ(s.fire(*s.due()), 12);
}

TEST(BookmarkScheduleTest, AWatchShorterThanThePreTimeoutGetsNone) {
  BookmarkSchedule s(kStart, kStart + seconds(1), milliseconds(100), /*start_revision=*/1);
  EXPECT_FALSE(s.due());
}

TEST(BookmarkScheduleTest, ALateFirePastThePreTimeoutPointEndsTheSchedule) {
  BookmarkSchedule s(kStart, kStart + seconds(10), seconds(5), /*start_revision=*/1);
  s.observe(2);
  // The watch thread was late: the periodic one fires after the pre-timeout point.
  EXPECT_EQ(s.fire(kStart + seconds(9)), 2);
  EXPECT_FALSE(s.due());
}

}  // namespace
}  // namespace novacron::devapi
