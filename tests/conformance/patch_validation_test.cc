// Merge patch, JSON patch (incl. test op), strategic merge on a built-in kind and 415 for it on a
// custom resource; admission of custom resources: 422 with causes worded like kube-apiserver,
// defaulting and pruning.
#include <gtest/gtest.h>

#include "tests/conformance/conformance_env.h"

namespace novacron::conformance {
namespace {

Cluster& c() {
  return Cluster::get();
}

std::string rv(const Json& obj) {
  return obj["metadata"].value("resourceVersion", "");
}

Json create(const std::string& name, const Json& spec) {
  Response r = c().api().post(c().widgets(), widgetObject(name, spec));
  EXPECT_EQ(r.status, 201) << r.raw;
  return r.body;
}

TEST(PatchTest, MergePatchMergesObjectsAndDeletesWithNull) {
  const std::string name = c().uniqueName("merge");
  create(name, {{"size", 1}, {"label", "abc"}, {"tags", {"x", "y"}}});
  Response r = c().api().patch(c().widget(name),
                               {{"spec", {{"size", 2}, {"label", nullptr}, {"tags", {"z"}}}},
                                {"metadata", {{"labels", {{"k", "v"}}}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["spec"]["size"], 2);
  EXPECT_FALSE(r.body["spec"].contains("label"));
  EXPECT_EQ(r.body["spec"]["tags"], Json({"z"}));
  EXPECT_EQ(r.body["metadata"]["labels"]["k"], "v");
}

TEST(PatchTest, MergePatchWithStaleResourceVersionConflicts) {
  const std::string name = c().uniqueName("merge-rv");
  Json obj = create(name, {{"size", 1}});
  ASSERT_EQ(c().api().patch(c().widget(name), {{"spec", {{"size", 2}}}}).status, 200);
  Response r = c().api().patch(
      c().widget(name), {{"metadata", {{"resourceVersion", rv(obj)}}}, {"spec", {{"size", 3}}}});
  EXPECT_EQ(r.status, 409) << r.raw;
  EXPECT_EQ(r.body["reason"], "Conflict");
}

TEST(PatchTest, JsonPatchAppliesInOrderAndTestOpGuards) {
  const std::string name = c().uniqueName("jsonp");
  Json obj = create(name, {{"size", 1}, {"tags", {"a"}}});
  Response ok = c().api().patch(c().widget(name), Json::parse(R"([
      {"op":"test","path":"/spec/size","value":1},
      {"op":"replace","path":"/spec/size","value":4},
      {"op":"add","path":"/spec/tags/-","value":"b"},
      {"op":"add","path":"/metadata/labels","value":{"novacron.io/x":"1"}},
      {"op":"replace","path":"/metadata/labels/novacron.io~1x","value":"2"}])"),
                                kJsonPatch);
  ASSERT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(ok.body["spec"]["size"], 4);
  EXPECT_EQ(ok.body["spec"]["tags"], Json({"a", "b"}));
  EXPECT_EQ(ok.body["metadata"]["labels"]["novacron.io/x"], "2");

  // A failing test op (the pattern NovaCron uses to guard finalizer removal with the
  // resourceVersion) changes nothing and answers 422.
  Response failed = c().api().patch(c().widget(name),
                                    Json::parse(R"([
      {"op":"test","path":"/metadata/resourceVersion","value":")" +
                                                rv(obj) + R"("},
      {"op":"replace","path":"/spec/size","value":9}])"),
                                    kJsonPatch);
  EXPECT_EQ(failed.status, 422) << failed.raw;
  EXPECT_EQ(failed.body["kind"], "Status");
  EXPECT_EQ(c().api().get(c().widget(name)).body["spec"]["size"], 4);

  Response missing = c().api().patch(
      c().widget(name), Json::parse(R"([{"op":"remove","path":"/spec/nothere"}])"), kJsonPatch);
  EXPECT_EQ(missing.status, 422) << missing.raw;

  Response malformed =
      c().api().patch(c().widget(name), Json::parse(R"({"op":"remove"})"), kJsonPatch);
  EXPECT_EQ(malformed.status, 400) << malformed.raw;
}

TEST(PatchTest, PatchOfMissingObjectIsNotFound) {
  Response r = c().api().patch(c().widget(c().uniqueName("nothing")), {{"spec", {{"size", 2}}}});
  EXPECT_EQ(r.status, 404) << r.raw;
}

TEST(PatchTest, PatchResultIsValidated) {
  const std::string name = c().uniqueName("patch-invalid");
  create(name, {{"size", 1}});
  Response r = c().api().patch(c().widget(name), {{"spec", {{"size", 11}}}});
  EXPECT_EQ(r.status, 422) << r.raw;
  EXPECT_EQ(c().api().get(c().widget(name)).body["spec"]["size"], 1);
}

TEST(PatchTest, StrategicMergePatchOnConfigMap) {
  const std::string name = c().uniqueName("smp");
  Json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", name}}},
             {"data", {{"a", "1"}, {"b", "2"}}}};
  ASSERT_EQ(c().api().post(c().core("configmaps"), cm).status, 201);
  Response r = c().api().patch(c().core("configmaps", name),
                               {{"data", {{"b", nullptr}, {"c", "3"}}}}, kStrategicMergePatch);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["data"], Json({{"a", "1"}, {"c", "3"}}));
}

// kube-apiserver serves custom resources without strategic merge patch (only JSON patch, merge
// patch and apply): `kubectl patch` on a CR needs --type=merge or --type=json.
TEST(PatchTest, StrategicMergePatchOnCustomResourceIsUnsupportedMediaType) {
  const std::string name = c().uniqueName("smp-cr");
  create(name, {{"size", 1}});
  Response r = c().api().patch(c().widget(name), {{"spec", {{"size", 2}}}}, kStrategicMergePatch);
  ASSERT_EQ(r.status, 415) << r.raw;
  EXPECT_EQ(r.body["kind"], "Status");
  EXPECT_EQ(r.body["status"], "Failure");
  EXPECT_EQ(r.body["reason"], "UnsupportedMediaType");
  EXPECT_EQ(r.body["code"], 415);
  const std::string message = r.body.value("message", "");
  EXPECT_EQ(message.rfind("the body of the request was in an unknown format - accepted media "
                          "types include: application/json-patch+json, "
                          "application/merge-patch+json",
                          0),
            0u)
      << message;
  EXPECT_EQ(message.find("strategic"), std::string::npos) << message;
  EXPECT_EQ(c().api().get(c().widget(name)).body["spec"]["size"], 1);
}

TEST(AdmissionTest, InvalidCustomResourceIs422WithCauses) {
  const std::string name = c().uniqueName("invalid");
  Response r = c().api().post(c().widgets(), widgetObject(name, {{"size", 1000}}));
  ASSERT_EQ(r.status, 422) << r.raw;
  EXPECT_EQ(r.body["kind"], "Status");
  EXPECT_EQ(r.body["status"], "Failure");
  EXPECT_EQ(r.body["reason"], "Invalid");
  EXPECT_EQ(r.body["code"], 422);
  EXPECT_EQ(r.body["message"],
            "Widget.conformance.novacron.io \"" + name +
                "\" is invalid: spec.size: Invalid value: 1000: spec.size in body should be less "
                "than or equal to 10");
  EXPECT_EQ(r.body["details"]["name"], name);
  EXPECT_EQ(r.body["details"]["group"], kGroup);
  EXPECT_EQ(r.body["details"]["kind"], "Widget");
  ASSERT_EQ(r.body["details"]["causes"].size(), 1u) << r.raw;
  const Json& cause = r.body["details"]["causes"][0];
  EXPECT_EQ(cause["reason"], "FieldValueInvalid");
  EXPECT_EQ(cause["field"], "spec.size");
  EXPECT_EQ(cause["message"],
            "Invalid value: 1000: spec.size in body should be less than or equal to 10");
  EXPECT_EQ(c().api().get(c().widget(name)).status, 404);
}

TEST(AdmissionTest, SeveralErrorsAreAllReported) {
  const std::string name = c().uniqueName("invalid-many");
  Response r = c().api().post(
      c().widgets(), widgetObject(name, {{"color", "purple"}, {"label", "ABC"}, {"port", true}}));
  ASSERT_EQ(r.status, 422) << r.raw;
  std::map<std::string, Json> by_field;
  for (const auto& cause : r.body["details"]["causes"]) {
    by_field[cause["field"]] = cause;
  }
  ASSERT_TRUE(by_field.count("spec.size")) << r.raw;
  EXPECT_EQ(by_field["spec.size"]["reason"], "FieldValueRequired");
  EXPECT_EQ(by_field["spec.size"]["message"], "Required value");
  ASSERT_TRUE(by_field.count("spec.color")) << r.raw;
  EXPECT_EQ(by_field["spec.color"]["reason"], "FieldValueNotSupported");
  EXPECT_EQ(by_field["spec.color"]["message"],
            "Unsupported value: \"purple\": supported values: \"red\", \"green\", \"blue\"");
  ASSERT_TRUE(by_field.count("spec.label")) << r.raw;
  EXPECT_EQ(by_field["spec.label"]["message"],
            "Invalid value: \"ABC\": spec.label in body should match '^[a-z]+$'");
  ASSERT_TRUE(by_field.count("spec.port")) << r.raw;
  EXPECT_EQ(by_field["spec.port"]["message"],
            "Invalid value: \"boolean\": spec.port in body must be of type integer,string: "
            "\"boolean\"");
  const std::string message = r.body["message"];
  EXPECT_EQ(message.rfind("Widget.conformance.novacron.io \"" + name + "\" is invalid: [", 0), 0u)
      << message;
}

TEST(AdmissionTest, TypeAndLengthErrors) {
  Response r = c().api().post(
      c().widgets(),
      widgetObject(c().uniqueName("types"), {{"size", "three"}, {"tags", {"a", "b", "c", "d"}}}));
  ASSERT_EQ(r.status, 422) << r.raw;
  std::map<std::string, Json> by_field;
  for (const auto& cause : r.body["details"]["causes"]) {
    by_field[cause["field"]] = cause;
  }
  EXPECT_EQ(by_field["spec.size"]["message"],
            "Invalid value: \"string\": spec.size in body must be of type integer: \"string\"");
  EXPECT_EQ(by_field["spec.tags"]["reason"], "FieldValueTooMany");
}

TEST(AdmissionTest, DefaultsAppliedUnknownFieldsPrunedNullableKept) {
  const std::string name = c().uniqueName("defaults");
  Json obj = widgetObject(name, {{"size", 2},
                                 {"unknownField", "dropped"},
                                 {"note", nullptr},
                                 {"port", "http"},
                                 {"extra", {{"free", {{"form", 1}}}}}});
  obj["topLevelJunk"] = true;
  Response r = c().api().post(c().widgets(), obj);
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["spec"]["color"], "red");
  EXPECT_FALSE(r.body["spec"].contains("unknownField"));
  EXPECT_FALSE(r.body.contains("topLevelJunk"));
  EXPECT_TRUE(r.body["spec"].contains("note") && r.body["spec"]["note"].is_null()) << r.raw;
  EXPECT_EQ(r.body["spec"]["port"], "http");
  EXPECT_EQ(r.body["spec"]["extra"]["free"]["form"], 1);
  Response got = c().api().get(c().widget(name));
  EXPECT_EQ(got.body["spec"]["color"], "red");
  EXPECT_FALSE(got.body["spec"].contains("unknownField"));
}

TEST(AdmissionTest, InvalidUpdateIsRefusedAndNothingChanges) {
  const std::string name = c().uniqueName("invalid-update");
  Json obj = create(name, {{"size", 1}});
  obj["spec"]["size"] = 0;
  Response r = c().api().put(c().widget(name), obj);
  EXPECT_EQ(r.status, 422) << r.raw;
  EXPECT_EQ(r.body["details"]["causes"][0]["message"],
            "Invalid value: 0: spec.size in body should be greater than or equal to 1");
  EXPECT_EQ(c().api().get(c().widget(name)).body["spec"]["size"], 1);
}

}  // namespace
}  // namespace novacron::conformance
