// observeSourceDomain: one consistent observation of a migration's source domain from two reads,
// and never "no job" guessed from a read libvirt did not answer.
#include "node-daemon/migration/source_domain.h"

#include <atomic>

#include <gtest/gtest.h>

#include "node-daemon/virt/libvirt_connection.h"
#include "tests/mocks/fake_libvirt.h"

namespace novacron::node::migration {
namespace {

virt::DomainInfo domain(virt::DomainState state) {
  virt::DomainInfo d;
  d.name = "ns_vm";
  d.state = state;
  d.active = state != virt::DomainState::kShutOff;
  return d;
}

virt::JobStats job(virt::JobType type) {
  virt::JobStats s;
  s.type = type;
  return s;
}

class SourceDomainTest : public ::testing::Test {
protected:
  void SetUp() override {
    virt::LibvirtOptions lo;
    lo.uri = "test:///default";
    lo.keepalive_interval_s = -1;
    real_ = std::move(virt::openLibvirt(lo)).value();
    fake_ = std::make_unique<testing::FakeLibvirt>(*real_);
  }
  virt::ConnectionPtr real_;
  std::unique_ptr<testing::FakeLibvirt> fake_;
};

TEST_F(SourceDomainTest, AJobThatEndsBetweenTheReadsIsSeenAsTheStateAfterIt) {
  std::atomic<int> lookups{0};
  fake_->lookup_hook = [&](const std::string&) -> core::StatusOr<virt::DomainInfo> {
    if (++lookups == 1) {
      return domain(virt::DomainState::kRunning);  // read while the job still ran
    }
    auto d = domain(virt::DomainState::kShutOff);  // the move completed meanwhile
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
  fake_->lookup_hook = [](const std::string&) -> core::StatusOr<virt::DomainInfo> {
    return domain(virt::DomainState::kRunning);
  };
  fake_->job_stats_hook = [](const std::string&) -> core::StatusOr<virt::JobStats> {
    return core::unavailableError("libvirt jobStats: End of file while reading data");
  };
  auto seen = observeSourceDomain(*fake_, "ns_vm");
  ASSERT_FALSE(seen.isOk());
  EXPECT_EQ(seen.status().code(), core::StatusCode::kUnavailable);
}

// libvirt's test driver cannot report jobs at all ("this function is not supported"): an answer,
// and no job (the fault suite's migrations hung in Migrating while this counted as no answer).
TEST_F(SourceDomainTest, AJobReadTheDriverRefusesIsNoJob) {
  fake_->lookup_hook = [](const std::string&) -> core::StatusOr<virt::DomainInfo> {
    return domain(virt::DomainState::kRunning);
  };
  fake_->job_stats_hook = [](const std::string&) -> core::StatusOr<virt::JobStats> {
    return core::invalidArgumentError("libvirt jobStats: this function is not supported");
  };
  auto seen = observeSourceDomain(*fake_, "ns_vm");
  ASSERT_TRUE(seen.isOk()) << seen.status().toString();
  EXPECT_FALSE(seen->job_running);
  EXPECT_EQ(seen->domain->state, virt::DomainState::kRunning);
}

TEST_F(SourceDomainTest, ARunningJobIsReportedWithTheDomain) {
  fake_->lookup_hook = [](const std::string&) -> core::StatusOr<virt::DomainInfo> {
    return domain(virt::DomainState::kRunning);
  };
  fake_->job_stats_hook = [](const std::string&) {
    return core::StatusOr<virt::JobStats>(job(virt::JobType::kUnbounded));
  };
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

}  // namespace
}  // namespace novacron::node::migration
