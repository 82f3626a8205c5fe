// MigrationRunner with a scripted libvirt (the test driver cannot migrate) and a FakeClock:
// progress sampling, abort on no progress, cancel, success with the completed job's downtime.
#include "node-daemon/migration/runner.h"

#include <atomic>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include "tests/mocks/fake_clock.h"
#include "tests/mocks/fake_libvirt.h"
#include "tests/mocks/test_driver.h"

namespace novacron::node::migration {
namespace {

using namespace std::chrono_literals;

template <typename Pred>
bool pollUntil(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::yield();
  }
  return true;
}

// A migration job as libvirt would run it: it ends when the test says so, or when aborted.
class ScriptedJob {
public:
  core::Status run() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return finished_ || aborted_; });
    return aborted_ ? core::unavailableError("operation aborted: migration job: canceled by client")
                    : core::okStatus();
  }
  void finish() {
    std::lock_guard lock(mu_);
    finished_ = true;
    cv_.notify_all();
  }
  core::Status abort() {
    std::lock_guard lock(mu_);
    aborted_ = true;
    ++aborts_;
    cv_.notify_all();
    return core::okStatus();
  }
  int aborts() {
    std::lock_guard lock(mu_);
    return aborts_;
  }
  void setRemaining(uint64_t processed, uint64_t remaining) {
    std::lock_guard lock(mu_);
    processed_ = processed;
    remaining_ = remaining;
  }
  virt::JobStats stats() {
    std::lock_guard lock(mu_);
    virt::JobStats s;
    s.type = virt::JobType::kUnbounded;
    s.data_processed = processed_;
    s.data_remaining = remaining_;
    s.data_total = processed_ + remaining_;
    return s;
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;
  bool aborted_ = false;
  int aborts_ = 0;
  uint64_t processed_ = 0;
  uint64_t remaining_ = 1000;
};

class RunnerTest : public ::testing::Test {
protected:
  void SetUp() override {
    real_ = testing::openTestDriver();
    fake_ = std::make_unique<testing::FakeLibvirt>(*real_);
    fake_->migrate_hook = [this](const std::string&, const virt::MigrateRequest& r) {
      last_request_ = r;
      return job_.run();
    };
    fake_->job_stats_hook = [this](const std::string&) { return job_.stats(); };
    fake_->abort_hook = [this](const std::string&) { return job_.abort(); };
    fake_->completed_job_stats_hook = [](const std::string&) {
      virt::JobStats s;
      s.type = virt::JobType::kCompleted;
      s.downtime_ms = 42;
      return core::StatusOr<virt::JobStats>(s);
    };
    options_.clock = clock_;
    options_.sample_interval = 1s;
    options_.on_progress = [this](const std::string&) { ++progress_calls_; };
    options_.on_done = [this](const std::string&) { ++done_calls_; };
    // Explicitly: a target that holds no guest (unset, the target cannot be asked: no verdict).
    nothing_there_.setState(std::nullopt);
    options_.connect_target = nothing_there_.connect();
    makeRunner();
  }
  // (Re)creates the runner with options_ (a fixture or test changes them first).
  void makeRunner() { runner_ = std::make_unique<MigrationRunner>(*fake_, options_); }
  Job job(std::chrono::seconds progress_timeout = 60s) {
    Job j;
    j.key = "ns/mig";
    j.domain = "ns_vm";
    j.request.dest_uri = "qemu+tcp://10.213.77.3/system";
    j.request.bandwidth_mib = 100;
    j.limits.progress_timeout = progress_timeout;
    j.limits.completion_timeout = 3600s;
    return j;
  }
  // One monitor pass: advance by the sample interval once the monitor waits on the clock.
  void sample() {
    const int before = progress_calls_.load();
    ASSERT_TRUE(clock_->awaitWaiters(1));
    clock_->advance(1s);
    ASSERT_TRUE(pollUntil([&] { return progress_calls_.load() > before; }));
  }

  std::shared_ptr<testing::FakeClock> clock_ = std::make_shared<testing::FakeClock>();
  testing::FakeMigrationTarget nothing_there_;
  virt::ConnectionPtr real_;
  std::unique_ptr<testing::FakeLibvirt> fake_;
  ScriptedJob job_;
  std::optional<virt::MigrateRequest> last_request_;
  std::atomic<int> progress_calls_{0};
  std::atomic<int> done_calls_{0};
  RunnerOptions options_;
  std::unique_ptr<MigrationRunner> runner_;
};

