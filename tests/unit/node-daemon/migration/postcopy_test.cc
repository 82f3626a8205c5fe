// Post-copy decisions (pure): when to switch, what a failure after the switch means, the condition.
#include "node-daemon/migration/postcopy.h"

#include <gtest/gtest.h>

#include "lib/api/codec.h"
#include "tests/mocks/status_vocabulary.h"
#include "tests/mocks/test_driver.h"

namespace novacron::node::migration {
namespace {

using namespace std::chrono_literals;
using TimePoint = PostCopyTrigger::TimePoint;

api::MigrationProgress at(int64_t remaining, int64_t iteration) {
  api::MigrationProgress p;
  p.dataRemainingBytes = remaining;
  p.iteration = iteration;
  return p;
}

TEST(PostCopyPolicyTest, FromOptions) {
  api::MigrationOptions o;
  EXPECT_FALSE(postCopyPolicyFor(o).enabled);
  o.postCopy = api::PostCopyOptions{.enabled = true, .afterIterations = 3};
  o.progressTimeoutSeconds = 150;
  auto p = postCopyPolicyFor(o);
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.after_iterations, 3);
  EXPECT_EQ(p.stall_window, 30s) << "a third of 150 s, at most 30 s";
  o.progressTimeoutSeconds = 9;
  EXPECT_EQ(postCopyPolicyFor(o).stall_window, 3s);
  o.progressTimeoutSeconds = 1;
  EXPECT_EQ(postCopyPolicyFor(o).stall_window, 2s) << "at least 2 s";
  o.postCopy->enabled = false;
  EXPECT_FALSE(postCopyPolicyFor(o).enabled);
}

TEST(PostCopyTriggerTest, DisabledNeverSwitches) {
  PostCopyTrigger t(PostCopyPolicy{});
  const TimePoint t0{};
  EXPECT_FALSE(t.observe(at(100, 50), t0));
  EXPECT_FALSE(t.observe(at(100, 50), t0 + 1h));
}

TEST(PostCopyTriggerTest, SwitchesAfterNCompletedIterations) {
  PostCopyTrigger t(PostCopyPolicy{.enabled = true, .after_iterations = 2, .stall_window = 2s});
  const TimePoint t0{};
  EXPECT_FALSE(t.observe(at(900, 1), t0));
  EXPECT_FALSE(t.observe(at(900, 2), t0 + 1h)) << "pass 2 still runs; stalls do not count here";
  auto why = t.observe(at(500, 3), t0 + 1h + 1s);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("after 2 pre-copy iterations"), std::string::npos);
  EXPECT_TRUE(t.observe(at(400, 4), t0 + 1h + 2s)) << "keeps answering until switched";
}

TEST(PostCopyTriggerTest, SwitchesWhenPreCopyStalls) {
  PostCopyTrigger t(PostCopyPolicy{.enabled = true, .stall_window = 3s});
  const TimePoint t0{};
  EXPECT_FALSE(t.observe(api::MigrationProgress{}, t0)) << "not sized yet";
  EXPECT_FALSE(t.observe(at(1000, 1), t0));
  EXPECT_FALSE(t.observe(at(800, 1), t0 + 2s)) << "new low";
  EXPECT_FALSE(t.observe(at(900, 2), t0 + 4s)) << "2 s since the low";
  auto why = t.observe(at(850, 2), t0 + 5s);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("stalled"), std::string::npos);
}

virt::DomainInfo source(virt::DomainState state, virt::PausedReason paused = {},
                        virt::ShutoffReason off = {}) {
  return testing::domainInfo(state, "ns_vm", off, paused);
}

TEST(PostCopyRecoveryTest, EveryCase) {
  using virt::DomainState;
  EXPECT_EQ(decidePostCopyRecovery({.switched = false, .source = source(DomainState::kRunning)}),
            PostCopyRecovery::kNotPostCopy);
  EXPECT_EQ(decidePostCopyRecovery({.switched = true, .source = std::nullopt}),
            PostCopyRecovery::kWait)
      << "unknown state: never guess";
  EXPECT_EQ(decidePostCopyRecovery(
                {.switched = true,
                 .source = source(DomainState::kShutOff, {}, virt::ShutoffReason::kMigrated)}),
            PostCopyRecovery::kCompleted);
  EXPECT_EQ(decidePostCopyRecovery(
                {.switched = true,
                 .source = source(DomainState::kPaused, virt::PausedReason::kPostcopyFailed)}),
            PostCopyRecovery::kResume);
  EXPECT_EQ(decidePostCopyRecovery(
                {.switched = true,
                 .source = source(DomainState::kPaused, virt::PausedReason::kPostcopy)}),
            PostCopyRecovery::kWait);
  EXPECT_EQ(decidePostCopyRecovery({.switched = true, .source = source(DomainState::kRunning)}),
            PostCopyRecovery::kNotPostCopy)
      << "the source runs: the switch never took effect";
  EXPECT_EQ(decidePostCopyRecovery(
                {.switched = true,
                 .source = source(DomainState::kShutOff, {}, virt::ShutoffReason::kDestroyed)}),
            PostCopyRecovery::kAskTarget)
      << "never restart a half of a post-copy guest: ask the target where it is";
}

