#include "dev-apiserver/schema/validation.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dev-apiserver/schema/defaulting.h"
#include "dev-apiserver/schema/pruning.h"
#include "tests/dev-apiserver/schema/test_yaml.h"

namespace novacron::devapi::schema {
namespace {

using json = nlohmann::json;

StructuralSchema schemaOf(const json& spec_properties, const json& spec_extra = json::object()) {
  json spec = {{"type", "object"}, {"properties", spec_properties}};
  spec.update(spec_extra);
  json root = {{"type", "object"},
               {"properties",
                {{"apiVersion", {{"type", "string"}}},
                 {"kind", {{"type", "string"}}},
                 {"metadata", {{"type", "object"}}},
                 {"spec", spec}}}};
  auto s = StructuralSchema::fromJson(root);
  EXPECT_TRUE(s.isOk()) << s.status();
  return std::move(s).value();
}

std::vector<std::string> errorsFor(const StructuralSchema& s, const json& spec) {
  json obj = {{"apiVersion", "conformance.novacron.io/v1"},
              {"kind", "Widget"},
              {"metadata", {{"name", "w"}}},
              {"spec", spec}};
  std::vector<std::string> out;
  for (const auto& e : validate(s, obj)) {
    out.push_back(e.toString());
  }
  return out;
}

using Msgs = std::vector<std::string>;

TEST(ValidationTest, Types) {
  auto s = schemaOf(json::parse(R"({"i":{"type":"integer"},"n":{"type":"number"},
      "s":{"type":"string"},"b":{"type":"boolean"},"o":{"type":"object"},
      "a":{"type":"array","items":{"type":"string"}}})"));
  EXPECT_TRUE(
      errorsFor(s, json::parse(R"({"i":1,"n":1.5,"s":"x","b":true,"o":{},"a":["x"]})")).empty());
  // An integral float is an integer; an integer is a number.
  EXPECT_TRUE(errorsFor(s, json::parse(R"({"i":2.0,"n":3})")).empty());
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"i":"string"})")),
      Msgs{R"(spec.i: Invalid value: "string": spec.i in body must be of type integer: "string")"});
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"i":1.5})")),
      Msgs{R"(spec.i: Invalid value: "number": spec.i in body must be of type integer: "number")"});
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"s":5})")),
      Msgs{
          R"(spec.s: Invalid value: "integer": spec.s in body must be of type string: "integer")"});
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"o":[]})")),
      Msgs{R"(spec.o: Invalid value: "array": spec.o in body must be of type object: "array")"});
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"a":["x",true]})")),
      Msgs{
          R"(spec.a[1]: Invalid value: "boolean": spec.a[1] in body must be of type string: "boolean")"});
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"b":null})")),
      Msgs{R"(spec.b: Invalid value: "null": spec.b in body must be of type boolean: "null")"});
}

TEST(ValidationTest, NullableIntOrStringAndPreserveUnknown) {
  auto s = schemaOf(json::parse(R"({"n":{"type":"string","nullable":true},
      "p":{"x-kubernetes-int-or-string":true},
      "raw":{"x-kubernetes-preserve-unknown-fields":true}})"));
  EXPECT_TRUE(
      errorsFor(s, json::parse(R"({"n":null,"p":80,"raw":{"any":[1,{"x":null}]}})")).empty());
  EXPECT_TRUE(errorsFor(s, json::parse(R"({"p":"http"})")).empty());
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"p":true})")),
      Msgs{
          R"(spec.p: Invalid value: "boolean": spec.p in body must be of type integer,string: "boolean")"});
}

TEST(ValidationTest, RequiredAndEnum) {
  auto s = schemaOf(json::parse(R"({"policy":{"type":"string","enum":["Always","Halted"]},
      "level":{"type":"integer","enum":[1,2]},"image":{"type":"string"}})"),
                    json::parse(R"({"required":["image"]})"));
  EXPECT_EQ(errorsFor(s, json::parse(R"({"policy":"Always"})")),
            Msgs{"spec.image: Required value"});
  EXPECT_EQ(errorsFor(s, json::parse(R"({"image":"x","policy":"Foo"})")),
            Msgs{R"(spec.policy: Unsupported value: "Foo": supported values: "Always", "Halted")"});
  EXPECT_EQ(errorsFor(s, json::parse(R"({"image":"x","level":3})")),
            Msgs{R"(spec.level: Unsupported value: 3: supported values: "1", "2")"});
}

