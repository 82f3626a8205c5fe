#include "dev-apiserver/schema/structural_schema.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/dev-apiserver/schema/test_yaml.h"

namespace novacron::devapi::schema {
namespace {

using json = nlohmann::json;

std::vector<std::string> messages(const json& schema) {
  std::vector<std::string> out;
  for (const auto& e : structuralErrors(schema, "openAPIV3Schema")) {
    out.push_back(e.toString());
  }
  return out;
}

TEST(StructuralSchemaTest, AcceptsTypicalSchema) {
  json s = json::parse(R"({
    "type": "object",
    "properties": {
      "apiVersion": {"type": "string"}, "kind": {"type": "string"},
      "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 63}}},
      "spec": {"type": "object", "required": ["a"], "properties": {
        "a": {"type": "integer", "minimum": 1, "default": 3},
        "port": {"x-kubernetes-int-or-string": true,
                 "anyOf": [{"type": "integer"}, {"type": "string"}]},
        "raw": {"x-kubernetes-preserve-unknown-fields": true},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "list": {"type": "array", "items": {"type": "object", "properties": {
            "x": {"type": "string"}, "y": {"type": "string"}},
          "oneOf": [{"required": ["x"]}, {"required": ["y"]}]}}
      }},
      "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
    }
  })");
  EXPECT_TRUE(messages(s).empty()) << ::testing::PrintToString(messages(s));
  auto parsed = StructuralSchema::fromJson(s);
  ASSERT_TRUE(parsed.isOk()) << parsed.status();
  EXPECT_EQ(parsed->json(), s);
}

TEST(StructuralSchemaTest, MissingTypesAreNamedLikeKube) {
  json s = json::parse(R"({"type":"object","properties":{
      "spec":{"properties":{"a":{"type":"string"}}},
      "list":{"type":"array","items":{"properties":{}}}}})");
  EXPECT_EQ(messages(s),
            (std::vector<std::string>{
                "openAPIV3Schema.properties[list].items.type: Required value: must not be empty "
                "for specified array items",
                "openAPIV3Schema.properties[spec].type: Required value: must not be empty for "
                "specified object fields"}));
  EXPECT_EQ(messages(json::parse(R"({"properties":{}})")),
            (std::vector<std::string>{
                "openAPIV3Schema.type: Required value: must not be empty at the root"}));
  EXPECT_EQ(messages(json::parse(R"({"type":"string"})")),
            (std::vector<std::string>{
                "openAPIV3Schema.type: Invalid value: \"string\": must be object at the root"}));
}

TEST(StructuralSchemaTest, RejectsNonStructuralConstructs) {
  auto has = [](const json& s, const std::string& msg) {
    for (const auto& m : messages(s)) {
      if (m == msg) {
        return true;
      }
    }
    ADD_FAILURE() << "missing " << msg << " in " << ::testing::PrintToString(messages(s));
    return false;
  };
  has(json::parse(R"({"type":"object","properties":{"a":{"type":"array"}}})"),
      "openAPIV3Schema.properties[a].items: Required value: must be specified");
  has(json::parse(
          R"({"type":"object","properties":{"a":{"type":"object","properties":{},"additionalProperties":{"type":"string"}}}})"),
      "openAPIV3Schema.properties[a].additionalProperties: Forbidden: additionalProperties and "
      "properties are mutual exclusive");
  has(json::parse(
          R"({"type":"object","properties":{"a":{"type":"object","additionalProperties":false}}})"),
      "openAPIV3Schema.properties[a].additionalProperties: Forbidden: additionalProperties cannot "
      "be set to false");
  has(json::parse(R"({"type":"object","properties":{"a":{"$ref":"#/x"}}})"),
      "openAPIV3Schema.properties[a].$ref: Forbidden: $ref is not supported");
  has(json::parse(
          R"({"type":"object","properties":{"a":{"type":"array","items":{"type":"string"},"uniqueItems":true}}})"),
      "openAPIV3Schema.properties[a].uniqueItems: Forbidden: uniqueItems cannot be set to true "
      "since the runtime complexity becomes quadratic");
  has(json::parse(
          R"({"type":"object","properties":{"a":{"type":"string","anyOf":[{"type":"string"}]}}})"),
      "openAPIV3Schema.properties[a].anyOf[0].type: Forbidden: must be empty to be structural");
  has(json::parse(
          R"({"type":"object","properties":{"a":{"type":"string","x-kubernetes-int-or-string":true}}})"),
      "openAPIV3Schema.properties[a].type: Invalid value: \"string\": must be empty if "
      "x-kubernetes-int-or-string is true");
  has(json::parse(R"({"type":"object","properties":{"a":{"type":"foo"}}})"),
      "openAPIV3Schema.properties[a].type: Unsupported value: \"foo\": supported values: "
      "\"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\"");
  has(json::parse(
          R"({"type":"object","properties":{"a":{"type":"string","x-kubernetes-preserve-unknown-fields":false}}})"),
      "openAPIV3Schema.properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: false: "
      "must be true or undefined");
  has(json::parse(
          R"({"type":"object","properties":{"metadata":{"type":"object","properties":{"labels":{"type":"object"}}}}})"),
      "openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name "
      "and generateName, but metadata is implicitly specified");
  has(
      json::parse(R"({"type":"object","properties":{"a":{"type":"string","pattern":"(["}}})"),
      "openAPIV3Schema.properties[a].pattern: Invalid value: \"([\": must be a valid regular "
      "expression, but isn't: " +
          [] {
            try {
              std::regex r("([");
            } catch (const std::regex_error& e) {
              return std::string(e.what());
            }
            return std::string();
          }());
}

TEST(StructuralSchemaTest, WrongJsonTypesAreErrorsNotExceptions) {
  for (
      const char* text :
      {R"({"type":5})", R"({"type":"object","properties":{"a":{"type":["string"]}}})",
       R"({"type":"object","properties":{"a":{"x-kubernetes-int-or-string":true,"anyOf":[{"type":1}]}}})",
       R"({"type":"object","properties":[]})", R"("x")"}) {
    std::vector<FieldError> errors;
    EXPECT_NO_THROW(errors = structuralErrors(json::parse(text), "s")) << text;
    EXPECT_FALSE(errors.empty()) << text;
    EXPECT_FALSE(StructuralSchema::fromJson(json::parse(text)).isOk()) << text;
  }
}

TEST(StructuralSchemaTest, DefaultsMustBeValid) {
  json s = json::parse(
      R"({"type":"object","properties":{"a":{"type":"integer","maximum":3,"default":5}}})");
  EXPECT_EQ(messages(s),
            (std::vector<std::string>{"openAPIV3Schema.properties[a].default: Invalid value: 5: "
                                      "in body should be less than or equal to 3"}));
}

TEST(StructuralSchemaTest, FromJsonRejectsNonStructural) {
  auto r = StructuralSchema::fromJson(json::parse(R"({"type":"object","properties":{"a":{}}})"));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "schema is not structural: openAPIV3Schema.properties[a].type: Required value: must "
            "not be empty for specified object fields");
}

TEST(CustomResourceDefinitionTest, RepositoryCrdsAreValid) {
  const std::filesystem::path dir = testing::sourceDir() + "/crds";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") {
      continue;
    }
    json crd = testing::loadYaml("crds/" + entry.path().filename().string());
    auto errors = validateCustomResourceDefinition(crd);
    std::vector<std::string> texts;
    for (const auto& e : errors) {
      texts.push_back(e.toString());
    }
    EXPECT_TRUE(errors.empty()) << entry.path() << ": " << ::testing::PrintToString(texts);
    ++count;
  }
  EXPECT_GE(count, 3);
}

