#include "lib/runtime/event_recorder.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "tests/mocks/fake_clock.h"
#include "tests/mocks/mock_kube_client.h"

namespace novacron::runtime {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using testing::FakeClient;

json vm(const std::string& name) {
  return {
      {"apiVersion", "novacron.io/v1alpha1"},
      {"kind", "VirtualMachine"},
      {"metadata",
       {{"name", name}, {"namespace", "ns"}, {"uid", "uid-" + name}, {"resourceVersion", "7"}}}};
}

class EventRecorderTest : public ::testing::Test {
protected:
  EventRecorderOptions options() {
    EventRecorderOptions o;
    o.component = "novacron-controller";
    o.host = "node-1";
    o.clock = clock_;
    o.registry = registry_;
    return o;
  }
  std::vector<json> events() { return fake_->objects(kube::kCoreEvent); }
  double dropped(const std::string& reason) {
    for (const auto& f : registry_->Collect()) {
      if (f.name == "novacron_events_dropped_total") {
        for (const auto& m : f.metric) {
          if (m.label.at(0).value == reason) {
            return m.counter.value;
          }
        }
      }
    }
    return -1;
  }

  std::shared_ptr<testing::FakeClock> clock_ = std::make_shared<testing::FakeClock>();
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<FakeClient> fake_ = std::make_shared<FakeClient>(clock_);
};

TEST_F(EventRecorderTest, CreatesACoreV1EventAboutTheObject) {
  EventRecorder recorder(fake_, options());
  recorder.event(vm("web"), "Normal", "Scheduled", "placed on h1");
  ASSERT_TRUE(recorder.flush(seconds(10)));
  auto all = events();
  ASSERT_EQ(all.size(), 1u);
  const json& e = all[0];
  EXPECT_EQ(e["metadata"]["namespace"], "ns");
  EXPECT_EQ(e["metadata"]["name"].get<std::string>().rfind("web.", 0), 0u);
  EXPECT_EQ(e["involvedObject"], json({{"apiVersion", "novacron.io/v1alpha1"},
                                       {"kind", "VirtualMachine"},
                                       {"name", "web"},
                                       {"namespace", "ns"},
                                       {"uid", "uid-web"},
                                       {"resourceVersion", "7"}}));
  EXPECT_EQ(e["type"], "Normal");
  EXPECT_EQ(e["reason"], "Scheduled");
  EXPECT_EQ(e["message"], "placed on h1");
  EXPECT_EQ(e["count"], 1);
  EXPECT_EQ(e["source"]["component"], "novacron-controller");
  EXPECT_EQ(e["source"]["host"], "node-1");
  EXPECT_EQ(e["firstTimestamp"], e["lastTimestamp"]);
}

TEST_F(EventRecorderTest, AggregatesRepeatsIntoOneEventWithACount) {
  EventRecorder recorder(fake_, options());
  recorder.event(vm("web"), "Warning", "StartFailed", "no capacity");
  ASSERT_TRUE(recorder.flush(seconds(10)));
  const std::string first = events()[0]["firstTimestamp"];
  clock_->advance(seconds(30));
  recorder.event(vm("web"), "Warning", "StartFailed", "no capacity");
  recorder.event(vm("web"), "Warning", "StartFailed", "no capacity");
  recorder.event(vm("web"), "Warning", "StartFailed", "other message");
  recorder.event(vm("db"), "Warning", "StartFailed", "no capacity");
  ASSERT_TRUE(recorder.flush(seconds(10)));
  auto all = events();
  ASSERT_EQ(all.size(), 3u);
  int repeated = 0;
  for (const auto& e : all) {
    if (e["involvedObject"]["name"] == "web" && e["message"] == "no capacity") {
      ++repeated;
      EXPECT_EQ(e["count"], 3);
      EXPECT_EQ(e["firstTimestamp"], first);
      EXPECT_NE(e["lastTimestamp"], first);
    }
  }
  EXPECT_EQ(repeated, 1);
}

TEST_F(EventRecorderTest, StartsANewEventWhenTheAggregatedOneExpired) {
  EventRecorder recorder(fake_, options());
  recorder.event(vm("web"), "Normal", "Started", "up");
  ASSERT_TRUE(recorder.flush(seconds(10)));
  const std::string name = events()[0]["metadata"]["name"];
  ASSERT_TRUE(fake_->remove(kube::kCoreEvent, "ns", name).isOk());
  recorder.event(vm("web"), "Normal", "Started", "up");
  ASSERT_TRUE(recorder.flush(seconds(10)));
  auto all = events();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["count"], 1);
}

TEST_F(EventRecorderTest, RateLimitsPerObjectAndRefillsOverTime) {
  auto o = options();
  o.burst = 3;
  o.qps = 1.0 / 60.0;
  EventRecorder recorder(fake_, o);
  for (int i = 0; i < 5; ++i) {
    recorder.event(vm("web"), "Normal", "Step", "step " + std::to_string(i));
  }
  recorder.event(vm("db"), "Normal", "Step", "other object is not limited");
  ASSERT_TRUE(recorder.flush(seconds(10)));
  EXPECT_EQ(events().size(), 4u);
  EXPECT_EQ(dropped("rate_limited"), 2);
  clock_->advance(seconds(60));
  recorder.event(vm("web"), "Normal", "Step", "after refill");
  ASSERT_TRUE(recorder.flush(seconds(10)));
  EXPECT_EQ(events().size(), 5u);
}

TEST_F(EventRecorderTest, WriteFailuresAreCountedNotThrown) {
  fake_->failNext(FakeClient::Verb::kCreate, "events", core::unavailableError("down"));
  EventRecorder recorder(fake_, options());
  recorder.event(vm("web"), "Normal", "Started", "up");
  ASSERT_TRUE(recorder.flush(seconds(10)));
  EXPECT_TRUE(events().empty());
  EXPECT_EQ(dropped("write_failed"), 1);
}

TEST_F(EventRecorderTest, ClusterScopedObjectsGetEventsInDefault) {
  EventRecorder recorder(fake_, options());
  recorder.event(json{{"apiVersion", "novacron.io/v1alpha1"},
                      {"kind", "Hypervisor"},
                      {"metadata", {{"name", "h1"}}}},
                 "Warning", "HeartbeatMissed", "no heartbeat for 40s");
  ASSERT_TRUE(recorder.flush(seconds(10)));
  ASSERT_EQ(events().size(), 1u);
  EXPECT_EQ(events()[0]["metadata"]["namespace"], "default");
  EXPECT_FALSE(events()[0]["involvedObject"].contains("namespace"));
}

}  // namespace
}  // namespace novacron::runtime
