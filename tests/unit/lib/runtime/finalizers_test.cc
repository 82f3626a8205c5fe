#include "lib/runtime/finalizers.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace novacron::runtime
