#include "tests/contract/client_under_test.h"

#include <chrono>

#include <prometheus/registry.h>

#include "lib/kube/config.h"
#include "lib/kube/rest_client.h"
#include "tests/testing/eventually.h"

namespace novacron::contract {

namespace {

using kube::Json;

Json gadgetCrd() {
  Json open_object = {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
  return Json{{"apiVersion", "apiextensions.k8s.io/v1"},
              {"kind", "CustomResourceDefinition"},
              {"metadata", {{"name", "gadgets.contract.novacron.io"}}},
              {"spec",
               {{"group", "contract.novacron.io"},
                {"scope", "Namespaced"},
                {"names",
                 {{"plural", "gadgets"},
                  {"singular", "gadget"},
                  {"kind", "Gadget"},
                  {"listKind", "GadgetList"}}},
                {"versions", Json::array({{{"name", "v1"},
                                           {"served", true},
                                           {"storage", true},
                                           {"subresources", {{"status", Json::object()}}},
                                           {"schema",
                                            {{"openAPIV3Schema",
                                              {{"type", "object"},
                                               {"properties",
                                                {{"apiVersion", {{"type", "string"}}},
                                                 {"kind", {{"type", "string"}}},
                                                 {"metadata", {{"type", "object"}}},
                                                 {"spec", open_object},
                                                 {"status", open_object}}}}}}}}})}}}};
}

// Suite state of the dev API server target (one cluster for every test of the suite).
struct DevSuite {
  std::unique_ptr<testing::DevCluster> cluster;
  kube::ClientPtr client;
  core::Status error = core::okStatus();
  int namespaces = 0;
};
DevSuite* g_dev = nullptr;

core::Status startDevSuite(DevSuite& suite) {
  NOVACRON_ASSIGN_OR_RETURN(suite.cluster, testing::DevCluster::start());
  NOVACRON_ASSIGN_OR_RETURN(kube::Config config,
                            kube::loadKubeconfigFile(suite.cluster->kubeconfigPath()));
  kube::RestClientOptions options;
  options.registry = std::make_shared<prometheus::Registry>();
  options.qps = 1000;
  options.burst = 1000;
  NOVACRON_ASSIGN_OR_RETURN(suite.client, kube::newRestClient(config, options));
  NOVACRON_RETURN_IF_ERROR(
      suite.client->create(kube::kCustomResourceDefinition, "", gadgetCrd()).status());
  const bool served = testing::eventually(
      [&] { return suite.client->list(kGadget, "", {}).isOk(); }, std::chrono::seconds(20));
  return served ? core::okStatus() : core::unavailableError("the Gadget CRD is not served");
}

}  // namespace

core::StatusOr<std::unique_ptr<ClientUnderTest>> FakeClientTarget::make() {
  return std::unique_ptr<ClientUnderTest>(std::make_unique<FakeClientTarget>());
}

core::Status FakeClientTarget::compact() {
  fake_->compact();
  return core::okStatus();
}

void DevApiServerTarget::setUpSuite() {
  g_dev = new DevSuite();
  g_dev->error = startDevSuite(*g_dev);
}

void DevApiServerTarget::tearDownSuite() {
  delete g_dev;
  g_dev = nullptr;
}

core::StatusOr<std::unique_ptr<ClientUnderTest>> DevApiServerTarget::make() {
  if (g_dev == nullptr) {
    return core::failedPreconditionError("DevApiServerTarget::setUpSuite() was not called");
  }
  NOVACRON_RETURN_IF_ERROR(g_dev->error);
  auto target = std::make_unique<DevApiServerTarget>();
  target->client_ = g_dev->client;
  target->ns_ = "contract-" + std::to_string(++g_dev->namespaces);
  NOVACRON_RETURN_IF_ERROR(
      target->client_->create(kube::kNamespace, "", Json{{"metadata", {{"name", target->ns_}}}})
          .status());
  return std::unique_ptr<ClientUnderTest>(std::move(target));
}

core::Status DevApiServerTarget::compact() {
  if (g_dev == nullptr || !g_dev->cluster) {
    return core::failedPreconditionError("no dev cluster");
  }
  return g_dev->cluster->compact().status();
}

}  // namespace novacron::contract