// A source shut off after the switch for another reason than Migrated (crashed, destroyed, or
// "unknown" from a restarted libvirtd) waited silently for good: the target decides.
TEST(PostCopyRecoveryTest, ASourceShutOffAfterTheSwitchIsDecidedByTheTarget) {
  using virt::DomainState;
  for (auto reason : {virt::ShutoffReason::kCrashed, virt::ShutoffReason::kDestroyed,
                      virt::ShutoffReason::kUnknown}) {
    PostCopyFailure f{.switched = true, .source = source(DomainState::kShutOff, {}, reason)};
    EXPECT_EQ(decidePostCopyRecovery(f), PostCopyRecovery::kAskTarget);
    f.target = TargetGuest::kRunning;
    EXPECT_EQ(decidePostCopyRecovery(f), PostCopyRecovery::kCompleted) << "the move completed";
    f.target = TargetGuest::kPresent;
    EXPECT_EQ(decidePostCopyRecovery(f), PostCopyRecovery::kWait)
        << "paused on the target: never restarted";
    f.target = TargetGuest::kAbsent;
    EXPECT_EQ(decidePostCopyRecovery(f), PostCopyRecovery::kLost) << "on neither host";
  }
}

// The waits and the loss are said, not silent: the PostCopy condition and the log carry this.
TEST(PostCopyRecoveryTest, TheMessageSaysWhereTheGuestIsAndWhatHappensNext) {
  PostCopyFailure f{
      .switched = true,
      .source = source(virt::DomainState::kShutOff, {}, virt::ShutoffReason::kCrashed)};
  f.target = TargetGuest::kPresent;
  std::string m = postCopyFailureMessage(f, PostCopyRecovery::kWait, "EOF", "", 0);
  EXPECT_NE(m.find("shut off (reason crashed)"), std::string::npos) << m;
  EXPECT_NE(m.find("paused on the target"), std::string::npos) << m;
  EXPECT_NE(m.find("operator"), std::string::npos) << m;
  f.target = TargetGuest::kAbsent;
  m = postCopyFailureMessage(f, PostCopyRecovery::kLost, "EOF", "", 0);
  EXPECT_NE(m.find("the guest is lost"), std::string::npos) << m;
  f.target.reset();
  m = postCopyFailureMessage(f, PostCopyRecovery::kWait, "EOF", "DeadlineExceeded: no answer", 0);
  EXPECT_NE(m.find("DeadlineExceeded: no answer"), std::string::npos) << m;
  f.source = source(virt::DomainState::kPaused, virt::PausedReason::kPostcopyFailed);
  m = postCopyFailureMessage(f, PostCopyRecovery::kResume, "EOF", "", 2);
  EXPECT_NE(m.find("paused on both hosts"), std::string::npos) << m;
  EXPECT_NE(m.find("attempt 2"), std::string::npos) << m;
}

TEST(PostCopyRecoveryTest, BackoffDoublesUpToAMinute) {
  EXPECT_EQ(resumeBackoff(0), 1s);
  EXPECT_EQ(resumeBackoff(1), 2s);
  EXPECT_EQ(resumeBackoff(5), 32s);
  EXPECT_EQ(resumeBackoff(6), 60s);
  EXPECT_EQ(resumeBackoff(100), 60s);
}

TEST(PostCopyConditionTest, Reasons) {
  EXPECT_FALSE(postCopyCondition(PostCopyStatus{}, 1));
  auto c = postCopyCondition(PostCopyStatus{.active = true, .message = "switched"}, 4);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->type, "PostCopy");
  EXPECT_EQ(c->status, api::ConditionStatus::kTrue);
  EXPECT_EQ(c->reason, "PostCopyActive");
  EXPECT_EQ(c->observedGeneration, 4);
  c = postCopyCondition(PostCopyStatus{.active = true, .failed = true, .message = "paused"}, 4);
  EXPECT_EQ(c->status, api::ConditionStatus::kFalse);
  EXPECT_EQ(c->reason, "PostCopyFailed");
  EXPECT_EQ(c->message, "paused");
  c = postCopyCondition(PostCopyStatus{.active = true, .completed = true}, 4);
  EXPECT_EQ(c->reason, "PostCopyCompleted");
  c = postCopyCondition(PostCopyStatus{.active = true, .failed = true, .lost = true}, 4);
  EXPECT_EQ(c->status, api::ConditionStatus::kFalse);
  EXPECT_EQ(c->reason, "PostCopyGuestLost");
}

// The conditions the source node-daemon writes, recorded for the docs/api.md contract test.
TEST(PostCopyConditionTest, RecordedForTheDocsContract) {
  for (const auto& status :
       {PostCopyStatus{.active = true, .message = "switched"},
        PostCopyStatus{.active = true, .failed = true, .message = "paused"},
        PostCopyStatus{.active = true, .completed = true, .message = "done"},
        PostCopyStatus{.active = true, .failed = true, .lost = true, .message = "lost"}}) {
    auto c = postCopyCondition(status, 4);
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->reason.empty());
    EXPECT_FALSE(c->message.empty());
    novacron::testing::noteStatus("VMMigration",
                                  kube::Json{{"conditions", kube::Json::array({api::toJson(*c)})}});
  }
}

}  // namespace
}  // namespace novacron::node::migration
