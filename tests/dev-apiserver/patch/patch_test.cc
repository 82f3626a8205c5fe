#include "dev-apiserver/patch/patch.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace novacron::devapi::patch {
namespace {

using json = nlohmann::json;

json mergeOk(const json& target, const json& p) {
  auto r = applyMergePatch(target, p);
  EXPECT_TRUE(r.isOk()) << r.status();
  return r.isOk() ? *r : json();
}

json jsonOk(const json& target, const json& p) {
  auto r = applyJsonPatch(target, p);
  EXPECT_TRUE(r.isOk()) << r.status();
  return r.isOk() ? *r : json();
}

// The examples of RFC 7386 appendix A.
TEST(MergePatchTest, Rfc7386Examples) {
  struct Case {
    const char* target;
    const char* patch;
    const char* result;
  };
  const Case cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", "null", "null"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(mergeOk(json::parse(c.target), json::parse(c.patch)), json::parse(c.result))
        << c.target << " + " << c.patch;
  }
}

TEST(MergePatchTest, DiscardedPatchIsBadRequest) {
  auto r = applyMergePatch(json::object(), json::parse("{", nullptr, false));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(httpCodeForPatchError(r.status()), 400);
}

TEST(JsonPatchTest, AddReplaceRemove) {
  json doc = {{"spec", {{"cpus", 1}, {"disks", json::array({"a", "b"})}}}};
  json out = jsonOk(doc, json::parse(R"([
    {"op":"replace","path":"/spec/cpus","value":4},
    {"op":"add","path":"/spec/memory","value":"1Gi"},
    {"op":"add","path":"/spec/disks/1","value":"x"},
    {"op":"add","path":"/spec/disks/-","value":"z"},
    {"op":"remove","path":"/spec/disks/0"}
  ])"));
  EXPECT_EQ(out, json::parse(R"({"spec":{"cpus":4,"memory":"1Gi","disks":["x","b","z"]}})"));
}

TEST(JsonPatchTest, EscapedPointers) {
  json doc = {{"metadata", {{"labels", {{"novacron.io/node", "a"}, {"x~y", "b"}}}}}};
  json out = jsonOk(doc, json::parse(R"([
    {"op":"replace","path":"/metadata/labels/novacron.io~1node","value":"n2"},
    {"op":"remove","path":"/metadata/labels/x~0y"},
    {"op":"add","path":"/metadata/labels/a~01","value":"c"}
  ])"));
  EXPECT_EQ(out["metadata"]["labels"], json::parse(R"({"novacron.io/node":"n2","a~1":"c"})"));
}

TEST(JsonPatchTest, TestOpPassesAndFails) {
  json doc = {{"metadata", {{"resourceVersion", "5"}, {"finalizers", json::array({"f"})}}}};
  json out = jsonOk(doc, json::parse(R"([
    {"op":"test","path":"/metadata/resourceVersion","value":"5"},
    {"op":"remove","path":"/metadata/finalizers/0"}
  ])"));
  EXPECT_EQ(out["metadata"]["finalizers"], json::array());

  auto r = applyJsonPatch(doc, json::parse(R"([
    {"op":"remove","path":"/metadata/finalizers/0"},
    {"op":"test","path":"/metadata/resourceVersion","value":"4"}
  ])"));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "testing value /metadata/resourceVersion failed: test failed");
  EXPECT_EQ(httpCodeForPatchError(r.status()), 422);
  json status = patchErrorStatus(r.status());
  EXPECT_EQ(status["code"], 422);
  EXPECT_EQ(status["reason"], "Invalid");
  EXPECT_EQ(status["message"], "the server rejected our request due to an error in our request");
}