TEST(ValidationTest, NumericBounds) {
  auto s = schemaOf(json::parse(R"({"cpus":{"type":"integer","minimum":1,"maximum":256},
      "ratio":{"type":"number","minimum":0,"maximum":1,"exclusiveMinimum":true,"exclusiveMaximum":true},
      "step":{"type":"integer","multipleOf":5}})"));
  EXPECT_TRUE(errorsFor(s, json::parse(R"({"cpus":256,"ratio":0.5,"step":10})")).empty());
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"cpus":1000})")),
      Msgs{
          "spec.cpus: Invalid value: 1000: spec.cpus in body should be less than or equal to 256"});
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"cpus":0})")),
      Msgs{"spec.cpus: Invalid value: 0: spec.cpus in body should be greater than or equal to 1"});
  EXPECT_EQ(errorsFor(s, json::parse(R"({"ratio":1})")),
            Msgs{"spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1"});
  EXPECT_EQ(errorsFor(s, json::parse(R"({"ratio":0})")),
            Msgs{"spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"});
  EXPECT_EQ(errorsFor(s, json::parse(R"({"step":7})")),
            Msgs{"spec.step: Invalid value: 7: spec.step in body should be a multiple of 5"});
}

TEST(ValidationTest, Strings) {
  auto s = schemaOf(json::parse(R"({"name":{"type":"string","minLength":2,"maxLength":5,
      "pattern":"^[a-z]+$"},"when":{"type":"string","format":"date-time"},
      "ip":{"type":"string","format":"ipv4"},"odd":{"type":"string","format":"no-such-format"}})"));
  EXPECT_TRUE(
      errorsFor(s, json::parse(
                       R"({"name":"abc","when":"2024-01-02T03:04:05Z","ip":"10.0.0.1","odd":"?"})"))
          .empty());
  EXPECT_EQ(errorsFor(s, json::parse(R"({"name":"abcdefg"})")),
            Msgs{"spec.name: Too long: may not be more than 5 bytes"});
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"name":"a"})")),
      Msgs{R"(spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long)"});
  EXPECT_EQ(errorsFor(s, json::parse(R"({"name":"AB"})")),
            Msgs{R"(spec.name: Invalid value: "AB": spec.name in body should match '^[a-z]+$')"});
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"when":"yesterday"})")),
      Msgs{
          R"(spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday")"});
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"ip":"300.1.1.1"})")),
      Msgs{
          R"(spec.ip: Invalid value: "300.1.1.1": spec.ip in body must be of type ipv4: "300.1.1.1")"});
  // Lengths count characters, not bytes.
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"name":"ééééé"})")),
      Msgs{R"(spec.name: Invalid value: "ééééé": spec.name in body should match '^[a-z]+$')"});
}

TEST(ValidationTest, VeryLongStringsAgainstAPatternAreRefusedNotCrashing) {
  auto s = schemaOf(json::parse(R"({"p":{"type":"string","pattern":"^[a-z]+$"}})"));
  EXPECT_TRUE(errorsFor(s, json{{"p", std::string(16384, 'a')}}).empty());
  auto errors = errorsFor(s, json{{"p", std::string(1000000, 'a')}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("is too long to be matched against '^[a-z]+$' (limit 16384 bytes)"),
            std::string::npos);
}

TEST(ValidationTest, EmbeddedResourcesNeedApiVersionAndKind) {
  auto s =
      schemaOf(json::parse(R"({"template":{"type":"object","x-kubernetes-embedded-resource":true,
      "x-kubernetes-preserve-unknown-fields":true}})"));
  EXPECT_TRUE(
      errorsFor(s, json::parse(R"({"template":{"apiVersion":"v1","kind":"Pod","spec":{}}})"))
          .empty());
  EXPECT_EQ(errorsFor(s, json::parse(R"({"template":{"kind":""}})")),
            (Msgs{"spec.template.apiVersion: Required value: must not be empty",
                  R"(spec.template.kind: Invalid value: "": must not be empty)"}));
}

