// RestClient over a scripted transport: exact requests, error mapping, watch streaming, rate
// limiting and metrics.
#include "lib/kube/rest_client.h"

#include <chrono>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "lib/kube/list_items.h"
#include "tests/mocks/fake_clock.h"
#include "tests/mocks/fake_http_transport.h"
#include "tests/testing/eventually.h"

namespace novacron::kube {
namespace {

using ::testing::ElementsAre;
using testing::FakeHttpTransport;
using ::testing::HasSubstr;

class RestClientTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto transport = std::make_unique<FakeHttpTransport>();
    transport_ = transport.get();
    registry_ = std::make_shared<prometheus::Registry>();
    clock_ = std::make_shared<testing::FakeClock>();
    RestClientOptions options;
    options.qps = 0;  // unlimited unless a test says otherwise
    options.registry = registry_;
    options.clock = clock_;
    options.timeout = std::chrono::seconds(7);
    client_ = newRestClient(std::move(transport), options);
  }

  static std::string header(const HttpRequest& request, const std::string& name) {
    return findHeader(request.headers, name).value_or("<none>");
  }

  double counter(const std::string& code, const std::string& method, const std::string& resource) {
    for (const auto& family : registry_->Collect()) {
      if (family.name != "rest_client_requests_total") {
        continue;
      }
      for (const auto& metric : family.metric) {
        std::map<std::string, std::string> labels;
        for (const auto& label : metric.label) {
          labels[label.name] = label.value;
        }
        if (labels["code"] == code && labels["method"] == method &&
            labels["resource"] == resource) {
          return metric.counter.value;
        }
      }
    }
    return 0;
  }

  FakeHttpTransport* transport_ = nullptr;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<testing::FakeClock> clock_;
  ClientPtr client_;
};

TEST_F(RestClientTest, GetSendsExactRequest) {
  transport_->pushResponse(200, R"({"metadata":{"name":"vm-1","resourceVersion":"7"}})");
  auto vm = client_->get(kVirtualMachine, "default", "vm-1");
  ASSERT_TRUE(vm.isOk()) << vm.status();
  EXPECT_EQ((*vm)["metadata"]["resourceVersion"], "7");
  HttpRequest request = transport_->lastRequest();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/apis/novacron.io/v1alpha1/namespaces/default/virtualmachines/vm-1");
  EXPECT_EQ(header(request, "Accept"), "application/json");
  EXPECT_EQ(header(request, "Content-Type"), "<none>");
  EXPECT_EQ(request.body, "");
  EXPECT_EQ(request.timeout, std::chrono::seconds(7));
  EXPECT_EQ(counter("200", "GET", "virtualmachines.novacron.io"), 1);
}

TEST_F(RestClientTest, ListEncodesOptions) {
  transport_->pushResponse(200, R"({"items":[],"metadata":{"resourceVersion":"9"}})");
  ListOptions options;
  options.label_selector = "novacron.io/hypervisor=node-a";
  options.field_selector = "metadata.name!=x";
  options.limit = 50;
  options.continue_token = "abc=";
  options.resource_version = "0";
  ASSERT_TRUE(client_->list(kVirtualMachine, "", options).isOk());
  EXPECT_EQ(transport_->lastRequest().path,
            "/apis/novacron.io/v1alpha1/virtualmachines?labelSelector=novacron.io%2Fhypervisor%"
            "3Dnode-a&fieldSelector=metadata.name%21%3Dx&limit=50&continue=abc%3D&"
            "resourceVersion=0");
}

// listItems(): each element of "items" is handed out whole, in order, as it is parsed (objects
// nested in an item, arrays of objects included, stay inside it); the List object comes back
// without its items; the request is list()'s; errors are list()'s.
TEST_F(RestClientTest, ListItemsHandsOutEachItemAndReturnsTheListWithoutThem) {
  transport_->pushResponse(
      200, R"({"kind":"VirtualMachineList","metadata":{"resourceVersion":"9","continue":"c1"},)"
           R"("items":[{"metadata":{"name":"a","labels":{"x":"1"}},)"
           R"("spec":{"disks":[{"name":"root","image":{"url":"u"}},{"name":"seed"}]}},)"
           R"({"metadata":{"name":"b"}}],"extra":[{"not":"an item"}]})");
  ASSERT_NE(dynamic_cast<ItemLister*>(client_.get()), nullptr);  // parses item by item
  ListOptions options;
  options.limit = 2;
  std::vector<Json> items;
  auto list = listItems(*client_, kVirtualMachine, "ns", options,
                        [&](Json&& item) { items.push_back(std::move(item)); });
  ASSERT_TRUE(list.isOk()) << list.status();
  EXPECT_EQ(transport_->lastRequest().path,
            "/apis/novacron.io/v1alpha1/namespaces/ns/virtualmachines?limit=2");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["metadata"]["name"], "a");
  EXPECT_EQ(items[0]["metadata"]["labels"]["x"], "1");
  ASSERT_EQ(items[0]["spec"]["disks"].size(), 2u);
  EXPECT_EQ(items[0]["spec"]["disks"][0]["image"]["url"], "u");
  EXPECT_EQ(items[1], (Json{{"metadata", {{"name", "b"}}}}));
  EXPECT_EQ((*list)["metadata"]["continue"], "c1");
  EXPECT_EQ((*list)["metadata"]["resourceVersion"], "9");
  EXPECT_TRUE((*list)["items"].empty());
  EXPECT_EQ((*list)["extra"], (Json::array({{{"not", "an item"}}})));

  transport_->pushResponse(410, R"({"kind":"Status","code":410,"reason":"Expired"})");
  items.clear();
  auto gone = listItems(*client_, kVirtualMachine, "ns", options,
                        [&](Json&& item) { items.push_back(std::move(item)); });
  EXPECT_EQ(gone.status().code(), core::StatusCode::kGone);
  EXPECT_TRUE(items.empty());
}

