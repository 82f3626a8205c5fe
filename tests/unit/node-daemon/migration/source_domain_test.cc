// observeSourceDomain: one consistent observation of a migration's source domain from two reads,
// and never "no job" guessed from a read libvirt did not answer.
#include "node-daemon/migration/source_domain.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/mocks/fake_libvirt.h"
#include "tests/mocks/test_driver.h"

namespace novacron::node::migration {
namespace {

using testing::domainInfo;

virt::JobStats job(virt::JobType type) {
  virt::JobStats s;
  s.type = type;
  return s;
}

class SourceDomainTest : public ::testing::Test {
protected:
  void SetUp() override {
    real_ = testing::openTestDriver();
    fake_ = std::make_unique<testing::FakeLibvirt>(*real_);
  }
  // The domain runs; its job read answers `job`.
  void runningWithJobRead(core::StatusOr<virt::JobStats> job) {
    fake_->lookup_hook = [](const std::string&) -> core::StatusOr<virt::DomainInfo> {
      return domainInfo(virt::DomainState::kRunning);
    };
    fake_->job_stats_hook = [job = std::move(job)](const std::string&) { return job; };
  }
  virt::ConnectionPtr real_;
  std::unique_ptr<testing::FakeLibvirt> fake_;
};

TEST_F(SourceDomainTest, AJobThatEndsBetweenTheReadsIsSeenAsTheStateAfterIt) {
  std::atomic<int> lookups{0};
  fake_->lookup_hook = [&](const std::string&) -> core::StatusOr<virt::DomainInfo> {
    if (++lookups == 1) {
      return domainInfo(virt::DomainState::kRunning);  // read while the job still ran
    }
    auto d = domainInfo(virt::DomainState::kShutOff);  // the move completed meanwhile
    d.shutoff_reason = virt::ShutoffReason::kMigrated;
    return d;
  };
  fake_->job_stats_hook = [](const std::string&) {
    return core::StatusOr<virt::JobStats>(job(virt::JobType::kNone));
  };
  auto seen = observeSourceDomain(*fake_, "ns_vm");
  ASSERT_TRUE(seen.isOk()) << seen.status().toString();
  ASSERT_TRUE(seen->domain);
  EXPECT_EQ(seen->domain->state, virt::DomainState::kShutOff);
  EXPECT_EQ(seen->domain->shutoff_reason, virt::ShutoffReason::kMigrated);
  EXPECT_FALSE(seen->job_running);
}

TEST_F(SourceDomainTest, AJobReadThatFailsIsAnErrorNotNoJob) {
  runningWithJobRead(core::unavailableError("libvirt jobStats: End of file while reading data"));
  auto seen = observeSourceDomain(*fake_, "ns_vm");
  ASSERT_FALSE(seen.isOk());
  EXPECT_EQ(seen.status().code(), core::StatusCode::kUnavailable);
}

// libvirt's test driver cannot report jobs at all ("this function is not supported"): an answer,
// and no job (the fault suite's migrations hung in Migrating while this counted as no answer).
TEST_F(SourceDomainTest, AJobReadTheDriverRefusesIsNoJob) {
  runningWithJobRead(
      core::invalidArgumentError("libvirt jobStats: this function is not supported"));
  auto seen = observeSourceDomain(*fake_, "ns_vm");
  ASSERT_TRUE(seen.isOk()) << seen.status().toString();
  EXPECT_FALSE(seen->job_running);
  EXPECT_EQ(seen->domain->state, virt::DomainState::kRunning);
}

TEST_F(SourceDomainTest, ARunningJobIsReportedWithTheDomain) {
  runningWithJobRead(job(virt::JobType::kUnbounded));
  auto seen = observeSourceDomain(*fake_, "ns_vm");
  ASSERT_TRUE(seen.isOk());
  EXPECT_TRUE(seen->job_running);
  EXPECT_EQ(seen->domain->state, virt::DomainState::kRunning);
}

TEST_F(SourceDomainTest, NoDomainIsNotAnError) {
  auto seen = observeSourceDomain(*fake_, "ns_no_such_vm");  // the test driver has none
  ASSERT_TRUE(seen.isOk()) << seen.status().toString();
  EXPECT_FALSE(seen->domain);
  EXPECT_FALSE(seen->job_running);
}

TEST_F(SourceDomainTest, ALookupThatFailsIsAnError) {
  fake_->lookup_hook = [](const std::string&) -> core::StatusOr<virt::DomainInfo> {
    return core::unavailableError("not connected");
  };
  EXPECT_FALSE(observeSourceDomain(*fake_, "ns_vm").isOk());
}

// A target libvirtd that accepts the connection and never answers (hung, SIGSTOPped): connect()
// blocks until the test releases it.
struct HungTarget : std::enable_shared_from_this<HungTarget> {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;  // guarded by mu
  int connects = 0;       // guarded by mu
  int returned = 0;       // guarded by mu
  ConnectTarget connect() {
    // Holds the target itself: a worker still starting when the test ends finds it alive.
    return [self = shared_from_this()](const std::string&) -> core::StatusOr<virt::ConnectionPtr> {
      std::unique_lock lock(self->mu);
      ++self->connects;
      self->cv.wait(lock, [&] { return self->released; });
      ++self->returned;
      self->cv.notify_all();  // drained()
      return core::unavailableError("released by the test");
    };
  }
  void release() {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
  // Waits (with a real-time safety net) until `workers` connect() calls returned: a worker may
  // reach connect() only after its question timed out.
  bool drained(int workers) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30), [&] { return returned >= workers; });
  }
  int connectsSoFar() {
    std::lock_guard lock(mu);
    return connects;
  }
};