TEST_F(RunnerTest, ReportsProgressAndSucceedsWithTheMeasuredDowntime) {
  ASSERT_TRUE(runner_->start(job()));
  EXPECT_FALSE(runner_->start(job())) << "one job per key";
  EXPECT_TRUE(runner_->running("ns/mig"));
  job_.setRemaining(250, 750);
  sample();
  EXPECT_EQ(runner_->progress("ns/mig")->percent, 25);
  job_.setRemaining(900, 100);
  sample();
  EXPECT_EQ(runner_->progress("ns/mig")->percent, 90);
  job_.finish();
  ASSERT_TRUE(pollUntil([&] { return done_calls_.load() == 1; }));
  auto out = runner_->outcome("ns/mig");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->phase, api::MigrationPhase::kFinalizing);
  EXPECT_EQ(out->progress.percent, 100);
  EXPECT_EQ(out->progress.downtimeMs, 42);
  EXPECT_EQ(job_.aborts(), 0);
  ASSERT_TRUE(last_request_);
  EXPECT_EQ(last_request_->bandwidth_mib, 100u);
  runner_->forget("ns/mig");
  EXPECT_FALSE(runner_->outcome("ns/mig"));
  EXPECT_EQ(runner_->active(), 0u);
}

TEST_F(RunnerTest, AbortsWhenTheRemainingDataStopsShrinking) {
  ASSERT_TRUE(runner_->start(job(/*progress_timeout=*/5s)));
  job_.setRemaining(500, 500);
  sample();
  for (int i = 0; i < 5 && !runner_->outcome("ns/mig"); ++i) {
    job_.setRemaining(600 + 100 * i, 600);  // the guest dirties as fast as it is sent
    sample();
  }
  ASSERT_TRUE(pollUntil([&] { return done_calls_.load() == 1; }));
  auto out = runner_->outcome("ns/mig");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->phase, api::MigrationPhase::kFailed);
  EXPECT_EQ(out->reason, "NoProgress");
  EXPECT_NE(out->message.find("keeps running on the source"), std::string::npos);
  EXPECT_EQ(job_.aborts(), 1);
}

TEST_F(RunnerTest, CancelAbortsTheJob) {
  ASSERT_TRUE(runner_->start(job()));
  ASSERT_TRUE(clock_->awaitWaiters(1));
  runner_->cancel("ns/mig");
  ASSERT_TRUE(pollUntil([&] { return done_calls_.load() == 1; }));
  auto out = runner_->outcome("ns/mig");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->phase, api::MigrationPhase::kCancelled);
  EXPECT_EQ(job_.aborts(), 1);
}

TEST_F(RunnerTest, AFailedJobIsReportedWithLibvirtsReason) {
  fake_->migrate_hook = [](const std::string&, const virt::MigrateRequest&) {
    return core::unavailableError("unable to connect to server at '10.213.77.3:16509'");
  };
  ASSERT_TRUE(runner_->start(job()));
  ASSERT_TRUE(pollUntil([&] { return done_calls_.load() == 1; }));
  auto out = runner_->outcome("ns/mig");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->phase, api::MigrationPhase::kFailed);
  EXPECT_EQ(out->reason, "TargetUnreachable");
  EXPECT_NE(out->message.find("unable to connect"), std::string::npos);
}

