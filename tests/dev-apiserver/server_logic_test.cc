// Unit tests of the dev API server's pure logic: key layout, continue tokens, JSONPath for
// printer columns, Table output, field values and selectors, event conversion, query parsing.
#include <gtest/gtest.h>

#include "dev-apiserver/api_server.h"
#include "dev-apiserver/base64.h"
#include "dev-apiserver/etcd_client.h"
#include "dev-apiserver/http_server.h"
#include "dev-apiserver/protobuf_decode.h"
#include "dev-apiserver/registry.h"

namespace novacron::devapi {
namespace {

using nlohmann::json;

json vmCrd() {
  return json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "virtualmachines.novacron.io"},
    "spec": {"group": "novacron.io", "scope": "Namespaced",
      "names": {"plural": "virtualmachines", "singular": "virtualmachine",
                "kind": "VirtualMachine", "shortNames": ["vm"], "categories": ["all"]},
      "versions": [{"name": "v1alpha1", "served": true, "storage": true,
        "subresources": {"status": {}},
        "additionalPrinterColumns": [
          {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
          {"name": "CPUs", "type": "integer", "jsonPath": ".spec.cpus"},
          {"name": "Ready", "type": "string",
           "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}],
        "schema": {"openAPIV3Schema": {"type": "object",
          "properties": {"spec": {"type": "object",
            "properties": {"cpus": {"type": "integer"}}},
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}})");
}

TEST(KeyLayoutTest, BuiltinsUseResourceOnlyCustomResourcesUseGroup) {
  Registry reg;
  auto cm = reg.find("", "v1", "configmaps");
  ASSERT_NE(cm, nullptr);
  EXPECT_EQ(cm->key("default", "a"), "/registry/configmaps/default/a");
  EXPECT_EQ(cm->prefix(""), "/registry/configmaps/");
  auto ns = reg.find("", "v1", "namespaces");
  EXPECT_EQ(ns->key("", "kube-system"), "/registry/namespaces/kube-system");
  auto lease = reg.find("coordination.k8s.io", "v1", "leases");
  EXPECT_EQ(lease->key("n", "l"), "/registry/leases/n/l");
  auto crd = reg.find("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  EXPECT_EQ(crd->key("", "x.y"), "/registry/apiextensions.k8s.io/customresourcedefinitions/x.y");
  // Both Event APIs share one storage prefix, as in kube-apiserver.
  EXPECT_EQ(reg.find("events.k8s.io", "v1", "events")->storage_prefix,
            reg.find("", "v1", "events")->storage_prefix);

  json c = vmCrd();
  ASSERT_TRUE(reg.applyCrd("virtualmachines.novacron.io", &c).isOk());
  auto vm = reg.find("novacron.io", "v1alpha1", "virtualmachines");
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->key("default", "vm1"), "/registry/novacron.io/virtualmachines/default/vm1");
  EXPECT_TRUE(vm->has_status);
  EXPECT_TRUE(vm->custom);
  EXPECT_EQ(vm->short_names, std::vector<std::string>{"vm"});
  EXPECT_EQ(vm->list_kind, "VirtualMachineList");
  ASSERT_TRUE(reg.applyCrd("virtualmachines.novacron.io", nullptr).isOk());
  EXPECT_EQ(reg.find("novacron.io", "v1alpha1", "virtualmachines"), nullptr);
}

TEST(KeyLayoutTest, PrefixEnd) {
  EXPECT_EQ(prefixEnd("/registry/"), "/registry0");
  EXPECT_EQ(prefixEnd(std::string("a\xff", 2)), "b");
}

TEST(RegistryTest, PreferredVersionOrdering) {
  Registry reg;
  json c = vmCrd();
  json v1 = c["spec"]["versions"][0];
  v1["name"] = "v1";
  v1["storage"] = false;
  json v1beta2 = v1;
  v1beta2["name"] = "v1beta2";
  c["spec"]["versions"].push_back(v1beta2);
  c["spec"]["versions"].push_back(v1);
  ASSERT_TRUE(reg.applyCrd("virtualmachines.novacron.io", &c).isOk());
  for (const auto& [g, versions] : reg.groups()) {
    if (g == "novacron.io") {
      EXPECT_EQ(versions, (std::vector<std::string>{"v1", "v1beta2", "v1alpha1"}));
    }
  }
}

TEST(ContinueTokenTest, RoundTripsAndRejectsGarbage) {
  std::string token = encodeContinue(42, "default/vm-7\x00");
  int64_t rv = 0;
  std::string start;
  ASSERT_TRUE(decodeContinue(token, &rv, &start));
  EXPECT_EQ(rv, 42);
  EXPECT_EQ(start, "default/vm-7");
  // kube's own token format decodes too.
  std::string kube = base64Encode(R"({"v":"meta.k8s.io/v1","rv":7,"start":"a\u0000"})");
  ASSERT_TRUE(decodeContinue(kube, &rv, &start));
  EXPECT_EQ(rv, 7);
  EXPECT_EQ(start, std::string("a\0", 2));
  EXPECT_FALSE(decodeContinue("not-a-token", &rv, &start));
  EXPECT_FALSE(decodeContinue(base64Encode(R"({"v":"x","rv":1,"start":""})"), &rv, &start));
}

TEST(JsonPathTest, FieldsIndexesAndFilters) {
  json obj = json::parse(R"({"status": {"phase": "Running",
    "conditions": [{"type": "Scheduled", "status": "True"}, {"type": "Ready", "status": "False"}]},
    "spec": {"disks": [{"name": "root"}, {"name": "data"}]},
    "metadata": {"labels": {"app.kubernetes.io/name": "x"}}})");
  EXPECT_EQ(evalJsonPath(obj, ".status.phase"), "Running");
  EXPECT_EQ(evalJsonPath(obj, ".spec.disks[1].name"), "data");
  EXPECT_EQ(evalJsonPath(obj, ".status.conditions[?(@.type==\"Ready\")].status"), "False");
  EXPECT_EQ(evalJsonPath(obj, ".metadata.labels['app.kubernetes.io/name']"), "x");
  EXPECT_TRUE(evalJsonPath(obj, ".status.missing").is_null());
  EXPECT_TRUE(evalJsonPath(obj, ".spec.disks[5].name").is_null());
}

TEST(TableTest, PrinterColumnsOfCustomResources) {
  Registry reg;
  json c = vmCrd();
  ASSERT_TRUE(reg.applyCrd("virtualmachines.novacron.io", &c).isOk());
  auto vm = reg.find("novacron.io", "v1alpha1", "virtualmachines");
  json obj = json::parse(R"({"apiVersion": "novacron.io/v1alpha1", "kind": "VirtualMachine",
    "metadata": {"name": "vm1", "namespace": "default", "creationTimestamp": "2020-01-01T00:00:00Z"},
    "spec": {"cpus": 2}, "status": {"phase": "Running",
    "conditions": [{"type": "Ready", "status": "True"}]}})");
  json table = toTable(*vm, {obj}, "12", false);
  EXPECT_EQ(table["kind"], "Table");
  EXPECT_EQ(table["apiVersion"], "meta.k8s.io/v1");
  EXPECT_EQ(table["metadata"]["resourceVersion"], "12");
  ASSERT_EQ(table["columnDefinitions"].size(), 4u);
  EXPECT_EQ(table["columnDefinitions"][0]["name"], "Name");
  EXPECT_EQ(table["columnDefinitions"][1]["name"], "Phase");
  EXPECT_EQ(table["rows"][0]["cells"], json::parse(R"(["vm1", "Running", 2, "True"])"));
  EXPECT_EQ(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");
  EXPECT_EQ(table["rows"][0]["object"]["metadata"]["name"], "vm1");
  json full = toTable(*vm, {obj}, "12", true);
  EXPECT_EQ(full["rows"][0]["object"]["spec"]["cpus"], 2);
}

TEST(FieldValuesTest, EventsAndMetadata) {
  json ev = json::parse(R"({"metadata": {"name": "e1", "namespace": "ns"},
    "involvedObject": {"kind": "VirtualMachine", "name": "vm1"}, "source": {"component": "c"},
    "type": "Normal"})");
  auto v = fieldValues(ev, {"metadata.name", "metadata.namespace", "involvedObject.kind",
                            "involvedObject.uid", "source", "type"});
  EXPECT_EQ(v["metadata.name"], "e1");
  EXPECT_EQ(v["metadata.namespace"], "ns");
  EXPECT_EQ(v["involvedObject.kind"], "VirtualMachine");
  EXPECT_EQ(v["involvedObject.uid"], "");
  EXPECT_EQ(v["source"], "c");
  EXPECT_EQ(v["type"], "Normal");
}

// The server-side part of selectors: which fields a resource supports, and kube's wording.
TEST(SelectorsTest, SupportedFieldsOnly) {
  const std::vector<std::string> supported = {"metadata.name", "metadata.namespace"};
  auto s = parseSelectors("app=web", "metadata.name=a,metadata.namespace!=kube-system", supported);
  ASSERT_TRUE(s.isOk()) << s.status();
  EXPECT_TRUE(s->labels.matches(labelsOf(json::parse(R"({"metadata":{"labels":{"app":"web"}}})"))));
  EXPECT_TRUE(s->fields.matches(
      std::map<std::string, std::string>{{"metadata.name", "a"}, {"metadata.namespace", "d"}}));
  EXPECT_FALSE(s->fields.matches(std::map<std::string, std::string>{
      {"metadata.name", "a"}, {"metadata.namespace", "kube-system"}}));

  auto unsupported = parseSelectors("", "spec.cpu=2", {"metadata.name"});
  ASSERT_FALSE(unsupported.isOk());
  EXPECT_EQ(unsupported.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(unsupported.status().message(), "field label not supported: spec.cpu");

  auto bad_labels = parseSelectors("a=b c", "", supported);
  ASSERT_FALSE(bad_labels.isOk());
  EXPECT_EQ(bad_labels.status().message().rfind("unable to parse requirement: ", 0), 0u)
      << bad_labels.status();
  EXPECT_FALSE(parseSelectors("", "metadata.name in (a)", supported).isOk());
}

// An unset field is "" (kube's fields.Set), so "field=" selects objects without it.
TEST(SelectorsTest, AnUnsetFieldIsEmpty) {
  auto s = parseSelectors("", "involvedObject.uid=", {"involvedObject.uid"});
  ASSERT_TRUE(s.isOk()) << s.status();
  EXPECT_TRUE(s->fields.matches(
      fieldValues(json::parse(R"({"metadata":{"name":"e"}})"), {"involvedObject.uid"})));
}

TEST(EventConversionTest, EventsV1RoundTrips) {
  json v1 = json::parse(R"({"apiVersion": "events.k8s.io/v1", "kind": "Event",
    "regarding": {"kind": "Pod", "name": "p"}, "note": "hello", "reportingController": "x",
    "deprecatedCount": 3})");
  json core = eventToCore(v1);
  EXPECT_EQ(core["apiVersion"], "v1");
  EXPECT_EQ(core["involvedObject"]["name"], "p");
  EXPECT_EQ(core["message"], "hello");
  EXPECT_EQ(core["count"], 3);
  EXPECT_FALSE(core.contains("note"));
  EXPECT_EQ(eventFromCore(core), v1);
}

TEST(QueryTest, PercentDecoding) {
  auto q = parseQuery("labelSelector=env+in+%28a%2Cb%29&watch=1&fieldSelector=metadata.name%3Dx");
  EXPECT_EQ(q["labelSelector"], "env in (a,b)");
  EXPECT_EQ(q["watch"], "1");
  EXPECT_EQ(q["fieldSelector"], "metadata.name=x");
}

TEST(Base64Test, RoundTrip) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff", 2)}) {
    auto d = base64Decode(base64Encode(s));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, s);
  }
  EXPECT_FALSE(base64Decode("abc").has_value());
}

}  // namespace
}  // namespace novacron::devapi