// The runner's confirm loop and the source reconciler ask the target while they cannot tell where
// the guest is: a target that does not answer must be "cannot tell" (DeadlineExceeded), not a call
// that never returns (it blocked them for good).
TEST(GuestOnTargetTest, ATargetThatDoesNotAnswerIsDeadlineExceeded) {
  auto hung = std::make_shared<HungTarget>();
  auto on = guestOnTarget(hung->connect(), "qemu+tcp://10.213.77.3/system", "ns_vm",
                          std::chrono::milliseconds(1));
  ASSERT_FALSE(on.isOk());
  EXPECT_EQ(on.status().code(), core::StatusCode::kDeadlineExceeded);
  EXPECT_NE(on.status().message().find("did not answer"), std::string::npos);
  hung->release();  // the late answer is dropped
  EXPECT_TRUE(hung->drained(1));
  EXPECT_EQ(hung->connectsSoFar(), 1);
}

// A target that hangs for hours must not pile up one blocked worker per question: past the bound,
// a question is DeadlineExceeded at once, without a worker.
TEST(GuestOnTargetTest, AHungTargetHoldsAtMostABoundedNumberOfWorkers) {
  auto hung = std::make_shared<HungTarget>();
  std::vector<std::string> answers;
  for (int i = 0; i < kMaxUnansweredTargetQuestions + 2; ++i) {
    auto on = guestOnTarget(hung->connect(), "qemu+tcp://10.213.77.3/system", "ns_vm",
                            std::chrono::milliseconds(1));
    ASSERT_FALSE(on.isOk());
    EXPECT_EQ(on.status().code(), core::StatusCode::kDeadlineExceeded);
    answers.push_back(on.status().message());
  }
  EXPECT_NE(answers.front().find("did not answer"), std::string::npos) << answers.front();
  for (size_t i = answers.size() - 2; i < answers.size(); ++i) {
    EXPECT_NE(answers[i].find("still unanswered"), std::string::npos) << answers[i];
  }
  const auto workers = std::count_if(answers.begin(), answers.end(), [](const std::string& a) {
    return a.find("did not answer") != std::string::npos;
  });
  EXPECT_LE(workers, kMaxUnansweredTargetQuestions);
  // Another target is still asked: the bound is per target (it was one for the whole process).
  ConnectTarget answers_at_once = [](const std::string&) -> core::StatusOr<virt::ConnectionPtr> {
    return core::unavailableError("connection refused");
  };
  auto other = guestOnTarget(answers_at_once, "qemu+tcp://10.213.77.4/system", "ns_vm",
                             std::chrono::seconds(30));
  ASSERT_FALSE(other.isOk());
  EXPECT_EQ(other.status().code(), core::StatusCode::kUnavailable) << other.status();
  hung->release();
  EXPECT_TRUE(hung->drained(static_cast<int>(workers)));
  EXPECT_EQ(hung->connectsSoFar(), workers);
}

// guestOnTarget runs the ConnectTarget on a detached worker that may outlive whoever made it (a
// question that timed out): the test fake's functions keep its state alive (they captured `this`:
// a late worker read a destroyed fixture; undefined behaviour, caught under NOVACRON_SANITIZE=1).
TEST(FakeMigrationTargetTest, ItsConnectFunctionOutlivesTheFake) {
  auto target = std::make_unique<testing::FakeMigrationTarget>();
  target->setState(virt::DomainState::kPaused);
  testing::FakeMigrationTarget::Connect connect = target->connect();
  target.reset();
  auto on =
      guestOnTarget(connect, "qemu+tcp://10.213.77.3/system", "ns_vm", std::chrono::seconds(30));
  ASSERT_TRUE(on.isOk()) << on.status();
  EXPECT_EQ(*on, TargetGuest::kPresent);
}

}  // namespace
}  // namespace novacron::node::migration
