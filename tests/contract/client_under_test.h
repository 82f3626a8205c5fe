// The kube::Client implementations the contract suite runs against, behind one small interface so
// every case is written once:
//   FakeClientTarget    the in-memory FakeClient (tests/mocks), a fresh one per test;
//   DevApiServerTarget  RestClient -> novacron-dev-apiserver on real etcd
//   (tests/testing/DevCluster),
//                       one cluster per suite and a fresh namespace per test.
// Both serve the contract's custom resource kGadget (namespaced, status subresource, any fields).
// Thread-safety: a target is used from the test thread; its client is thread-safe.
#pragma once

#include <memory>
#include <string>

#include "lib/core/status.h"
#include "lib/kube/client.h"
#include "lib/kube/resource.h"
#include "tests/mocks/mock_kube_client.h"
#include "tests/testing/dev_cluster.h"

namespace novacron::contract {

// The contract's custom resource: group contract.novacron.io, with a status subresource.
inline const kube::ResourceType kGadget{"contract.novacron.io", "v1", "gadgets", "Gadget", true};

class ClientUnderTest {
public:
  virtual ~ClientUnderTest() = default;
  virtual kube::Client& client() = 0;
  // A namespace of this test only (already created where the server needs it).
  virtual const std::string& ns() const = 0;
  // Forgets the history of changes, so a watch from any resourceVersion seen so far is too old.
  [[nodiscard]] virtual core::Status compact() = 0;
};

class FakeClientTarget final : public ClientUnderTest {
public:
  static constexpr const char* kName = "FakeClient";
  static void setUpSuite() {}
  static void tearDownSuite() {}
  static core::StatusOr<std::unique_ptr<ClientUnderTest>> make();

  kube::Client& client() override { return *fake_; }
  const std::string& ns() const override { return ns_; }
  core::Status compact() override;

private:
  std::shared_ptr<testing::FakeClient> fake_ = std::make_shared<testing::FakeClient>();
  std::string ns_ = "contract";
};

class DevApiServerTarget final : public ClientUnderTest {
public:
  static constexpr const char* kName = "DevApiServer";
  // Starts the cluster and installs the Gadget CRD once for the whole suite.
  static void setUpSuite();
  static void tearDownSuite();
  static core::StatusOr<std::unique_ptr<ClientUnderTest>> make();

  kube::Client& client() override { return *client_; }
  const std::string& ns() const override { return ns_; }
  core::Status compact() override;

private:
  kube::ClientPtr client_;
  std::string ns_;
};

}  // namespace novacron::contract