namespace novacron::devapi {
namespace {

TEST(ProtobufDecodeTest, ConfigMapFromKubectl) {
  // k8s envelope around runtime.Unknown{typeMeta{v1, ConfigMap}, raw: ConfigMap{metadata{name:
  // "a"}, data{"k": "v"}}}, as kubectl's typed client sends it.
  std::string meta = std::string("\x0a\x01", 2) + "a";
  std::string entry = std::string("\x0a\x01", 2) + "k" + std::string("\x12\x01", 2) + "v";
  std::string raw = std::string("\x0a\x03", 2) + meta + std::string("\x12\x06", 2) + entry;
  std::string type_meta =
      std::string("\x0a\x02", 2) + "v1" + std::string("\x12\x09", 2) + "ConfigMap";
  std::string unknown = std::string("\x0a\x0f", 2) + type_meta + std::string("\x12\x0d", 2) + raw;
  auto obj = decodeKubernetesProtobuf(std::string("k8s\0", 4) + unknown);
  ASSERT_TRUE(obj.isOk()) << obj.status();
  EXPECT_EQ(*obj, nlohmann::json::parse(R"({"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"name": "a"}, "data": {"k": "v"}})"));
  EXPECT_FALSE(decodeKubernetesProtobuf("not protobuf").isOk());
  EXPECT_FALSE(decodeKubernetesProtobuf(std::string("k8s\0\x0a\x50", 6)).isOk());
}

}  // namespace
}  // namespace novacron::devapi
