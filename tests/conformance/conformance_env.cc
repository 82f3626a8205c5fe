#include "tests/conformance/conformance_env.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <random>

#include <gtest/gtest.h>

#include "lib/kube/config.h"
#include "lib/kube/cpprestsdk_transport.h"
#include "tests/testing/dev_cluster.h"

namespace novacron::conformance {

struct Cluster::State {
  std::unique_ptr<testing::DevCluster> dev_cluster;
  kube::HttpTransportPtr transport;
  std::unique_ptr<Api> api;
  std::mutex mu;
};

Cluster& Cluster::get() {
  static Cluster cluster;
  return cluster;
}

Api& Cluster::api() {
  return *state_->api;
}
kube::HttpTransport& Cluster::transport() {
  return *state_->transport;
}

std::string Cluster::widgets() const {
  return std::string("/apis/") + kGroup + "/v1/namespaces/" + ns_ + "/widgets";
}

std::string Cluster::core(const std::string& resource, const std::string& name) const {
  return "/api/v1/namespaces/" + ns_ + "/" + resource + (name.empty() ? "" : "/" + name);
}

std::string Cluster::leases(const std::string& name) const {
  return "/apis/coordination.k8s.io/v1/namespaces/" + ns_ + "/leases" +
         (name.empty() ? "" : "/" + name);
}

std::string Cluster::uniqueName(const std::string& prefix) {
  std::lock_guard<std::mutex> lock(state_->mu);
  return prefix + "-" + std::to_string(++counter_);
}

Json widgetObject(const std::string& name, const Json& spec) {
  return {{"apiVersion", kWidgetApiVersion},
          {"kind", "Widget"},
          {"metadata", {{"name", name}}},
          {"spec", spec}};
}

Json widgetCrd() {
  return Json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.conformance.novacron.io"},
    "spec": {
      "group": "conformance.novacron.io",
      "scope": "Namespaced",
      "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                "listKind": "WidgetList", "shortNames": ["wdg"]},
      "versions": [{
        "name": "v1", "served": true, "storage": true,
        "subresources": {"status": {}},
        "additionalPrinterColumns": [
          {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
          {"name": "Phase", "type": "string", "jsonPath": ".status.phase"}],
        "schema": {"openAPIV3Schema": {
          "type": "object",
          "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
              "type": "object",
              "required": ["size"],
              "properties": {
                "size": {"type": "integer", "minimum": 1, "maximum": 10},
                "color": {"type": "string", "enum": ["red", "green", "blue"], "default": "red"},
                "label": {"type": "string", "maxLength": 8, "pattern": "^[a-z]+$"},
                "tags": {"type": "array", "maxItems": 3, "items": {"type": "string"}},
                "port": {"x-kubernetes-int-or-string": true},
                "note": {"type": "string", "nullable": true},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
              }
            },
            "status": {
              "type": "object",
              "properties": {
                "phase": {"type": "string"},
                "observedGeneration": {"type": "integer"}
              }
            }
          }
        }}
      }]
    }
  })");
}

namespace {

std::string randomSuffix() {
  std::random_device rd;
  std::mt19937_64 gen(rd());
  const char* alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (int i = 0; i < 6; ++i) {
    out += alphabet[gen() % 36];
  }
  return out;
}

}  // namespace

void Cluster::setUp() {
  state_ = new State();
  std::string kubeconfig;
  if (const char* k = std::getenv("KUBECONFIG"); k != nullptr && *k != '\0') {
    kubeconfig = k;
  } else {
    auto dev = testing::DevCluster::start();
    ASSERT_TRUE(dev.isOk()) << "KUBECONFIG is not set and the dev API server could not be "
                               "started: "
                            << dev.status();
    state_->dev_cluster = std::move(dev).value();
    kubeconfig = state_->dev_cluster->kubeconfigPath();
    etcd_ = state_->dev_cluster->etcdEndpoint();
    std::cerr << "[conformance] started dev API server, kubeconfig " << kubeconfig << "\n";
  }
  if (const char* e = std::getenv("NOVACRON_CONFORMANCE_ETCD"); e != nullptr && *e != '\0') {
    etcd_ = e;
  }

  // The kubeconfig may still be being written: retry until it loads and /version answers.
  core::Status last = core::unavailableError("not tried");
  const bool ready = eventually(
      [&] {
        kube::ConfigSources sources;
        sources.kubeconfig_flag = kubeconfig;
        auto config = kube::loadConfig(sources);
        if (!config.isOk()) {
          last = config.status();
          return false;
        }
        auto transport = kube::newCpprestsdkTransport(*config);
        if (!transport.isOk()) {
          last = transport.status();
          return false;
        }
        auto api = std::make_unique<Api>(**transport);
        Response r = api->get("/version");
        if (r.status != 200) {
          last = core::unavailableError("GET /version: " + std::to_string(r.status) + " " + r.raw);
          return false;
        }
        state_->transport = std::move(transport).value();
        state_->api = std::make_unique<Api>(*state_->transport);
        return true;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(200));
  ASSERT_TRUE(ready) << "cluster not reachable through " << kubeconfig << ": " << last;
  kubeconfig_ = kubeconfig;

  ns_ = "conformance-" + randomSuffix();
  Response ns =
      api().post("/api/v1/namespaces",
                 {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns_}}}});
  ASSERT_EQ(ns.status, 201) << ns.raw;

  // The CRD may survive a crashed earlier run: replace it then.
  const std::string crd_path =
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.conformance.novacron.io";
  Response crd = api().post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", widgetCrd());
  if (crd.status == 409) {
    Response existing = api().get(crd_path);
    Json desired = widgetCrd();
    desired["metadata"]["resourceVersion"] = existing.body["metadata"]["resourceVersion"];
    crd = api().put(crd_path, desired);
  }
  ASSERT_TRUE(crd.status == 200 || crd.status == 201) << crd.raw;
  // Established: the REST endpoint serves (a real cluster takes a moment).
  const bool served = eventually(
      [&] {
        Response crd_now = api().get(crd_path);
        bool established = false;
        for (const auto& c :
             crd_now.body.value("status", Json::object()).value("conditions", Json::array())) {
          established = established ||
                        (c.value("type", "") == "Established" && c.value("status", "") == "True");
        }
        return established && api().get(widgets()).status == 200;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(100));
  ASSERT_TRUE(served) << "CRD widgets.conformance.novacron.io never became Established and served";
}

void Cluster::tearDown() {
  if (state_ == nullptr) {
    return;
  }
  if (state_->api) {
    if (!ns_.empty()) {
      (void)api().del("/api/v1/namespaces/" + ns_);
    }
    (void)api().del(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.conformance.novacron.io");
  }
  state_->api.reset();
  state_->transport.reset();
  state_->dev_cluster.reset();
  delete state_;
  state_ = nullptr;
}

namespace {

class ConformanceEnvironment : public ::testing::Environment {
public:
  void SetUp() override { Cluster::get().setUp(); }
  void TearDown() override { Cluster::get().tearDown(); }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new ConformanceEnvironment());

}  // namespace

}  // namespace novacron::conformance
