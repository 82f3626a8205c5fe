// LibvirtConnection against libvirt's in-process test driver (test:///default): real libvirt
// code paths, no daemon.
#include "node-daemon/virt/libvirt_connection.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "node-daemon/virt/domain_type.h"
#include "tests/testing/eventually.h"

namespace novacron::node::virt {
namespace {

using namespace std::chrono_literals;

ConnectionPtr openTest() {
  LibvirtOptions options;
  options.uri = "test:///default";
  options.keepalive_interval_s = -1;
  auto conn = openLibvirt(options);
  EXPECT_TRUE(conn.isOk()) << conn.status();
  return std::move(conn).value();
}

std::string domainXml(const std::string& name, const std::string& uuid) {
  return "<domain type='test'><name>" + name + "</name><uuid>" + uuid +
         "</uuid><memory unit='KiB'>131072</memory><vcpu>2</vcpu><os><type>hvm</type></os>"
         "<metadata><nc:vm xmlns:nc='https://novacron.io/xmlns/domain/1'><nc:uid>u-1</nc:uid>"
         "</nc:vm></metadata></domain>";
}

TEST(LibvirtConnection, NodeInfoAndCapabilities) {
  auto conn = openTest();
  ASSERT_TRUE(conn->ping().isOk());
  auto info = conn->nodeInfo();
  ASSERT_TRUE(info.isOk()) << info.status();
  EXPECT_GT(info->cpus, 0u);
  EXPECT_GT(info->memory_kib, 0u);
  auto caps = conn->capabilities();
  ASSERT_TRUE(caps.isOk()) << caps.status();
  EXPECT_EQ(caps->hypervisor_type, "TEST");
  EXPECT_GT(caps->libvirt_version, 0u);
  EXPECT_EQ(*chooseDomainType(*caps, false, "auto"), "test");
}

TEST(LibvirtConnection, UnreachableUriIsUnavailable) {
  LibvirtOptions options;
  options.uri = "qemu+unix:///system?socket=/nonexistent/novacron-test.sock";
  auto conn = openLibvirt(options);
  ASSERT_FALSE(conn.isOk());
  EXPECT_EQ(conn.status().code(), core::StatusCode::kUnavailable);
}

TEST(LibvirtConnection, LifecycleWithEvents) {
  auto conn = openTest();
  std::mutex mu;
  std::vector<DomainEventType> seen;
  int sub = conn->subscribe([&](const DomainEvent& ev) {
    if (ev.name == "nc-lifecycle") {
      std::lock_guard lock(mu);
      seen.push_back(ev.type);
    }
  });
  const std::string uuid = "6f1a3f4e-0c59-4b44-9a5f-1b2c3d4e5f60";
  auto defined = conn->defineDomain(domainXml("nc-lifecycle", uuid));
  ASSERT_TRUE(defined.isOk()) << defined.status();
  EXPECT_EQ(defined->uuid, uuid);
  EXPECT_EQ(defined->state, DomainState::kShutOff);
  EXPECT_TRUE(defined->persistent);
  EXPECT_EQ(defined->vcpus, 2u);

  ASSERT_TRUE(conn->startDomain("nc-lifecycle").isOk());
  EXPECT_EQ(conn->lookupByName("nc-lifecycle")->state, DomainState::kRunning);
  EXPECT_EQ(conn->lookupByUuid(uuid)->name, "nc-lifecycle");

  ASSERT_TRUE(conn->suspendDomain("nc-lifecycle").isOk());
  EXPECT_EQ(conn->lookupByName("nc-lifecycle")->state, DomainState::kPaused);
  ASSERT_TRUE(conn->resumeDomain("nc-lifecycle").isOk());
  EXPECT_EQ(conn->lookupByName("nc-lifecycle")->state, DomainState::kRunning);

  auto md = conn->domainMetadata("nc-lifecycle", "https://novacron.io/xmlns/domain/1");
  ASSERT_TRUE(md.isOk()) << md.status();
  EXPECT_NE(md->find("u-1"), std::string::npos);
  auto no_md = conn->domainMetadata("nc-lifecycle", "https://example.com/other");
  EXPECT_EQ(no_md.status().code(), core::StatusCode::kNotFound);

  ASSERT_TRUE(conn->destroyDomain("nc-lifecycle").isOk());
  EXPECT_EQ(conn->lookupByName("nc-lifecycle")->state, DomainState::kShutOff);
  // Stopping a stopped domain: the caller learns it is already in that state.
  EXPECT_EQ(conn->destroyDomain("nc-lifecycle").code(), core::StatusCode::kFailedPrecondition);

  ASSERT_TRUE(conn->undefineDomain("nc-lifecycle").isOk());
  EXPECT_EQ(conn->lookupByName("nc-lifecycle").status().code(), core::StatusCode::kNotFound);
  EXPECT_EQ(conn->startDomain("nc-lifecycle").code(), core::StatusCode::kNotFound);

  EXPECT_TRUE(novacron::testing::eventually([&] {
    std::lock_guard lock(mu);
    return std::find(seen.begin(), seen.end(), DomainEventType::kUndefined) != seen.end();
  })) << "no undefined event";
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(seen.front(), DomainEventType::kDefined);
    EXPECT_NE(std::find(seen.begin(), seen.end(), DomainEventType::kStarted), seen.end());
    EXPECT_NE(std::find(seen.begin(), seen.end(), DomainEventType::kSuspended), seen.end());
    EXPECT_NE(std::find(seen.begin(), seen.end(), DomainEventType::kStopped), seen.end());
  }
  conn->unsubscribe(sub);
}

TEST(LibvirtConnection, RejectsBadXmlAndDuplicateUuid) {
  auto conn = openTest();
  auto bad = conn->defineDomain("<domain type='test'><name>x</name>");
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().code(), core::StatusCode::kInvalidArgument) << bad.status();

