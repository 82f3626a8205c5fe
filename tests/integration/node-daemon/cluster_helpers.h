// Helpers shared by the node-daemon integration and e2e tests: a DevCluster with NovaCron's CRDs
// installed, a REST client for it, VM builders and polling.
#pragma once

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <prometheus/registry.h>

#include "lib/api/codec.h"
#include "lib/api/virtual_machine.h"
#include "lib/kube/config.h"
#include "lib/kube/resource.h"
#include "lib/kube/rest_client.h"
#include "tests/testing/dev_cluster.h"
#include "tests/testing/eventually.h"

namespace novacron::node::testing {

using namespace std::chrono_literals;

// eventually() for checks that cost an API call or a process probe each: polled every 50 ms so the
// waiting test does not compete with the cluster it waits for.
inline bool pollUntil(const std::function<bool()>& check, std::chrono::milliseconds timeout) {
  return ::novacron::testing::eventually(check, timeout, 50ms);
}

inline std::string sourceDir() {
  const char* s = std::getenv("NOVACRON_SOURCE_DIR");
  return s != nullptr ? s : ".";
}

inline core::StatusOr<kube::ClientPtr> clientFor(const novacron::testing::DevCluster& cluster) {
  NOVACRON_ASSIGN_OR_RETURN(kube::Config config,
                            kube::loadKubeconfigFile(cluster.kubeconfigPath()));
  kube::RestClientOptions options;
  options.registry = std::make_shared<prometheus::Registry>();
  options.qps = 500;
  options.burst = 500;
  return kube::newRestClient(config, options);
}

// Creates NovaCron's own namespaces as the manifests do (config/default/namespace.yaml:
// novacron-system and novacron-node-lease): node-daemons need the latter for their heartbeat
// Leases and may not create it themselves.
inline core::Status installNamespaces(kube::Client& client) {
  std::ifstream in(sourceDir() + "/config/default/namespace.yaml");
  std::stringstream text;
  text << in.rdbuf();
  NOVACRON_ASSIGN_OR_RETURN(auto docs, api::yamlDocumentsToJson(text.str()));
  if (docs.empty()) {
    return core::notFoundError("no namespaces in " + sourceDir() +
                               "/config/default/namespace.yaml");
  }
  for (const auto& ns : docs) {
    auto made = client.create(kube::kNamespace, "", ns);
    if (!made.isOk() && made.status().code() != core::StatusCode::kAlreadyExists) {
      return made.status();
    }
  }
  return core::okStatus();
}

// Installs crds/*.yaml and NovaCron's namespaces (installNamespaces), creates namespace `ns` and
// waits until VirtualMachines are served.
inline core::Status installCrds(kube::Client& client, const std::string& ns) {
  NOVACRON_RETURN_IF_ERROR(installNamespaces(client));
  for (const char* file : {"novacron.io_virtualmachines.yaml", "novacron.io_hypervisors.yaml",
                           "novacron.io_vmmigrations.yaml"}) {
    std::ifstream in(sourceDir() + "/crds/" + file);
    std::stringstream text;
    text << in.rdbuf();
    NOVACRON_ASSIGN_OR_RETURN(auto crd, api::yamlToJson(text.str()));
    auto created = client.create(kube::kCustomResourceDefinition, "", crd);
    if (!created.isOk() && created.status().code() != core::StatusCode::kAlreadyExists) {
      return created.status();
    }
  }
  auto made =
      client.create(kube::kNamespace, "",
                    {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
  if (!made.isOk() && made.status().code() != core::StatusCode::kAlreadyExists) {
    return made.status();
  }
  bool served = pollUntil(
      [&] {
        auto l = client.list(kube::kVirtualMachine, ns, {});
        return l.isOk();
      },
      20s);
  return served ? core::okStatus() : core::unavailableError("VirtualMachine CRD not served");
}

inline std::optional<api::VirtualMachine> getVm(kube::Client& client, const std::string& ns,
                                                const std::string& name) {
  auto j = client.get(kube::kVirtualMachine, ns, name);
  if (!j.isOk()) {
    return std::nullopt;
  }
  auto vm = api::fromJson<api::VirtualMachine>(*j);
  if (!vm.isOk()) {
    return std::nullopt;
  }
  return *vm;
}

}  // namespace novacron::node::testing
