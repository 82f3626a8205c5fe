#include "lib/runtime/finalizers.h"

#include <gtest/gtest.h>

#include "tests/mocks/mock_kube_client.h"

namespace novacron::runtime {
namespace {

using nlohmann::json;

json object(json finalizers = nullptr) {
  json o = {{"metadata", {{"name", "vm-1"}, {"namespace", "ns"}, {"resourceVersion", "42"}}}};
  if (!finalizers.is_null()) {
    o["metadata"]["finalizers"] = finalizers;
  }
  return o;
}

TEST(FinalizersTest, AddPatchCreatesTheListWhenMissing) {
  EXPECT_EQ(addFinalizerPatch(object(), "novacron.io/domain"), json::parse(R"([
              {"op":"test","path":"/metadata/resourceVersion","value":"42"},
              {"op":"add","path":"/metadata/finalizers","value":["novacron.io/domain"]}])"));
}

TEST(FinalizersTest, AddPatchAppendsToAnExistingList) {
  EXPECT_EQ(addFinalizerPatch(object(json::array({"other"})), "novacron.io/domain"),
            json::parse(R"([
              {"op":"test","path":"/metadata/resourceVersion","value":"42"},
              {"op":"add","path":"/metadata/finalizers/-","value":"novacron.io/domain"}])"));
}

TEST(FinalizersTest, AddPatchIsNullWhenPresent) {
  EXPECT_TRUE(addFinalizerPatch(object(json::array({"novacron.io/domain"})), "novacron.io/domain")
                  .is_null());
  EXPECT_TRUE(hasFinalizer(object(json::array({"novacron.io/domain"})), "novacron.io/domain"));
  EXPECT_FALSE(hasFinalizer(object(), "novacron.io/domain"));
}

TEST(FinalizersTest, RemovePatchTestsVersionAndTheElementItRemoves) {
  EXPECT_EQ(removeFinalizerPatch(object(json::array({"a", "novacron.io/domain", "b"})),
                                 "novacron.io/domain"),
            json::parse(R"([
              {"op":"test","path":"/metadata/resourceVersion","value":"42"},
              {"op":"test","path":"/metadata/finalizers/1","value":"novacron.io/domain"},
              {"op":"remove","path":"/metadata/finalizers/1"}])"));
  EXPECT_TRUE(removeFinalizerPatch(object(json::array({"a"})), "novacron.io/domain").is_null());
  EXPECT_TRUE(removeFinalizerPatch(object(), "novacron.io/domain").is_null());
}

TEST(FinalizersTest, ValuesWithQuotesAreEscapedAsJson) {
  const std::string tricky = R"(x"}],"op":"remove)";
  json patch = addFinalizerPatch(object(), tricky);
  ASSERT_EQ(patch.size(), 2u);
  EXPECT_EQ(patch[1]["value"][0], tricky);
  EXPECT_EQ(json::parse(patch.dump()), patch);
}

class FinalizersClientTest : public ::testing::Test {
protected:
  json createVm() {
    auto created = fake_->create(kube::kVirtualMachine, "ns",
                                 json{{"apiVersion", "novacron.io/v1alpha1"},
                                      {"kind", "VirtualMachine"},
                                      {"metadata", {{"name", "vm-1"}, {"namespace", "ns"}}},
                                      {"spec", {{"cpus", 1}}}});
    EXPECT_TRUE(created.isOk());
    return *created;
  }
  std::shared_ptr<testing::FakeClient> fake_ = std::make_shared<testing::FakeClient>();
};

TEST_F(FinalizersClientTest, AddsAndRemovesOnTheServer) {
  json vm = createVm();
  auto added = addFinalizer(*fake_, kube::kVirtualMachine, vm, "novacron.io/domain");
  ASSERT_TRUE(added.isOk()) << added.status();
  EXPECT_TRUE(hasFinalizer(*added, "novacron.io/domain"));
  EXPECT_TRUE(hasFinalizer(*fake_->get(kube::kVirtualMachine, "ns", "vm-1"), "novacron.io/domain"));

  // Adding again is a no-op without a request.
  const size_t patches = fake_->countActions(testing::FakeClient::Verb::kPatch);
  auto again = addFinalizer(*fake_, kube::kVirtualMachine, *added, "novacron.io/domain");
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(fake_->countActions(testing::FakeClient::Verb::kPatch), patches);

  auto removed = removeFinalizer(*fake_, kube::kVirtualMachine, *added, "novacron.io/domain");
  ASSERT_TRUE(removed.isOk()) << removed.status();
  EXPECT_FALSE(
      hasFinalizer(*fake_->get(kube::kVirtualMachine, "ns", "vm-1"), "novacron.io/domain"));
}

TEST_F(FinalizersClientTest, StaleViewFailsWithConflict) {
  json stale = createVm();
  json fresh = stale;
  fresh["spec"]["cpus"] = 2;
  ASSERT_TRUE(fake_->update(kube::kVirtualMachine, "ns", fresh).isOk());
  auto added = addFinalizer(*fake_, kube::kVirtualMachine, stale, "novacron.io/domain");
  EXPECT_EQ(added.status().code(), core::StatusCode::kConflict);
  EXPECT_FALSE(
      hasFinalizer(*fake_->get(kube::kVirtualMachine, "ns", "vm-1"), "novacron.io/domain"));
}

TEST_F(FinalizersClientTest, RemovingTheLastFinalizerLetsADeletionFinish) {
  json vm = createVm();
  auto added = addFinalizer(*fake_, kube::kVirtualMachine, vm, "novacron.io/domain");
  ASSERT_TRUE(added.isOk());
  ASSERT_TRUE(fake_->remove(kube::kVirtualMachine, "ns", "vm-1").isOk());
  auto deleting = fake_->get(kube::kVirtualMachine, "ns", "vm-1");
  ASSERT_TRUE(deleting.isOk());
  ASSERT_TRUE((*deleting)["metadata"].contains("deletionTimestamp"));
  ASSERT_TRUE(
      removeFinalizer(*fake_, kube::kVirtualMachine, *deleting, "novacron.io/domain").isOk());
  EXPECT_EQ(fake_->get(kube::kVirtualMachine, "ns", "vm-1").status().code(),
            core::StatusCode::kNotFound);
}

}  // namespace
}  // namespace novacron::runtime