// A call that fails after QEMU switched the guest over (the source libvirtd died mid-call, found by
// the fault suite in depth): the source domain, shut off as Migrated once libvirt answers again,
// says the move completed; reporting "Failed, the guest keeps running on the source" would leave
// the VM bound to the source and the only running guest stopped on the target.
TEST_F(RunnerTest, ACallThatFailsAfterTheSwitchOverIsReportedByWhatTheSourceDomainShows) {
  fake_->migrate_hook = [](const std::string&, const virt::MigrateRequest&) {
    return core::unavailableError("End of file while reading data: Input/output error");
  };
  std::atomic<int> lookups{0};
  fake_->lookup_hook = [&](const std::string& name) -> core::StatusOr<virt::DomainInfo> {
    if (++lookups <= 2) {
      return core::unavailableError("not connected to qemu+tcp://10.213.77.2/system");
    }
    return testing::domainInfo(virt::DomainState::kShutOff, name, virt::ShutoffReason::kMigrated);
  };
  ASSERT_TRUE(runner_->start(job()));
  ASSERT_TRUE(pollUntil([&] {
    clock_->advance(1s);  // the runner looks again every second until libvirt answers
    return done_calls_.load() == 1;
  }));
  auto out = runner_->outcome("ns/mig");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->phase, api::MigrationPhase::kFinalizing);
  EXPECT_EQ(out->reason, "Succeeded");
  EXPECT_GE(lookups.load(), 3) << "no verdict while libvirt did not answer";
}

// Failed calls the source domain cannot settle: the runner asks the target (a FakeLibvirt over
// its own test-driver connection) and never decides by a timeout.
class RunnerConfirmTest : public RunnerTest {
protected:
  void SetUp() override {
    RunnerTest::SetUp();
    fake_->migrate_hook = [this](const std::string&, const virt::MigrateRequest&) {
      returned_ = true;
      return core::unavailableError("End of file while reading data: Input/output error");
    };
    // Once the call returned, libvirt runs no job on the source (the monitor's fixture job ran).
    fake_->job_stats_hook = [this](const std::string&) {
      virt::JobStats st = job_.stats();
      if (returned_) {
        st.type = virt::JobType::kNone;
      }
      return core::StatusOr<virt::JobStats>(st);
    };
    options_.confirm_interval = 1s;
    options_.confirm_limit = 3600s;
    options_.connect_target = target_.connect();
    makeRunner();
  }
  void TearDown() override { runner_.reset(); }  // joins the job before the members below go
  void sourceIs(virt::DomainState state,
                virt::ShutoffReason shutoff = virt::ShutoffReason::kUnknown,
                virt::PausedReason paused = virt::PausedReason::kUnknown) {
    fake_->lookup_hook = [=](const std::string& name) -> core::StatusOr<virt::DomainInfo> {
      return testing::domainInfo(state, name, shutoff, paused);
    };
  }
  // Waits until the runner confirms the failed call (its first look at the source domain) before
  // the test moves the clock: moved earlier, the clock ran the monitor's samples of the fixture's
  // never-ending job past completion_timeout, and it aborted (CompletionTimeout, 1 run in ~130).
  void untilConfirming() {
    ASSERT_TRUE(pollUntil([&] { return fake_->calls("lookup") > 0 || done_calls_.load() > 0; }));
  }
  // Lets `n` more confirm passes ask the target (one clock step each).
  void passes(int n) {
    untilConfirming();
    for (int i = 0; i < n && done_calls_.load() == 0; ++i) {
      const int before = target_.asked();
      ASSERT_TRUE(pollUntil([&] {
        clock_->advance(1s);
        return target_.asked() > before || done_calls_.load() > 0;
      }));
    }
  }
  // Passes until the outcome is there.
  bool decided() {
    untilConfirming();
    return pollUntil([&] {
      clock_->advance(1s);
      return done_calls_.load() == 1;
    });
  }

  testing::FakeMigrationTarget target_;
  std::atomic<bool> returned_{false};
};

// The source's libvirtd restarted mid-call and lost the job: its domain is shut off with reason
// unknown. The target, asked, runs the guest: the move completed.
TEST_F(RunnerConfirmTest, WhenTheSourceCannotTellTheTargetIsAsked) {
  sourceIs(virt::DomainState::kShutOff);
  ASSERT_TRUE(runner_->start(job()));
  ASSERT_TRUE(pollUntil([&] { return done_calls_.load() == 1; }));
  auto out = runner_->outcome("ns/mig");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->phase, api::MigrationPhase::kFinalizing);
  EXPECT_EQ(target_.asked(), 1);
  EXPECT_EQ(target_.askedUri(), "qemu+tcp://10.213.77.3/system");
}