json minimalCrd() {
  return json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.conformance.novacron.io"},
    "spec": {"group": "conformance.novacron.io", "scope": "Namespaced",
      "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
      "versions": [{"name": "v1", "served": true, "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object"}}}]}
  })");
}

std::vector<std::string> crdMessages(const json& crd) {
  std::vector<std::string> out;
  for (const auto& e : validateCustomResourceDefinition(crd)) {
    out.push_back(e.toString());
  }
  return out;
}

TEST(CustomResourceDefinitionTest, MalformedCrdIsAnErrorNotAnException) {
  for (const char* text : {R"({"spec":"x"})", R"({"spec":{"names":[1]}})",
                           R"({"metadata":{"name":5},"spec":{"versions":[{"name":1}]}})",
                           R"({"spec":{"versions":"v1"}})", R"([])", R"(null)"}) {
    std::vector<FieldError> errors;
    EXPECT_NO_THROW(errors = validateCustomResourceDefinition(json::parse(text))) << text;
    EXPECT_FALSE(errors.empty()) << text;
  }
}

TEST(CustomResourceDefinitionTest, ChecksNamesScopeVersionsAndSchemas) {
  EXPECT_TRUE(crdMessages(minimalCrd()).empty())
      << ::testing::PrintToString(crdMessages(minimalCrd()));

  json bad_name = minimalCrd();
  bad_name["metadata"]["name"] = "widgets.example.com";
  EXPECT_EQ(crdMessages(bad_name),
            (std::vector<std::string>{"metadata.name: Invalid value: \"widgets.example.com\": must "
                                      "be spec.names.plural+\".\"+spec.group"}));

  json bad_scope = minimalCrd();
  bad_scope["spec"]["scope"] = "Global";
  EXPECT_EQ(crdMessages(bad_scope),
            (std::vector<std::string>{"spec.scope: Unsupported value: \"Global\": supported "
                                      "values: \"Cluster\", \"Namespaced\""}));

  json no_schema = minimalCrd();
  no_schema["spec"]["versions"][0].erase("schema");
  EXPECT_EQ(crdMessages(no_schema),
            (std::vector<std::string>{"spec.versions[0].schema.openAPIV3Schema: Required value: "
                                      "schemas are required"}));

  json non_structural = minimalCrd();
  non_structural["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"] = {
      {"spec", json::object()}};
  EXPECT_EQ(crdMessages(non_structural),
            (std::vector<std::string>{"spec.versions[0].schema.openAPIV3Schema.properties[spec]."
                                      "type: Required value: must not be empty for specified "
                                      "object fields"}));

  json no_storage = minimalCrd();
  no_storage["spec"]["versions"][0]["storage"] = false;
  ASSERT_EQ(crdMessages(no_storage).size(), 1u);
  EXPECT_NE(
      crdMessages(no_storage)[0].find("must have exactly one version marked as storage version"),
      std::string::npos);

  json no_kind = minimalCrd();
  no_kind["spec"]["names"].erase("kind");
  EXPECT_EQ(crdMessages(no_kind), (std::vector<std::string>{"spec.names.kind: Required value"}));
}

}  // namespace
}  // namespace novacron::devapi::schema