TEST(ValidationTest, Formats) {
  auto s = schemaOf(json::parse(R"({"u":{"type":"string","format":"uuid"},
      "c":{"type":"string","format":"cidr"},"v6":{"type":"string","format":"ipv6"},
      "d":{"type":"string","format":"date"},"h":{"type":"string","format":"hostname"},
      "b":{"type":"string","format":"byte"},"m":{"type":"string","format":"mac"}})"));
  EXPECT_TRUE(errorsFor(s, json::parse(R"({"u":"123e4567-e89b-12d3-a456-426614174000",
      "c":"10.0.0.0/8","v6":"fe80::1","d":"2024-02-29","h":"node-1.example.com","b":"aGk=",
      "m":"52:54:00:6b:3c:01"})"))
                  .empty());
  for (const char* bad :
       {R"({"u":"nope"})", R"({"c":"10.0.0.0/33"})", R"({"v6":"1.2.3.4"})", R"({"d":"2024-13-01"})",
        R"({"h":"-bad-"})", R"({"b":"a"})", R"({"m":"52:54:00"})"}) {
    EXPECT_EQ(errorsFor(s, json::parse(bad)).size(), 1u) << bad;
  }
}

TEST(ValidationTest, ArraysAndListTypes) {
  auto s = schemaOf(json::parse(R"({
      "tags":{"type":"array","minItems":1,"maxItems":3,"items":{"type":"string"},
              "x-kubernetes-list-type":"set"},
      "disks":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],
               "items":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},
                        "size":{"type":"integer"}}}}})"));
  EXPECT_TRUE(errorsFor(s, json::parse(R"({"tags":["a","b"],"disks":[{"name":"a"},{"name":"b"}]})"))
                  .empty());
  EXPECT_EQ(errorsFor(s, json::parse(R"({"tags":[]})")),
            Msgs{"spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items"});
  EXPECT_EQ(errorsFor(s, json::parse(R"({"tags":["a","b","c","d"]})")),
            Msgs{"spec.tags: Too many: 4: must have at most 3 items"});
  EXPECT_EQ(errorsFor(s, json::parse(R"({"tags":["a","a"]})")),
            Msgs{R"(spec.tags[1]: Duplicate value: "a")"});
  EXPECT_EQ(errorsFor(s, json::parse(R"({"disks":[{"name":"a"},{"name":"a","size":1},{}]})")),
            (Msgs{"spec.disks[2].name: Required value",
                  R"(spec.disks[1]: Duplicate value: map[string]interface {}{"name":"a"})"}));
}

TEST(ValidationTest, MapsAndPropertyCounts) {
  auto s = schemaOf(json::parse(R"({
      "labels":{"type":"object","additionalProperties":{"type":"string","maxLength":3}},
      "sel":{"type":"object","minProperties":1,"maxProperties":2,
             "additionalProperties":{"type":"string"}}})"));
  EXPECT_TRUE(errorsFor(s, json::parse(R"({"labels":{"a":"x"},"sel":{"k":"v"}})")).empty());
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"labels":{"a":1,"b":"long!"}})")),
      (Msgs{
          R"(spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer")",
          "spec.labels.b: Too long: may not be more than 3 bytes"}));
  EXPECT_EQ(errorsFor(s, json::parse(R"({"sel":{}})")),
            Msgs{"spec.sel: Invalid value: 1: spec.sel in body should have at least 1 properties"});
  EXPECT_EQ(errorsFor(s, json::parse(R"({"sel":{"a":"1","b":"2","c":"3"}})")),
            Msgs{"spec.sel: Too many: 3: must have at most 2 items"});
}