// The target's incoming domain exists but is still paused (libvirt's finish step), then runs.
TEST_F(RunnerConfirmTest, ADomainOnTheTargetThatDoesNotRunYetIsWaitedFor) {
  sourceIs(virt::DomainState::kPaused, virt::ShutoffReason::kUnknown,
           virt::PausedReason::kMigration);
  target_.setState(virt::DomainState::kPaused);
  ASSERT_TRUE(runner_->start(job()));
  passes(5);
  EXPECT_FALSE(runner_->outcome("ns/mig")) << "no verdict while the target's domain is paused";
  EXPECT_GE(target_.asked(), 3);
  target_.setState(virt::DomainState::kRunning);
  ASSERT_TRUE(decided());
  EXPECT_EQ(runner_->outcome("ns/mig")->phase, api::MigrationPhase::kFinalizing);
}

// A target that does not answer is never taken to mean "not there" (that would start the guest
// again here while it may run there), however long it takes.
TEST_F(RunnerConfirmTest, AnUnreachableTargetIsWaitedForNotGuessed) {
  sourceIs(virt::DomainState::kShutOff);
  target_.setUnreachable(true);
  ASSERT_TRUE(runner_->start(job()));
  passes(10);
  EXPECT_FALSE(runner_->outcome("ns/mig"));
  EXPECT_GE(target_.asked(), 5);
  target_.setUnreachable(false);
  target_.setState(virt::DomainState::kShutOff);  // reachable: nothing runs there
  ASSERT_TRUE(decided());
  auto out = runner_->outcome("ns/mig");
  EXPECT_EQ(out->phase, api::MigrationPhase::kFailed) << "runs nowhere: the VM stays here";
}

// A cancel (the controller's abort request) while the runner waits for an answer must not stop it
// from getting one: the monitor, which cannot send the cancel while the call's outcome is being
// confirmed, spun on it holding the run's mutex, so the confirm loop never got the mutex back
// (the fault suite in depth, seed 20: a migration Migrating for good). Whether the other thread
// wins the mutex from a spinning one is luck, so the test observes the monitor itself: after the
// cancel it must park in a clock wait (which releases the run's mutex) of its own sample interval,
// set apart here (1 h) from the confirm loop's 1 s. Moving the clock by that interval ends every
// wait the monitor may be in; a parked monitor then waits anew until exactly now + 1 h.
TEST_F(RunnerConfirmTest, AnUnsentCancelWhileConfirmingParksTheMonitorOnTheClock) {
  options_.sample_interval = 3600s;
  makeRunner();
  sourceIs(virt::DomainState::kShutOff);
  target_.setUnreachable(true);
  ASSERT_TRUE(runner_->start(job()));
  passes(2);  // confirming: the target was asked
  runner_->cancel("ns/mig");
  clock_->advance(3600s);
  auto monitorParked = [&] {
    return clock_->waitersDueWithin(3600s) - clock_->waitersDueWithin(3600s - 1ms) == 1;
  };
  EXPECT_TRUE(pollUntil(monitorParked))
      << "the monitor never waits: it spins on the cancel (clock waiters: " << clock_->waiters()
      << ")";
  target_.setUnreachable(false);  // the guest runs on the target
  ASSERT_TRUE(decided());
  EXPECT_EQ(runner_->outcome("ns/mig")->phase, api::MigrationPhase::kFinalizing);
}

TEST_F(RunnerConfirmTest, AFailedCallIsAFailureOnceTheGuestIsSeenStayingOnTheSource) {
  sourceIs(virt::DomainState::kRunning);
  std::atomic<int> confirm_job_reads{0};
  // libvirt still cancels the job for a while (a restarted libvirtd recovering it), then no job.
  fake_->job_stats_hook = [&](const std::string&) {
    virt::JobStats s;
    s.type = virt::JobType::kUnbounded;
    if (returned_ && ++confirm_job_reads > 3) {
      s.type = virt::JobType::kNone;
    }
    return core::StatusOr<virt::JobStats>(s);
  };
  ASSERT_TRUE(runner_->start(job()));
  ASSERT_TRUE(decided());
  auto out = runner_->outcome("ns/mig");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->phase, api::MigrationPhase::kFailed);
  EXPECT_EQ(out->reason, "TargetUnreachable");
  EXPECT_NE(out->message.find("keeps running on the source"), std::string::npos);
  EXPECT_GE(confirm_job_reads.load(), 4) << "not decided while a job still ran on the domain";
  EXPECT_EQ(target_.asked(), 0) << "the guest is here: no need to ask the target";
}

