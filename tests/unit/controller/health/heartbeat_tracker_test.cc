#include "controller/health/heartbeat_tracker.h"

#include <gtest/gtest.h>

#include "tests/mocks/fake_clock.h"

namespace novacron::controller::health {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class HeartbeatTrackerTest : public ::testing::Test {
protected:
  std::shared_ptr<novacron::testing::FakeClock> clock_ =
      std::make_shared<novacron::testing::FakeClock>();
  HeartbeatTracker tracker_{clock_, seconds(40)};
};

TEST_F(HeartbeatTrackerTest, UnknownHypervisorGetsAFullTimeoutOfGrace) {
  EXPECT_TRUE(tracker_.fresh("h"));
  tracker_.observe("h", std::string("r1"));
  clock_->advance(seconds(39));
  EXPECT_TRUE(tracker_.fresh("h"));
  EXPECT_EQ(tracker_.remaining("h"), seconds(1));
  clock_->advance(seconds(1));
  EXPECT_FALSE(tracker_.fresh("h"));
  EXPECT_EQ(tracker_.remaining("h"), milliseconds(0));
}

TEST_F(HeartbeatTrackerTest, OnlyAChangedRenewalCounts) {
  tracker_.observe("h", std::string("r1"));
  clock_->advance(seconds(30));
  EXPECT_FALSE(tracker_.observe("h", std::string("r1")));  // same record: no heartbeat
  clock_->advance(seconds(15));
  EXPECT_FALSE(tracker_.fresh("h"));
  EXPECT_TRUE(tracker_.observe("h", std::string("r2")));  // ends the stale period
  EXPECT_TRUE(tracker_.fresh("h"));
  clock_->advance(seconds(20));
  EXPECT_FALSE(tracker_.observe("h", std::string("r3")));  // was fresh: not a transition
  clock_->advance(seconds(39));
  EXPECT_TRUE(tracker_.fresh("h"));
}

TEST_F(HeartbeatTrackerTest, MissingLeaseTurnsStaleAfterTheTimeout) {
  tracker_.observe("h", std::nullopt);
  clock_->advance(seconds(41));
  EXPECT_FALSE(tracker_.fresh("h"));
  EXPECT_FALSE(tracker_.observe("h", std::nullopt));
  EXPECT_FALSE(tracker_.fresh("h"));
}

TEST_F(HeartbeatTrackerTest, ForgetStartsOver) {
  tracker_.observe("h", std::string("r1"));
  clock_->advance(seconds(50));
  EXPECT_FALSE(tracker_.fresh("h"));
  tracker_.forget("h");
  EXPECT_TRUE(tracker_.fresh("h"));
}

}  // namespace
}  // namespace novacron::controller::health