TEST(JsonPatchTest, TestComparesNumbersByValueAndDeepStructures) {
  json doc = json::parse(R"({"a":1,"b":{"c":[1,{"d":true}]}})");
  EXPECT_TRUE(
      applyJsonPatch(doc, json::parse(R"([{"op":"test","path":"/a","value":1.0}])")).isOk());
  EXPECT_TRUE(applyJsonPatch(
                  doc, json::parse(R"([{"op":"test","path":"/b","value":{"c":[1,{"d":true}]}}])"))
                  .isOk());
  EXPECT_FALSE(
      applyJsonPatch(doc, json::parse(R"([{"op":"test","path":"/b/c","value":[{"d":true},1]}])"))
          .isOk());
  EXPECT_FALSE(
      applyJsonPatch(doc, json::parse(R"([{"op":"test","path":"/missing","value":null}])")).isOk());
}

TEST(JsonPatchTest, MoveAndCopy) {
  json doc = json::parse(R"({"a":{"b":1},"list":[1,2,3]})");
  json out = jsonOk(doc, json::parse(R"([
    {"op":"copy","from":"/a","path":"/c"},
    {"op":"move","from":"/a/b","path":"/d"},
    {"op":"move","from":"/list/0","path":"/list/-"}
  ])"));
  EXPECT_EQ(out, json::parse(R"({"a":{},"c":{"b":1},"d":1,"list":[2,3,1]})"));

  auto r = applyJsonPatch(doc, json::parse(R"([{"op":"move","from":"/a","path":"/a/b/c"}])"));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::StatusCode::kFailedPrecondition);
}

TEST(JsonPatchTest, WholeDocumentAndEmptyPatch) {
  json doc = {{"a", 1}};
  EXPECT_EQ(jsonOk(doc, json::array()), doc);
  EXPECT_EQ(jsonOk(doc, json::parse(R"([{"op":"replace","path":"","value":{"b":2}}])")),
            json::parse(R"({"b":2})"));
  EXPECT_EQ(jsonOk(doc, json::parse(R"([{"op":"add","path":"/","value":3}])")),
            json::parse(R"({"a":1,"":3})"));
}

TEST(JsonPatchTest, ApplicationErrorsAreUnprocessable) {
  json doc = json::parse(R"({"a":{"b":1},"list":[1,2]})");
  for (const char* p : {
           R"([{"op":"replace","path":"/nope","value":1}])",
           R"([{"op":"remove","path":"/a/zz"}])",
           R"([{"op":"add","path":"/x/y","value":1}])",
           R"([{"op":"add","path":"/list/3","value":1}])",
           R"([{"op":"add","path":"/list/01","value":1}])",
           R"([{"op":"remove","path":"/list/-"}])",
           R"([{"op":"copy","from":"/nope","path":"/z"}])",
           R"([{"op":"add","path":"/a/b/c","value":1}])",
       }) {
    auto r = applyJsonPatch(doc, json::parse(p));
    ASSERT_FALSE(r.isOk()) << p;
    EXPECT_EQ(r.status().code(), core::StatusCode::kFailedPrecondition) << p << r.status();
  }
}

TEST(JsonPatchTest, MalformedPatchesAreBadRequests) {
  json doc = json::parse(R"({"a":1})");
  for (const char* p : {
           R"({"op":"add"})",
           R"([{"path":"/a","value":1}])",
           R"([{"op":"add","path":"/a"}])",
           R"([{"op":"frobnicate","path":"/a","value":1}])",
           R"([{"op":"move","path":"/b"}])",
           R"([{"op":"add","path":"a","value":1}])",
           R"([{"op":"add","path":"/a~2","value":1}])",
           R"([1])",
       }) {
    auto r = applyJsonPatch(doc, json::parse(p));
    ASSERT_FALSE(r.isOk()) << p;
    EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument) << p << r.status();
    EXPECT_EQ(patchErrorStatus(r.status())["code"], 400);
  }
}

TEST(JsonPatchTest, FailedPatchLeavesTargetUntouched) {
  const json doc = json::parse(R"({"a":1})");
  auto r = applyJsonPatch(doc, json::parse(R"([{"op":"add","path":"/b","value":2},
                                               {"op":"test","path":"/a","value":2}])"));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(doc, json::parse(R"({"a":1})"));
}

}  // namespace
}  // namespace novacron::devapi::patch