TEST(ValidationTest, Junctors) {
  auto s = schemaOf(json::parse(R"({
      "disk":{"type":"object","properties":{"image":{"type":"string"},"empty":{"type":"string"}},
              "oneOf":[{"required":["image"]},{"required":["empty"]}]},
      "any":{"type":"string","anyOf":[{"maxLength":2},{"pattern":"^x"}]},
      "all":{"type":"integer","allOf":[{"minimum":1},{"maximum":5}]},
      "no":{"type":"string","not":{"enum":["forbidden"]}}})"));
  EXPECT_TRUE(errorsFor(s, json::parse(R"({"disk":{"image":"a"},"any":"xyzzy","all":3,"no":"ok"})"))
                  .empty());
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"disk":{"image":"a","empty":"b"}})")),
      Msgs{
          R"(<nil>: Invalid value: "": "spec.disk" must validate one and only one schema (oneOf). Found 2 valid alternatives)"});
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"disk":{}})")),
      (Msgs{
          R"(<nil>: Invalid value: "": "spec.disk" must validate one and only one schema (oneOf). Found none valid)",
          "spec.disk.image: Required value"}));
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"any":"abc"})")),
      (Msgs{R"(<nil>: Invalid value: "": "spec.any" must validate at least one schema (anyOf))",
            "spec.any: Too long: may not be more than 2 bytes"}));
  EXPECT_EQ(
      errorsFor(s, json::parse(R"({"all":9})")),
      (Msgs{R"(<nil>: Invalid value: "": "spec.all" must validate all the schemas (allOf))",
            "spec.all: Invalid value: 9: spec.all in body should be less than or equal to 5"}));
  EXPECT_EQ(errorsFor(s, json::parse(R"({"no":"forbidden"})")),
            Msgs{R"(<nil>: Invalid value: "": "spec.no" must not validate the schema (not))"});
}

// Every sample in config/samples is accepted by its CRD, every sample in config/samples/invalid is
// refused naming the field, exactly as `kubectl apply` against kube-apiserver would.
class SamplesTest : public ::testing::Test {
protected:
  void SetUp() override {
    for (const auto& entry : std::filesystem::directory_iterator(testing::sourceDir() + "/crds")) {
      json crd = testing::loadYaml("crds/" + entry.path().filename().string());
      const std::string kind = crd["spec"]["names"]["kind"];
      auto s = StructuralSchema::fromJson(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]);
      ASSERT_TRUE(s.isOk()) << s.status();
      schemas_.emplace(kind, std::move(s).value());
    }
  }

  std::vector<FieldError> admit(json obj) {
    auto it = schemas_.find(obj.value("kind", ""));
    EXPECT_NE(it, schemas_.end()) << obj.dump();
    if (it == schemas_.end()) {
      return {};
    }
    prune(it->second, obj);
    applyDefaults(it->second, obj);
    return validate(it->second, obj);
  }

  std::map<std::string, StructuralSchema> schemas_;
};

TEST_F(SamplesTest, ValidSamplesAreAccepted) {
  int n = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(testing::sourceDir() + "/config/samples")) {
    if (entry.path().extension() != ".yaml") {
      continue;
    }
    json obj = testing::loadYaml("config/samples/" + entry.path().filename().string());
    auto errors = admit(obj);
    EXPECT_TRUE(errors.empty()) << entry.path() << ": " << aggregateMessage(errors);
    ++n;
  }
  EXPECT_GT(n, 0);
}

TEST_F(SamplesTest, InvalidSamplesAreRefusedNamingTheField) {
  auto errors =
      admit(testing::loadYaml("config/samples/invalid/virtualmachine_too_many_cpus.yaml"));
  EXPECT_EQ(aggregateMessage(errors),
            "spec.resources.cpus: Invalid value: 1000: spec.resources.cpus in body should be less "
            "than or equal to 256");
  errors = admit(testing::loadYaml("config/samples/invalid/virtualmachine_bad_name.yaml"));
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].field, "metadata.name");
  errors = admit(testing::loadYaml("config/samples/invalid/virtualmachine_two_disk_sources.yaml"));
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(aggregateMessage(errors).find("oneOf"), std::string::npos) << aggregateMessage(errors);
}

}  // namespace
}  // namespace novacron::devapi::schema