// ---- post-copy
// ------------------------------------------------------------------------------------

class RunnerPostCopyTest : public RunnerTest {
protected:
  void SetUp() override {
    RunnerTest::SetUp();
    fake_->job_stats_hook = [this](const std::string&) {
      virt::JobStats s = job_.stats();
      s.memory_iteration = iteration_.load();
      return core::StatusOr<virt::JobStats>(s);
    };
    fake_->start_postcopy_hook = [this](const std::string&) {
      ++switches_;
      return core::okStatus();
    };
  }
  Job postCopyJob(PostCopyPolicy policy, std::chrono::seconds progress_timeout = 60s) {
    Job j = job(progress_timeout);
    j.request.postcopy = true;
    j.postcopy = policy;
    return j;
  }
  void TearDown() override { runner_.reset(); }  // joins the job before target_ goes
  // The first migrate call fails after the switch (the monitor switches on its first sample) while
  // the source domain shows `source`; the target (asked) shows `on_target`.
  // `can_ask`: false leaves connect_target unset (the target cannot be asked).
  void failAfterTheSwitch(virt::DomainInfo source, std::optional<virt::DomainState> on_target,
                          bool can_ask = true) {
    target_.setState(on_target);
    options_.connect_target = can_ask ? target_.connect() : ConnectTarget();
    makeRunner();
    fake_->migrate_hook = [this](const std::string&, const virt::MigrateRequest&) {
      ++migrate_calls_;
      (void)job_.run();
      return core::internalError("operation failed: job 'migration out' failed in post-copy phase");
    };
    fake_->lookup_hook = [source](const std::string&) {
      return core::StatusOr<virt::DomainInfo>(source);
    };
    ASSERT_TRUE(runner_->start(postCopyJob({.enabled = true, .after_iterations = 1})));
    iteration_ = 2;
    job_.setRemaining(500, 500);
    sample();
    ASSERT_EQ(switches_.load(), 1);
    job_.finish();
  }
  std::atomic<int64_t> iteration_{1};
  std::atomic<int> switches_{0};
  std::atomic<int> migrate_calls_{0};
  testing::FakeMigrationTarget target_;
};

TEST_F(RunnerPostCopyTest, SwitchesAfterNIterationsAndCannotBeCancelledThen) {
  ASSERT_TRUE(runner_->start(postCopyJob({.enabled = true, .after_iterations = 2})));
  job_.setRemaining(100, 900);
  sample();
  iteration_ = 2;
  sample();
  EXPECT_EQ(switches_.load(), 0);
  EXPECT_FALSE(runner_->postCopy("ns/mig")->active);
  iteration_ = 3;
  sample();
  EXPECT_EQ(switches_.load(), 1);
  auto pc = runner_->postCopy("ns/mig");
  ASSERT_TRUE(pc);
  EXPECT_TRUE(pc->active);
  EXPECT_NE(pc->message.find("after 2 pre-copy iterations"), std::string::npos);
  iteration_ = 4;
  sample();
  EXPECT_EQ(switches_.load(), 1) << "switched once";

  runner_->cancel("ns/mig");
  job_.setRemaining(800, 200);
  // The cancel wakes the monitor early; until it waits again, an advance can fall between its
  // passes and release nobody, so advance until a pass after the cancel happened.
  const int before_cancel_pass = progress_calls_.load();
  ASSERT_TRUE(pollUntil([&] {
    if (clock_->awaitWaiters(1, std::chrono::milliseconds(50))) {
      clock_->advance(1s);
    }
    return progress_calls_.load() > before_cancel_pass;
  }));
  EXPECT_EQ(job_.aborts(), 0) << "in post-copy the guest already runs on the target";
  job_.finish();
  ASSERT_TRUE(pollUntil([&] { return done_calls_.load() == 1; }));
  auto out = runner_->outcome("ns/mig");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->phase, api::MigrationPhase::kFinalizing);
  EXPECT_TRUE(out->postcopy.completed);
}

