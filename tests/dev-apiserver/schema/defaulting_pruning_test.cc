#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dev-apiserver/schema/defaulting.h"
#include "dev-apiserver/schema/pruning.h"

namespace novacron::devapi::schema {
namespace {

using json = nlohmann::json;

StructuralSchema parse(const char* text) {
  auto s = StructuralSchema::fromJson(json::parse(text));
  EXPECT_TRUE(s.isOk()) << s.status();
  return std::move(s).value();
}

const char* kSchema = R"({
  "type": "object",
  "properties": {
    "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
    "spec": {"type": "object", "default": {}, "properties": {
      "policy": {"type": "string", "default": "Always"},
      "cpu": {"type": "object", "default": {}, "properties": {
        "sockets": {"type": "integer", "default": 1},
        "model": {"type": "string", "nullable": true, "default": "host-model"}}},
      "disks": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "bus": {"type": "string", "default": "virtio"}}}},
      "nets": {"type": "object", "additionalProperties": {"type": "object", "properties": {
        "mode": {"type": "string", "default": "nat"}}}},
      "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {
        "known": {"type": "object", "properties": {"k": {"type": "string"}}}}},
      "embedded": {"type": "object", "x-kubernetes-embedded-resource": true,
                   "x-kubernetes-preserve-unknown-fields": true}
    }},
    "status": {"type": "object", "properties": {"phase": {"type": "string"}}}
  }
})";

TEST(DefaultingTest, MissingFieldsRecursivelyIncludingDefaultedObjects) {
  auto s = parse(kSchema);
  json obj = {{"apiVersion", "v"}, {"kind", "K"}};
  applyDefaults(s, obj);
  EXPECT_EQ(obj["spec"],
            json::parse(R"({"policy":"Always","cpu":{"sockets":1,"model":"host-model"}})"));
}

TEST(DefaultingTest, ArrayItemsAndMapValues) {
  auto s = parse(kSchema);
  json obj =
      json::parse(R"({"spec":{"policy":"Manual","disks":[{"name":"a"},{"name":"b","bus":"sata"}],
                              "nets":{"default":{},"other":{"mode":"bridge"}}}})");
  applyDefaults(s, obj);
  EXPECT_EQ(obj["spec"]["policy"], "Manual");
  EXPECT_EQ(obj["spec"]["disks"],
            json::parse(R"([{"name":"a","bus":"virtio"},{"name":"b","bus":"sata"}])"));
  EXPECT_EQ(obj["spec"]["nets"],
            json::parse(R"({"default":{"mode":"nat"},"other":{"mode":"bridge"}})"));
}

TEST(DefaultingTest, NullGetsDefaultOnlyWhenNotNullable) {
  auto s = parse(kSchema);
  json obj = json::parse(R"({"spec":{"policy":null,"cpu":{"model":null}}})");
  applyDefaults(s, obj);
  EXPECT_EQ(obj["spec"]["policy"], "Always");
  EXPECT_TRUE(obj["spec"]["cpu"]["model"].is_null());
  EXPECT_EQ(obj["spec"]["cpu"]["sockets"], 1);
}

TEST(PruningTest, DropsUnknownFieldsKeepsTypeMetaAndMetadata) {
  auto s = parse(kSchema);
  json obj = json::parse(R"({"apiVersion":"v","kind":"K","metadata":{"name":"a","labels":{"x":"y"}},
    "bogus":1,
    "spec":{"policy":"Always","unknown":{"deep":1},"disks":[{"name":"a","extra":true}],
            "nets":{"n":{"mode":"nat","junk":1}},
            "extra":{"anything":{"goes":[1,2]},"known":{"k":"v","pruned":1}},
            "embedded":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"x":1}}},
    "status":{"phase":"Running","junk":true}})");
  auto pruned = pruneAndReport(s, obj);
  EXPECT_EQ(obj,
            json::parse(R"({"apiVersion":"v","kind":"K","metadata":{"name":"a","labels":{"x":"y"}},
    "spec":{"policy":"Always","disks":[{"name":"a"}],"nets":{"n":{"mode":"nat"}},
            "extra":{"anything":{"goes":[1,2]},"known":{"k":"v"}},
            "embedded":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"x":1}}},
    "status":{"phase":"Running"}})"));
  std::sort(pruned.begin(), pruned.end());
  EXPECT_EQ(pruned,
            (std::vector<std::string>{"bogus", "spec.disks[0].extra", "spec.extra.known.pruned",
                                      "spec.nets.n.junk", "spec.unknown", "status.junk"}));
}

TEST(PruningTest, ScalarSchemaWithObjectValueIsEmptied) {
  auto s = parse(R"({"type":"object","properties":{"a":{"type":"string"}}})");
  json obj = json::parse(R"({"a":{"x":1}})");
  prune(s, obj);
  EXPECT_EQ(obj, json::parse(R"({"a":{}})"));
}

TEST(PruningTest, NonStringApiVersionIsPruned) {
  auto s = parse(R"({"type":"object"})");
  json obj = json::parse(R"({"apiVersion":1,"kind":"K","metadata":{"name":"n"},"spec":{}})");
  prune(s, obj);
  EXPECT_EQ(obj, json::parse(R"({"kind":"K","metadata":{"name":"n"}})"));
}

}  // namespace
}  // namespace novacron::devapi::schema