TEST_F(RestClientTest, CreateUpdateStatusPatchDelete) {
  Json object = {{"apiVersion", "v1"},
                 {"kind", "ConfigMap"},
                 {"metadata", {{"name", "cfg"}, {"namespace", "ns1"}, {"resourceVersion", "5"}}},
                 {"data", {{"k", "v"}}}};
  transport_->setHandler([](const HttpRequest&) -> core::StatusOr<HttpResponse> {
    return HttpResponse{200, {}, R"({"kind":"ConfigMap"})"};
  });

  ASSERT_TRUE(client_->create(kConfigMap, "", object).isOk());
  HttpRequest create = transport_->lastRequest();
  EXPECT_EQ(create.method, "POST");
  EXPECT_EQ(create.path, "/api/v1/namespaces/ns1/configmaps");
  EXPECT_EQ(header(create, "Content-Type"), "application/json");
  EXPECT_EQ(Json::parse(create.body), object);

  ASSERT_TRUE(client_->update(kConfigMap, "ns1", object).isOk());
  EXPECT_EQ(transport_->lastRequest().method, "PUT");
  EXPECT_EQ(transport_->lastRequest().path, "/api/v1/namespaces/ns1/configmaps/cfg");

  ASSERT_TRUE(client_->updateStatus(kVirtualMachine, "", object).isOk());
  EXPECT_EQ(transport_->lastRequest().path,
            "/apis/novacron.io/v1alpha1/namespaces/ns1/virtualmachines/cfg/status");

  Json merge = {{"metadata", {{"labels", {{"a", "b"}}}}}};
  ASSERT_TRUE(
      client_->patch(kVirtualMachine, "ns1", "vm", PatchType::kMerge, merge, "status").isOk());
  HttpRequest patch = transport_->lastRequest();
  EXPECT_EQ(patch.method, "PATCH");
  EXPECT_EQ(patch.path, "/apis/novacron.io/v1alpha1/namespaces/ns1/virtualmachines/vm/status");
  EXPECT_EQ(header(patch, "Content-Type"), "application/merge-patch+json");
  EXPECT_EQ(Json::parse(patch.body), merge);

  Json ops = Json::array({{{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", "5"}},
                          {{"op", "remove"}, {"path", "/metadata/finalizers/0"}}});
  ASSERT_TRUE(client_->patch(kHypervisor, "", "node-a", PatchType::kJsonPatch, ops).isOk());
  EXPECT_EQ(transport_->lastRequest().path, "/apis/novacron.io/v1alpha1/hypervisors/node-a");
  EXPECT_EQ(header(transport_->lastRequest(), "Content-Type"), "application/json-patch+json");

  DeleteOptions del;
  del.precondition_uid = "u-1";
  del.precondition_resource_version = "5";
  del.propagation_policy = "Foreground";
  ASSERT_TRUE(client_->remove(kLease, "kube-system", "leader", del).isOk());
  HttpRequest remove = transport_->lastRequest();
  EXPECT_EQ(remove.method, "DELETE");
  EXPECT_EQ(remove.path, "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/leader");
  EXPECT_EQ(Json::parse(remove.body),
            (Json{{"apiVersion", "v1"},
                  {"kind", "DeleteOptions"},
                  {"preconditions", {{"uid", "u-1"}, {"resourceVersion", "5"}}},
                  {"propagationPolicy", "Foreground"}}));

  ASSERT_TRUE(client_->remove(kLease, "kube-system", "leader").isOk());
  EXPECT_EQ(transport_->lastRequest().body, "");
}

TEST_F(RestClientTest, MissingNameOrNamespaceIsRejectedLocally) {
  EXPECT_EQ(client_->get(kVirtualMachine, "", "a").status().code(),
            core::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->update(kConfigMap, "ns", Json{{"metadata", Json::object()}}).status().code(),
            core::StatusCode::kInvalidArgument);
  EXPECT_EQ(transport_->requestCount(), 0u);
}

TEST_F(RestClientTest, ErrorsAreMapped) {
  transport_->pushResponse(409,
                           R"({"kind":"Status","code":409,"reason":"Conflict","message":"stale"})");
  Json object = {{"metadata", {{"name", "a"}, {"namespace", "n"}, {"resourceVersion", "1"}}}};
  auto conflict = client_->update(kVirtualMachine, "", object);
  EXPECT_EQ(conflict.status().code(), core::StatusCode::kConflict);
  EXPECT_THAT(conflict.status().message(), HasSubstr("PUT /apis/novacron.io"));

  transport_->pushResponse(
      409, R"({"kind":"Status","code":409,"reason":"AlreadyExists","message":"exists"})");
  EXPECT_EQ(client_->create(kVirtualMachine, "n", object).status().code(),
            core::StatusCode::kAlreadyExists);

  transport_->pushResponse(429, R"({"kind":"Status","code":429,"reason":"TooManyRequests"})",
                           {{"Retry-After", "4"}});
  auto throttled = client_->get(kVirtualMachine, "n", "a");
  EXPECT_EQ(throttled.status().code(), core::StatusCode::kResourceExhausted);
  EXPECT_EQ(throttled.status().retryAfter(), std::chrono::milliseconds(4000));

  transport_->pushError(core::unavailableError("connection refused"));
  auto down = client_->get(kVirtualMachine, "n", "a");
  EXPECT_EQ(down.status().code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(counter("<error>", "GET", "virtualmachines.novacron.io"), 1);
  EXPECT_EQ(counter("429", "GET", "virtualmachines.novacron.io"), 1);

  // kube-apiserver answers a failed JSON-patch "test" op with a generic 422: that is a conflict.
  Json ops = Json::array({{{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", "1"}}});
  transport_->pushResponse(
      422,
      R"({"kind":"Status","code":422,"reason":"Invalid","message":"the server rejected our request due to an error in our request","details":{}})");
  EXPECT_EQ(client_->patch(kVirtualMachine, "n", "a", PatchType::kJsonPatch, ops).status().code(),
            core::StatusCode::kConflict);
  // With field causes (schema validation of the result) it stays InvalidArgument, and a merge
  // patch is never reinterpreted.
  std::string invalid =
      R"({"kind":"Status","code":422,"reason":"Invalid","message":"bad","details":{"causes":[{"field":"spec.cpus","message":"too big"}]}})";
  transport_->pushResponse(422, invalid);
  EXPECT_EQ(client_->patch(kVirtualMachine, "n", "a", PatchType::kJsonPatch, ops).status().code(),
            core::StatusCode::kInvalidArgument);
  transport_->pushResponse(422, R"({"kind":"Status","code":422,"reason":"Invalid","details":{}})");
  EXPECT_EQ(
      client_->patch(kVirtualMachine, "n", "a", PatchType::kMerge, Json::object()).status().code(),
      core::StatusCode::kInvalidArgument);

  transport_->pushResponse(200, "not json");
  EXPECT_EQ(client_->get(kVirtualMachine, "n", "a").status().code(), core::StatusCode::kInternal);
}

TEST_F(RestClientTest, RateLimiterDelaysRequests) {
  auto transport = std::make_unique<FakeHttpTransport>();
  transport->setHandler([](const HttpRequest&) -> core::StatusOr<HttpResponse> {
    return HttpResponse{200, {}, "{}"};
  });
  std::vector<std::chrono::nanoseconds> sleeps;
  RestClientOptions options;
  options.qps = 2;
  options.burst = 2;
  options.clock = clock_;
  options.registry = registry_;
  options.sleep = [&](std::chrono::nanoseconds d) { sleeps.push_back(d); };
  ClientPtr client = newRestClient(std::move(transport), options);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(client->get(kConfigMap, "n", "a").isOk());
  }
  EXPECT_THAT(sleeps, ElementsAre(std::chrono::milliseconds(500), std::chrono::milliseconds(1000)));
}

// Collects watch events for assertions; waitFor polls with a deadline.
struct Events {
  std::mutex mu;
  std::vector<std::string> seen;
  WatchCallback callback(bool keep_going = true) {
    return [this, keep_going](WatchEvent&& e) {
      std::lock_guard lock(mu);
      std::string rv = e.object.contains("metadata")
                           ? e.object["metadata"].value("resourceVersion", std::string("-"))
                           : "-";
      seen.push_back(std::string(watchEventTypeName(e.type)) + " " + rv);
      return keep_going;
    };
  }
  bool waitFor(size_t n) {
    return novacron::testing::eventually([&] {
      std::lock_guard lock(mu);
      return seen.size() >= n;
    });
  }
};

TEST_F(RestClientTest, WatchStreamsEventsAsTheyArrive) {
  auto stream = transport_->pushStream();
  Events events;
  WatchOptions options;
  options.resource_version = "10";
  options.timeout_seconds = 300;
  options.label_selector = "a=b";
  auto handle = client_->watch(kVirtualMachine, "default", options, events.callback());
  ASSERT_TRUE(handle.isOk()) << handle.status();
  HttpRequest request = transport_->lastRequest();
  EXPECT_EQ(request.path,
            "/apis/novacron.io/v1alpha1/namespaces/default/virtualmachines?watch=true&"
            "resourceVersion=10&allowWatchBookmarks=true&timeoutSeconds=300&labelSelector=a%3Db");
  EXPECT_EQ(request.timeout, std::chrono::seconds(360));

  stream->pushLine(R"({"type":"ADDED","object":{"metadata":{"resourceVersion":"11"}}})");
  ASSERT_TRUE(events.waitFor(1));  // delivered before the stream ends
  stream->pushLine(R"({"type":"MODIFIED","object":{"metadata":{"resourceVersion":"12"}}})");
  stream->pushLine(R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"13"}}})");
  stream->pushLine(R"({"type":"DELETED","object":{"metadata":{"resourceVersion":"14"}}})");
  ASSERT_TRUE(events.waitFor(4));
  EXPECT_FALSE((*handle)->done());
  stream->finish();
  EXPECT_TRUE((*handle)->wait().isOk());
  EXPECT_THAT(events.seen, ElementsAre("ADDED 11", "MODIFIED 12", "BOOKMARK 13", "DELETED 14"));
}

TEST_F(RestClientTest, WatchErrorEventGoneEndsWatch) {
  auto stream = transport_->pushStream();
  Events events;
  auto handle = client_->watch(kVirtualMachine, "default", {}, events.callback());
  ASSERT_TRUE(handle.isOk());
  stream->pushLine(
      R"js({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version: 1 (5)"}})js");
  core::Status end = (*handle)->wait();
  EXPECT_EQ(end.code(), core::StatusCode::kGone);
  EXPECT_THAT(end.message(), HasSubstr("too old resource version"));
  EXPECT_THAT(events.seen, ElementsAre("ERROR -"));
  EXPECT_TRUE(stream->cancelled());
}

TEST_F(RestClientTest, WatchHttpErrorsAndTransportFailures) {
  transport_->pushStream(410, R"({"kind":"Status","code":410,"reason":"Expired","message":"old"})");
  Events events;
  EXPECT_EQ(client_->watch(kVirtualMachine, "default", {}, events.callback()).status().code(),
            core::StatusCode::kGone);
  transport_->pushStreamError(core::unavailableError("refused"));
  EXPECT_EQ(client_->watch(kVirtualMachine, "default", {}, events.callback()).status().code(),
            core::StatusCode::kUnavailable);

  auto stream = transport_->pushStream();
  auto handle = client_->watch(kVirtualMachine, "default", {}, events.callback());
  ASSERT_TRUE(handle.isOk());
  stream->finish(core::deadlineExceededError("read timed out"));
  EXPECT_EQ((*handle)->wait().code(), core::StatusCode::kDeadlineExceeded);

  auto garbage = transport_->pushStream();
  auto handle2 = client_->watch(kVirtualMachine, "default", {}, events.callback());
  ASSERT_TRUE(handle2.isOk());
  garbage->pushLine("{not json");
  EXPECT_EQ((*handle2)->wait().code(), core::StatusCode::kInternal);
}

TEST_F(RestClientTest, WatchStopAndCallbackStop) {
  auto stream = transport_->pushStream();
  Events events;
  auto handle = client_->watch(kConfigMap, "n", {}, events.callback());
  ASSERT_TRUE(handle.isOk());
  (*handle)->stop();
  EXPECT_EQ((*handle)->wait().code(), core::StatusCode::kCancelled);
  EXPECT_TRUE((*handle)->done());

  auto stream2 = transport_->pushStream();
  Events once;
  auto handle2 = client_->watch(kConfigMap, "n", {}, once.callback(/*keep_going=*/false));
  ASSERT_TRUE(handle2.isOk());
  stream2->pushLine(R"({"type":"ADDED","object":{"metadata":{"resourceVersion":"1"}}})");
  stream2->pushLine(R"({"type":"ADDED","object":{"metadata":{"resourceVersion":"2"}}})");
  EXPECT_EQ((*handle2)->wait().code(), core::StatusCode::kCancelled);
  EXPECT_THAT(once.seen, ElementsAre("ADDED 1"));
}

}  // namespace
}  // namespace novacron::kube