TEST_F(RunnerPostCopyTest, AStalledPreCopyIsSwitchedInsteadOfAborted) {
  ASSERT_TRUE(runner_->start(postCopyJob({.enabled = true, .stall_window = 2s}, 4s)));
  for (int i = 0; i < 8 && switches_.load() == 0; ++i) {
    job_.setRemaining(100 + 100 * i, 600);  // dirtied as fast as it is sent
    sample();
  }
  EXPECT_EQ(switches_.load(), 1);
  for (int i = 0; i < 6; ++i) {
    sample();  // longer than progressTimeout: no NoProgress abort in post-copy
  }
  EXPECT_EQ(job_.aborts(), 0);
  EXPECT_FALSE(runner_->outcome("ns/mig"));
  job_.finish();
  ASSERT_TRUE(pollUntil([&] { return done_calls_.load() == 1; }));
  EXPECT_EQ(runner_->outcome("ns/mig")->phase, api::MigrationPhase::kFinalizing);
}

TEST_F(RunnerPostCopyTest, AFailedPostCopyIsResumedNeverRestarted) {
  std::atomic<int> migrate_calls{0};
  std::mutex mu;
  std::optional<virt::MigrateRequest> resumed;
  fake_->migrate_hook = [&](const std::string&, const virt::MigrateRequest& r) {
    if (migrate_calls++ == 0) {
      (void)job_.run();
      return core::internalError("operation failed: job 'migration out' failed in post-copy phase");
    }
    std::lock_guard lock(mu);
    resumed = r;
    return core::okStatus();
  };
  fake_->lookup_hook = [](const std::string& name) {
    return core::StatusOr<virt::DomainInfo>(testing::domainInfo(
        virt::DomainState::kPaused, name, {}, virt::PausedReason::kPostcopyFailed));
  };
  ASSERT_TRUE(runner_->start(postCopyJob({.enabled = true, .after_iterations = 1})));
  iteration_ = 2;
  job_.setRemaining(500, 500);
  sample();
  ASSERT_EQ(switches_.load(), 1);
  job_.finish();  // the first migrate call fails after the switch
  ASSERT_TRUE(pollUntil([&] { return runner_->postCopy("ns/mig")->failed; }));
  auto pc = runner_->postCopy("ns/mig");
  EXPECT_NE(pc->message.find("paused on both hosts"), std::string::npos);
  EXPECT_NE(pc->message.find("attempt 1"), std::string::npos);
  EXPECT_TRUE(runner_->running("ns/mig")) << "not terminal: the VM stays locked";
  // The resume waits 1 s (backoff) on the clock, next to the monitor.
  ASSERT_TRUE(clock_->awaitWaiters(2));
  clock_->advance(1s);
  ASSERT_TRUE(pollUntil([&] { return done_calls_.load() == 1; }));
  auto out = runner_->outcome("ns/mig");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->phase, api::MigrationPhase::kFinalizing);
  EXPECT_TRUE(out->postcopy.completed);
  EXPECT_FALSE(out->postcopy.failed);
  EXPECT_EQ(out->postcopy.resume_attempts, 1);
  EXPECT_EQ(migrate_calls.load(), 2);
  std::lock_guard lock(mu);
  ASSERT_TRUE(resumed);
  EXPECT_TRUE(resumed->postcopy_resume);
  EXPECT_EQ(resumed->dest_uri, "qemu+tcp://10.213.77.3/system") << "same target";
  EXPECT_EQ(fake_->calls("start"), 0) << "never a second copy";
  EXPECT_EQ(job_.aborts(), 0);
}

// After the switch the source's QEMU is gone (crashed): the pages it held are lost. Nothing on the
// target either: the guest is lost on both hosts, said so and ended (it waited silently forever).
TEST_F(RunnerPostCopyTest, ASourceShutOffAfterTheSwitchWithNothingOnTheTargetEndsLost) {
  failAfterTheSwitch(
      testing::domainInfo(virt::DomainState::kShutOff, "ns_vm", virt::ShutoffReason::kCrashed),
      std::nullopt);
  ASSERT_TRUE(pollUntil([&] { return done_calls_.load() == 1; }));
  auto out = runner_->outcome("ns/mig");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->phase, api::MigrationPhase::kFailed);
  EXPECT_EQ(out->reason, "PostCopyGuestLost");
  EXPECT_NE(out->message.find("shut off (reason crashed)"), std::string::npos) << out->message;
  EXPECT_NE(out->message.find("the guest is lost"), std::string::npos) << out->message;
  EXPECT_GE(target_.asked(), 1);
  EXPECT_EQ(migrate_calls_.load(), 1) << "nothing to resume";
  EXPECT_EQ(fake_->calls("start"), 0) << "never restarted by the runner";
}

