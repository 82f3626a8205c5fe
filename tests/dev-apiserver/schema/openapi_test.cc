#include "dev-apiserver/schema/openapi.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/dev-apiserver/schema/test_yaml.h"

namespace novacron::devapi::schema {
namespace {

using json = nlohmann::json;

json vmCrd() {
  return testing::loadYaml("crds/novacron.io_virtualmachines.yaml");
}

TEST(OpenApiV3Test, DefinitionsCarryGroupVersionKind) {
  json doc = openApiV3Document({vmCrd()}, "novacron.io", "v1alpha1");
  EXPECT_EQ(doc["openapi"], "3.0.0");
  const json& schemas = doc["components"]["schemas"];
  ASSERT_TRUE(schemas.contains("io.novacron.v1alpha1.VirtualMachine"));
  ASSERT_TRUE(schemas.contains("io.novacron.v1alpha1.VirtualMachineList"));
  ASSERT_TRUE(schemas.contains("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
  const json& vm = schemas["io.novacron.v1alpha1.VirtualMachine"];
  EXPECT_EQ(
      vm["x-kubernetes-group-version-kind"],
      json::parse(R"([{"group":"novacron.io","version":"v1alpha1","kind":"VirtualMachine"}])"));
  EXPECT_EQ(vm["properties"]["metadata"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  EXPECT_EQ(vm["properties"]["spec"]["properties"]["resources"]["properties"]["cpus"]["maximum"],
            256);
  EXPECT_EQ(
      schemas["io.novacron.v1alpha1.VirtualMachineList"]["properties"]["items"]["items"]["$ref"],
      "#/components/schemas/io.novacron.v1alpha1.VirtualMachine");
}

// kubectl (1.27+) decides whether the server validates fields itself by finding the PATCH operation
// of the kind in the OpenAPI v3 document and its fieldValidation query parameter.
TEST(OpenApiV3Test, PatchOperationAdvertisesFieldValidation) {
  json doc = openApiV3Document({vmCrd()}, "novacron.io", "v1alpha1");
  const std::string item =
      "/apis/novacron.io/v1alpha1/namespaces/{namespace}/virtualmachines/{name}";
  ASSERT_TRUE(doc["paths"].contains(item));
  const json& patch = doc["paths"][item]["patch"];
  EXPECT_EQ(patch["x-kubernetes-group-version-kind"],
            json::parse(R"({"group":"novacron.io","version":"v1alpha1","kind":"VirtualMachine"})"));
  bool found = false;
  for (const auto& p : patch["parameters"]) {
    found = found || (p["name"] == "fieldValidation" && p["in"] == "query");
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(patch["requestBody"]["content"].contains("application/merge-patch+json"));
  EXPECT_TRUE(doc["paths"].contains(item + "/status"));
  EXPECT_TRUE(doc["paths"].contains("/apis/novacron.io/v1alpha1/virtualmachines"));
}

TEST(OpenApiV3Test, OtherGroupVersionsAreLeftOut) {
  json doc = openApiV3Document({vmCrd()}, "novacron.io", "v1");
  EXPECT_TRUE(doc["paths"].empty());
  EXPECT_FALSE(doc["components"]["schemas"].contains("io.novacron.v1alpha1.VirtualMachine"));
}

TEST(OpenApiV3Test, MalformedCrdsAreLeftOut) {
  json doc;
  EXPECT_NO_THROW(
      doc = openApiV3Document({json::parse(R"({"spec":"x"})"),
                               json::parse(R"({"spec":{"versions":[{"served":"yes"}]}})"), vmCrd()},
                              "novacron.io", "v1alpha1"));
  EXPECT_TRUE(doc["components"]["schemas"].contains("io.novacron.v1alpha1.VirtualMachine"));
  EXPECT_NO_THROW(openApiV2Document({json::parse("[1]"), json::parse(R"({"spec":{"names":1}})")}));
}

TEST(OpenApiV2Test, DefinitionsUseV2RefsAndDropV3OnlyConstructs) {
  json crd = json::parse(R"({"spec":{"group":"conformance.novacron.io","scope":"Cluster",
    "names":{"plural":"widgets","kind":"Widget"},
    "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{
      "type":"object","properties":{"spec":{"type":"object","properties":{
        "n":{"type":"string","nullable":true},
        "p":{"x-kubernetes-int-or-string":true,"anyOf":[{"type":"integer"},{"type":"string"}]},
        "s":{"type":"string","enum":["a"]}}}}}}}]}})");
  json doc = openApiV2Document({crd});
  EXPECT_EQ(doc["swagger"], "2.0");
  const json& w = doc["definitions"]["io.novacron.conformance.v1.Widget"];
  EXPECT_EQ(w["properties"]["metadata"]["$ref"],
            "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  EXPECT_EQ(w["x-kubernetes-group-version-kind"][0]["kind"], "Widget");
  const json& props = w["properties"]["spec"]["properties"];
  EXPECT_FALSE(props["n"].contains("type"));
  EXPECT_FALSE(props["n"].contains("nullable"));
  EXPECT_FALSE(props["p"].contains("anyOf"));
  EXPECT_EQ(props["s"]["type"], "string");
  EXPECT_TRUE(doc["paths"].contains("/apis/conformance.novacron.io/v1/widgets/{name}"));
  EXPECT_EQ(doc["paths"]["/apis/conformance.novacron.io/v1/widgets/{name}"]["patch"]
               ["x-kubernetes-group-version-kind"]["kind"],
            "Widget");
}

}  // namespace
}  // namespace novacron::devapi::schema