  const std::string uuid = "7f1a3f4e-0c59-4b44-9a5f-1b2c3d4e5f61";
  ASSERT_TRUE(conn->defineDomain(domainXml("nc-dup-a", uuid)).isOk());
  auto dup = conn->defineDomain(domainXml("nc-dup-b", uuid));
  EXPECT_FALSE(dup.isOk());
  ASSERT_TRUE(conn->undefineDomain("nc-dup-a").isOk());
}

TEST(LibvirtConnection, ListDomains) {
  auto conn = openTest();
  ASSERT_TRUE(
      conn->defineDomain(domainXml("nc-list", "8f1a3f4e-0c59-4b44-9a5f-1b2c3d4e5f62")).isOk());
  auto all = conn->listDomains();
  ASSERT_TRUE(all.isOk()) << all.status();
  bool found = false;
  for (const auto& d : *all) {
    found = found || d.name == "nc-list";
  }
  EXPECT_TRUE(found);
  ASSERT_TRUE(conn->undefineDomain("nc-list").isOk());
}

// Regression (issue 18): a reconnect that hangs (libvirtd restarting, slow to answer) must not
// hold the connection mutex: every caller gets Unavailable at once, and the connection comes back
// by itself once libvirtd answers.
TEST(LibvirtConnection, ASlowReconnectRunsInTheBackgroundAndCallersFailFast) {
  std::atomic<bool> alive{true};
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool gate_open = true;  // guarded by gate_mu
  int attempts = 0;       // guarded by gate_mu
  LibvirtOptions options;
  options.uri = "test:///default";
  options.keepalive_interval_s = -1;
  options.reconnect_backoff = core::BackoffPolicy{1ms, 1ms, 1.0, 0.0};
  options.alive = [&] { return alive.load(); };
  options.before_connect = [&] {
    std::unique_lock lock(gate_mu);
    ++attempts;
    gate_cv.notify_all();
    gate_cv.wait(lock, [&] { return gate_open; });
    return core::okStatus();
  };
  auto opened = openLibvirt(options);
  ASSERT_TRUE(opened.isOk()) << opened.status();
  ConnectionPtr conn = std::move(opened).value();
  ASSERT_TRUE(conn->ping().isOk());

  auto open_gate = [&] {
    {
      std::lock_guard lock(gate_mu);
      gate_open = true;
    }
    gate_cv.notify_all();
  };
  struct OpenGate {
    std::function<void()> fn;
    ~OpenGate() { fn(); }
  } open_gate_at_exit{open_gate};
  {
    std::lock_guard lock(gate_mu);
    gate_open = false;
  }
  alive = false;  // libvirtd went away; the reconnect will hang until the gate opens

  auto pinged = std::async(std::launch::async, [&] { return conn->ping(); });
  ASSERT_EQ(pinged.wait_for(10s), std::future_status::ready) << "ping waits for the reconnect";
  EXPECT_EQ(pinged.get().code(), core::StatusCode::kUnavailable);
  {
    std::unique_lock lock(gate_mu);
    ASSERT_TRUE(gate_cv.wait_for(lock, 10s, [&] { return attempts >= 2; }));  // one hangs now
  }
  auto listed = std::async(std::launch::async, [&] { return conn->ping(); });
  ASSERT_EQ(listed.wait_for(10s), std::future_status::ready) << "a second caller waits too";
  EXPECT_EQ(listed.get().code(), core::StatusCode::kUnavailable);

  alive = true;
  open_gate();
  EXPECT_TRUE(novacron::testing::eventually([&] { return conn->ping().isOk(); }));
}

}  // namespace
}  // namespace novacron::node::virt