// The target holds the guest paused (its QEMU waits for pages the source no longer has): never
// restarted, not terminal, and said so; once the target runs it, the move completed.
TEST_F(RunnerPostCopyTest, ASourceShutOffAfterTheSwitchWithTheGuestPausedOnTheTargetIsReported) {
  failAfterTheSwitch(
      testing::domainInfo(virt::DomainState::kShutOff, "ns_vm", virt::ShutoffReason::kDestroyed),
      virt::DomainState::kPaused);
  ASSERT_TRUE(pollUntil([&] {
    auto pc = runner_->postCopy("ns/mig");
    return pc && pc->failed;
  }));
  auto pc = runner_->postCopy("ns/mig");
  EXPECT_NE(pc->message.find("paused on the target"), std::string::npos) << pc->message;
  EXPECT_NE(pc->message.find("operator"), std::string::npos) << pc->message;
  EXPECT_TRUE(runner_->running("ns/mig")) << "not terminal: the VM stays locked";
  target_.setState(virt::DomainState::kRunning);
  ASSERT_TRUE(pollUntil([&] {
    clock_->advance(1s);  // the recovery looks again after its back-off
    return done_calls_.load() == 1;
  }));
  EXPECT_EQ(runner_->outcome("ns/mig")->phase, api::MigrationPhase::kFinalizing);
  EXPECT_EQ(migrate_calls_.load(), 1);
  EXPECT_EQ(fake_->calls("start"), 0);
}

// Without connect_target the target cannot be asked: that is no verdict (the runner looks again),
// never "nothing there", which ended the guest Failed/PostCopyGuestLost while it may run there.
TEST_F(RunnerPostCopyTest, WithoutAWayToAskTheTargetAShutOffSourceIsNoVerdict) {
  failAfterTheSwitch(
      testing::domainInfo(virt::DomainState::kShutOff, "ns_vm", virt::ShutoffReason::kCrashed),
      std::nullopt, /*can_ask=*/false);
  ASSERT_TRUE(pollUntil([&] {
    auto pc = runner_->postCopy("ns/mig");
    return (pc && pc->failed) || done_calls_.load() > 0;
  }));
  ASSERT_EQ(done_calls_.load(), 0)
      << (runner_->outcome("ns/mig") ? runner_->outcome("ns/mig")->reason : "no outcome");
  auto pc = runner_->postCopy("ns/mig");
  EXPECT_FALSE(pc->lost);
  EXPECT_NE(pc->message.find("waiting for the target to tell where the guest is"),
            std::string::npos)
      << pc->message;
  for (int look = 0; look < 3; ++look) {  // it looks again after each back-off, still no verdict
    const int before = fake_->calls("lookup");
    ASSERT_TRUE(pollUntil([&] {
      clock_->advance(1s);
      return fake_->calls("lookup") > before;
    }));
  }
  EXPECT_TRUE(runner_->running("ns/mig"));
  EXPECT_EQ(done_calls_.load(), 0);
  EXPECT_EQ(target_.asked(), 0);
}

TEST_F(RunnerPostCopyTest, AFailureBeforeTheSwitchIsAnOrdinaryFailure) {
  fake_->migrate_hook = [](const std::string&, const virt::MigrateRequest&) {
    return core::unavailableError("unable to connect to server");
  };
  ASSERT_TRUE(runner_->start(postCopyJob({.enabled = true, .after_iterations = 5})));
  ASSERT_TRUE(pollUntil([&] { return done_calls_.load() == 1; }));
  auto out = runner_->outcome("ns/mig");
  EXPECT_EQ(out->phase, api::MigrationPhase::kFailed);
  EXPECT_FALSE(out->postcopy.active);
  EXPECT_EQ(fake_->calls("lookup"), 1)
      << "one look at the source domain confirms the failure (failed_call.h); no recovery";
  EXPECT_EQ(fake_->calls("start"), 0);
}

}  // namespace
}  // namespace novacron::node::migration
