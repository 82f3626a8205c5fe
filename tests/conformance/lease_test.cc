// coordination.k8s.io/v1 Lease: create, renew and takeover with optimistic concurrency, as leader
// election does it.
#include <gtest/gtest.h>

#include "tests/conformance/conformance_env.h"

namespace novacron::conformance {
namespace {

Cluster& c() {
  return Cluster::get();
}

Json lease(const std::string& name, const std::string& holder, const std::string& time) {
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"holderIdentity", holder},
            {"leaseDurationSeconds", 15},
            {"acquireTime", time},
            {"renewTime", time},
            {"leaseTransitions", 0}}}};
}

TEST(LeaseTest, CreateRenewAndConflictingTakeover) {
  const std::string name = c().uniqueName("leader");
  Response created = c().api().post(c().leases(), lease(name, "a", "2026-01-01T00:00:00.000000Z"));
  ASSERT_EQ(created.status, 201) << created.raw;
  EXPECT_EQ(created.body["spec"]["holderIdentity"], "a");
  EXPECT_EQ(created.body["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(created.body["spec"]["renewTime"], "2026-01-01T00:00:00.000000Z");

  // A second candidate racing on create loses.
  Response dup = c().api().post(c().leases(), lease(name, "b", "2026-01-01T00:00:00.000000Z"));
  EXPECT_EQ(dup.status, 409) << dup.raw;
  EXPECT_EQ(dup.body["reason"], "AlreadyExists");

  // Both read the same version; the holder renews first, the challenger's takeover then conflicts.
  Json holder_view = c().api().get(c().leases(name)).body;
  Json challenger_view = holder_view;
  holder_view["spec"]["renewTime"] = "2026-01-01T00:00:05.000000Z";
  Response renewed = c().api().put(c().leases(name), holder_view);
  ASSERT_EQ(renewed.status, 200) << renewed.raw;
  EXPECT_EQ(renewed.body["spec"]["renewTime"], "2026-01-01T00:00:05.000000Z");
  EXPECT_NE(renewed.body["metadata"]["resourceVersion"],
            holder_view["metadata"]["resourceVersion"]);

  challenger_view["spec"]["holderIdentity"] = "b";
  challenger_view["spec"]["leaseTransitions"] = 1;
  Response stolen = c().api().put(c().leases(name), challenger_view);
  EXPECT_EQ(stolen.status, 409) << stolen.raw;
  EXPECT_EQ(c().api().get(c().leases(name)).body["spec"]["holderIdentity"], "a");

  // With a fresh read (lease expired, say) the takeover succeeds.
  Json fresh = c().api().get(c().leases(name)).body;
  fresh["spec"]["holderIdentity"] = "b";
  fresh["spec"]["leaseTransitions"] = 1;
  fresh["spec"]["acquireTime"] = "2026-01-01T00:01:00.000000Z";
  Response taken = c().api().put(c().leases(name), fresh);
  ASSERT_EQ(taken.status, 200) << taken.raw;
  EXPECT_EQ(taken.body["spec"]["holderIdentity"], "b");
  EXPECT_EQ(taken.body["spec"]["leaseTransitions"], 1);
}

TEST(LeaseTest, EventsCanBeCreated) {
  const std::string name = c().uniqueName("event");
  Json ev = {{"apiVersion", "v1"},
             {"kind", "Event"},
             {"metadata", {{"name", name}}},
             {"involvedObject",
              {{"apiVersion", kWidgetApiVersion},
               {"kind", "Widget"},
               {"name", "w"},
               {"namespace", c().ns()}}},
             {"reason", "Testing"},
             {"message", "conformance"},
             {"type", "Normal"},
             {"count", 1},
             {"firstTimestamp", "2026-01-01T00:00:00Z"},
             {"lastTimestamp", "2026-01-01T00:00:00Z"},
             {"source", {{"component", "conformance"}}}};
  Response r = c().api().post(c().core("events"), ev);
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["reason"], "Testing");
}

}  // namespace
}  // namespace novacron::conformance
