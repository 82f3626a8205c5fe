// JSON/YAML codecs: samples round-trip, unknown fields survive read-modify-write, garbage is an
// error and never a crash.
#include "lib/api/codec.h"

#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "lib/api/hypervisor.h"
#include "lib/api/validation.h"
#include "tests/unit/lib/api/fixtures.h"
#include "tests/unit/lib/api/test_files.h"

namespace novacron::api {
namespace {

using nlohmann::json;

template <typename T>
void expectRoundTrip(const json& input, const std::string& what) {
  auto decoded = fromJson<T>(input);
  ASSERT_TRUE(decoded.isOk()) << what << ": " << decoded.status();
  const json encoded = toJson(*decoded);
  auto again = fromJson<T>(encoded);
  ASSERT_TRUE(again.isOk()) << what << ": " << again.status();
  EXPECT_EQ(*decoded, *again) << what << "\nencoded: " << encoded.dump(2);
  // Encoding is stable: a second round produces identical JSON.
  EXPECT_EQ(encoded, toJson(*again)) << what;
  // Nothing the input said is lost: every input member is still there with the same value,
  // except where the encoder only added defaults.
  for (auto it = input.begin(); it != input.end(); ++it) {
    EXPECT_TRUE(encoded.contains(it.key())) << what << ": lost " << it.key();
  }
  EXPECT_EQ(encoded["metadata"], input["metadata"]) << what;
}

TEST(CodecTest, EverySampleRoundTrips) {
  const auto dir = testing::sourceDir() / "config" / "samples";
  const auto files = testing::yamlFiles(dir);
  ASSERT_GE(files.size(), 4u) << "no samples in " << dir;
  int vms = 0;
  int migrations = 0;
  int hypervisors = 0;
  for (const auto& file : files) {
    auto docs = yamlDocumentsToJson(testing::readFile(file));
    ASSERT_TRUE(docs.isOk()) << file << ": " << docs.status();
    for (const json& doc : *docs) {
      const std::string kind = doc.value("kind", "");
      const std::string what = file.filename().string();
      if (kind == kVirtualMachineKind) {
        ++vms;
        expectRoundTrip<VirtualMachine>(doc, what);
        auto vm = virtualMachineFromJson(doc);
        ASSERT_TRUE(vm.isOk());
        EXPECT_TRUE(validate(*vm).isOk()) << what << ": " << validate(*vm);
      } else if (kind == kVMMigrationKind) {
        ++migrations;
        expectRoundTrip<VMMigration>(doc, what);
        auto m = vmMigrationFromJson(doc);
        ASSERT_TRUE(m.isOk());
        EXPECT_TRUE(validate(*m).isOk()) << what << ": " << validate(*m);
      } else if (kind == kHypervisorKind) {
        ++hypervisors;
        expectRoundTrip<Hypervisor>(doc, what);
        auto h = hypervisorFromJson(doc);
        ASSERT_TRUE(h.isOk());
        EXPECT_TRUE(validate(*h).isOk()) << what << ": " << validate(*h);
      } else {
        ADD_FAILURE() << what << ": unexpected kind " << kind;
      }
    }
  }
  EXPECT_GE(vms, 2);
  EXPECT_GE(migrations, 1);
  EXPECT_GE(hypervisors, 1);
}

TEST(CodecTest, InvalidSamplesDecodeButFailValidation) {
  const auto files = testing::yamlFiles(testing::sourceDir() / "config" / "samples" / "invalid");
  ASSERT_FALSE(files.empty());
  for (const auto& file : files) {
    auto doc = yamlToJson(testing::readFile(file));
    ASSERT_TRUE(doc.isOk()) << file << ": " << doc.status();
    auto vm = virtualMachineFromJson(*doc);
    ASSERT_TRUE(vm.isOk()) << file << ": " << vm.status();
    const core::Status status = validate(*vm);
    EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument) << file;
  }
}

TEST(CodecTest, FullyPopulatedObjectsRoundTrip) {
  const VirtualMachine vm = testing::fullVirtualMachine();
  auto vm2 = virtualMachineFromJson(toJson(vm));
  ASSERT_TRUE(vm2.isOk()) << vm2.status();
  EXPECT_EQ(vm, *vm2);

  const VMMigration m = testing::fullVMMigration();
  auto m2 = vmMigrationFromJson(toJson(m));
  ASSERT_TRUE(m2.isOk()) << m2.status();
  EXPECT_EQ(m, *m2);

  const Hypervisor h = testing::fullHypervisor();
  auto h2 = hypervisorFromJson(toJson(h));
  ASSERT_TRUE(h2.isOk()) << h2.status();
  EXPECT_EQ(h, *h2);
}

TEST(CodecTest, EncodesTheWireShape) {
  const json j = toJson(testing::fullVirtualMachine());
  EXPECT_EQ(j["apiVersion"], "novacron.io/v1alpha1");
  EXPECT_EQ(j["kind"], "VirtualMachine");
  EXPECT_EQ(j["metadata"]["namespace"], "default");
  EXPECT_EQ(j["metadata"]["creationTimestamp"], "2026-11-21T23:00:00Z");
  EXPECT_EQ(j["spec"]["resources"]["memory"], "4Gi");
  EXPECT_EQ(j["spec"]["runStrategy"], "RerunOnFailure");
  EXPECT_EQ(j["spec"]["disks"][1]["emptyDisk"]["size"], "10Gi");
  EXPECT_EQ(j["status"]["phase"], "Running");
  EXPECT_EQ(j["status"]["conditions"][0]["status"], "True");
  EXPECT_EQ(j["status"]["conditions"][0]["lastTransitionTime"], "2026-11-21T23:00:05Z");

  const json h = toJson(testing::fullHypervisor());
  EXPECT_EQ(h["status"]["summary"]["cpu"], "6/64");
  EXPECT_EQ(h["status"]["summary"]["memory"], "8Gi/60Gi");
  EXPECT_EQ(api::readableBytes(9004792LL * 1024), "8.6Gi") << "readable, not 9004792Ki";
  EXPECT_EQ(api::readableBytes(128LL << 20), "128Mi");
  EXPECT_EQ(api::readableBytes(1536LL << 20), "1.5Gi");
  EXPECT_EQ(api::readableBytes(512), "512");
  EXPECT_FALSE(h["metadata"].contains("namespace"));
}

TEST(CodecTest, OmitsUnsetOptionalsAndAppliesSchemaDefaults) {
  auto vm = virtualMachineFromJson(
      json::parse(R"({"metadata":{"name":"a"},"spec":{"resources":{"cpus":1,"memory":"1Gi"},
        "disks":[{"name":"d","emptyDisk":{"size":"1Gi"}}]}})"));
  ASSERT_TRUE(vm.isOk()) << vm.status();
  EXPECT_EQ(vm->spec.runStrategy, RunStrategy::kAlways);
  EXPECT_EQ(vm->spec.evictionStrategy, EvictionStrategy::kLiveMigrate);
  EXPECT_EQ(vm->spec.terminationGracePeriodSeconds, 30);
  EXPECT_EQ(vm->spec.disks[0].bus, DiskBus::kVirtio);
  const json j = toJson(*vm);
  EXPECT_FALSE(j.contains("status"));
  EXPECT_FALSE(j["spec"].contains("cpu"));
  EXPECT_FALSE(j["spec"].contains("kernelBoot"));
  EXPECT_FALSE(j["spec"].contains("networks"));
  EXPECT_FALSE(j["spec"]["disks"][0].contains("bootOrder"));
  EXPECT_FALSE(j["spec"]["disks"][0].contains("image"));
  EXPECT_FALSE(j["metadata"].contains("labels"));
  EXPECT_FALSE(j["metadata"].contains("generation"));
  // null means unset, as in Kubernetes.
  auto with_null = virtualMachineFromJson(json::parse(
      R"({"metadata":{"name":"a","labels":null},"spec":{"resources":{"cpus":1,"memory":"1Gi"},
        "kernelBoot":null}})"));
  ASSERT_TRUE(with_null.isOk()) << with_null.status();
  EXPECT_FALSE(with_null->spec.kernelBoot.has_value());
}

TEST(CodecTest, PreservesUnknownFieldsOnReadModifyWrite) {
  json input = toJson(testing::fullVirtualMachine());
  input["spec"]["futureField"] = {{"nested", {1, 2, 3}}};
  input["spec"]["disks"][0]["readOnly"] = true;
  input["spec"]["resources"]["hugepages"] = "2Mi";
  input["metadata"]["managedFields"] = json::array({{{"manager", "kubectl"}}});
  input["status"]["newStatusThing"] = "x";
  input["status"]["conditions"][0]["extra"] = 7;
  input["topLevelExtra"] = nullptr;
  auto vm = virtualMachineFromJson(input);
  ASSERT_TRUE(vm.isOk()) << vm.status();

  // A controller edits a known field and writes the object back.
  vm->metadata.finalizers.clear();
  vm->spec.resources.cpus = 2;
  const json output = toJson(*vm);
  EXPECT_EQ(output["spec"]["futureField"], input["spec"]["futureField"]);
  EXPECT_EQ(output["spec"]["disks"][0]["readOnly"], true);
  EXPECT_EQ(output["spec"]["resources"]["hugepages"], "2Mi");
  EXPECT_EQ(output["metadata"]["managedFields"], input["metadata"]["managedFields"]);
  EXPECT_EQ(output["status"]["newStatusThing"], "x");
  EXPECT_EQ(output["status"]["conditions"][0]["extra"], 7);
  EXPECT_TRUE(output.contains("topLevelExtra"));
  // Known fields come from the struct: the edits win, the cleared list is gone.
  EXPECT_EQ(output["spec"]["resources"]["cpus"], 2);
  EXPECT_FALSE(output["metadata"].contains("finalizers"));
}

TEST(CodecTest, KeepsQuantityTextSoWriteBackDoesNotChangeSpec) {
  auto vm = virtualMachineFromJson(json::parse(
      R"({"metadata":{"name":"a"},"spec":{"resources":{"cpus":1,"memory":"1024Mi"}}})"));
  ASSERT_TRUE(vm.isOk());
  EXPECT_EQ(vm->spec.resources.memory.value(), 1LL << 30);
  EXPECT_EQ(toJson(*vm)["spec"]["resources"]["memory"], "1024Mi");
}

// Each malformed document is rejected with InvalidArgument naming the field; none crashes.
TEST(CodecTest, GarbageIsAnErrorNamingTheField) {
  const std::string base =
      R"({"metadata":{"name":"a"},"spec":{"resources":{"cpus":1,"memory":"1Gi"}}})";
  struct Case {
    std::string json_patch_path;  // JSON pointer to overwrite
    json value;
    std::string expected_field;
  };
  const Case cases[] = {
      {"/spec/resources/cpus", "two", "spec.resources.cpus"},
      {"/spec/resources/cpus", 2.5, "spec.resources.cpus"},
      {"/spec/resources/cpus", json(std::numeric_limits<std::uint64_t>::max()),
       "spec.resources.cpus"},
      {"/spec/resources/cpus", json(std::int64_t{1} << 40), "spec.resources.cpus"},
      {"/spec/resources/cpus", json(-(std::int64_t{1} << 40)), "spec.resources.cpus"},
      {"/spec/resources/cpus", true, "spec.resources.cpus"},
      {"/spec/resources/memory", 1073741824, "spec.resources.memory"},
      {"/spec/resources/memory", "10Xi", "spec.resources.memory"},
      {"/spec/resources/memory", "99999999999Ei", "spec.resources.memory"},
      {"/spec/resources", "big", "spec.resources"},
      {"/spec/runStrategy", "Sometimes", "spec.runStrategy"},
      {"/spec/runStrategy", 3, "spec.runStrategy"},
      {"/spec/firmware", "BIOS", "spec.firmware"},
      {"/spec/disks", json::object(), "spec.disks"},
      {"/spec/disks", json::array({"root"}), "spec.disks[0]"},
      {"/spec/disks", json::array({{{"name", "d"}, {"bus", "scsi"}}}), "spec.disks[0].bus"},
      {"/spec/networks", json::array({{{"name", 5}}}), "spec.networks[0].name"},
      {"/spec/placement", json::array(), "spec.placement"},
      {"/spec/placement", json{{"hypervisorSelector", {{"zone", 1}}}},
       "spec.placement.hypervisorSelector[zone]"},
      {"/metadata/labels", json{{"a", true}}, "metadata.labels[a]"},
      {"/metadata/finalizers", "novacron.io/controller", "metadata.finalizers"},
      {"/metadata/creationTimestamp", "yesterday", "metadata.creationTimestamp"},
      {"/metadata/generation", "1", "metadata.generation"},
      {"/status", json{{"phase", "Exploded"}}, "status.phase"},
      {"/status", json{{"conditions", {{{"type", "Ready"}, {"status", "Maybe"}}}}},
       "status.conditions[0].status"},
      {"/status", json{{"conditions", {{{"type", "Ready"}}}}}, "status.conditions[0].status"},
      {"/status", json{{"startTime", 12}}, "status.startTime"},
      {"/spec", nullptr, "spec"},
      {"/apiVersion", "v1", "apiVersion"},
      {"/kind", "Pod", "kind"},
  };
  for (const Case& c : cases) {
    json doc = json::parse(base);
    doc[json::json_pointer(c.json_patch_path)] = c.value;
    auto vm = virtualMachineFromJson(doc);
    ASSERT_FALSE(vm.isOk()) << c.json_patch_path << " = " << c.value.dump();
    EXPECT_EQ(vm.status().code(), core::StatusCode::kInvalidArgument);
    EXPECT_NE(vm.status().message().find(c.expected_field + ":"), std::string::npos)
        << c.json_patch_path << " = " << c.value.dump() << " -> " << vm.status().message();
  }
}

TEST(CodecTest, NonObjectsAreErrors) {
  for (const json& doc : {json(nullptr), json(1), json("vm"), json::array(), json(true)}) {
    EXPECT_FALSE(virtualMachineFromJson(doc).isOk()) << doc.dump();
    EXPECT_FALSE(vmMigrationFromJson(doc).isOk()) << doc.dump();
    EXPECT_FALSE(hypervisorFromJson(doc).isOk()) << doc.dump();
  }
  // A Hypervisor without spec is fine (the node-daemon creates it that way); a VM is not.
  EXPECT_TRUE(hypervisorFromJson(json::parse(R"({"metadata":{"name":"n"}})")).isOk());
  EXPECT_FALSE(virtualMachineFromJson(json::parse(R"({"metadata":{"name":"n"}})")).isOk());
}

TEST(CodecTest, ListsEveryProblemAtOnce) {
  auto vm = virtualMachineFromJson(json::parse(
      R"({"metadata":{"name":"a"},"spec":{"runStrategy":"x","resources":{"cpus":"1","memory":5}}})"));
  ASSERT_FALSE(vm.isOk());
  const std::string msg = vm.status().message();
  EXPECT_NE(msg.find("spec.runStrategy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("spec.resources.cpus"), std::string::npos) << msg;
  EXPECT_NE(msg.find("spec.resources.memory"), std::string::npos) << msg;
}

TEST(CodecTest, MigrationAndHypervisorGarbage) {
  json m = toJson(testing::fullVMMigration());
  m["spec"]["options"]["compression"] = "gzip";
  m["status"]["progress"]["percent"] = "half";
  auto decoded = vmMigrationFromJson(m);
  ASSERT_FALSE(decoded.isOk());
  EXPECT_NE(decoded.status().message().find("spec.options.compression"), std::string::npos);
  EXPECT_NE(decoded.status().message().find("status.progress.percent"), std::string::npos);

  json h = toJson(testing::fullHypervisor());
  h["spec"]["overcommit"]["cpu"] = "lots";
  h["status"]["virtualization"] = "xen";
  auto hv = hypervisorFromJson(h);
  ASSERT_FALSE(hv.isOk());
  EXPECT_NE(hv.status().message().find("spec.overcommit.cpu"), std::string::npos);
  EXPECT_NE(hv.status().message().find("status.virtualization"), std::string::npos);
}

// An overcommit field left out stays unset (it means "the controller's default"), never 1.
TEST(CodecTest, PartialOvercommitKeepsUnsetFieldsUnset) {
  auto hv = hypervisorFromJson(json::parse(
      R"({"apiVersion":"novacron.io/v1alpha1","kind":"Hypervisor","metadata":{"name":"a"},
          "spec":{"overcommit":{"memory":1.5}}})"));
  ASSERT_TRUE(hv.isOk()) << hv.status();
  ASSERT_TRUE(hv->spec.overcommit);
  EXPECT_FALSE(hv->spec.overcommit->cpu);
  EXPECT_EQ(hv->spec.overcommit->memory, 1.5);
  const json encoded = toJson(*hv);
  EXPECT_EQ(encoded["spec"]["overcommit"], json::parse(R"({"memory":1.5})"));
}

TEST(YamlTest, ScalarsResolveLikeKubectl) {
  auto j = yamlToJson(R"(
quotedOne: "1"
one: 1
singleQuotedTrue: 'true'
yes: true
plainYes: yes
off: off
str: hello
float: 1.5
two: 2.0
hex: 0x1F
octal: 0o17
neg: -3
nul: ~
empty:
nullWord: null
quotedNull: "null"
version: "1.20"
mac: "52:54:00:00:00:01"
time: 2026-11-21T23:00:00Z
big: 18446744073709551615
bigger: 99999999999999999999
tagged: !!str 123
list: [a, 1, "2"]
)");
  ASSERT_TRUE(j.isOk()) << j.status();
  const json& v = *j;
  EXPECT_EQ(v["quotedOne"], json("1"));
  EXPECT_EQ(v["one"], json(1));
  EXPECT_EQ(v["singleQuotedTrue"], json("true"));
  EXPECT_EQ(v["yes"], json(true));  // the key is a string, the value a bool
  EXPECT_EQ(v["plainYes"], json(true));
  EXPECT_EQ(v["off"], json(false));
  EXPECT_EQ(v["str"], json("hello"));
  EXPECT_EQ(v["float"], json(1.5));
  EXPECT_TRUE(v["two"].is_number_integer());
  EXPECT_EQ(v["hex"], json(31));
  EXPECT_EQ(v["octal"], json(15));
  EXPECT_EQ(v["neg"], json(-3));
  EXPECT_TRUE(v["nul"].is_null());
  EXPECT_TRUE(v["empty"].is_null());
  EXPECT_TRUE(v["nullWord"].is_null());
  EXPECT_EQ(v["quotedNull"], json("null"));
  EXPECT_EQ(v["version"], json("1.20"));
  EXPECT_EQ(v["mac"], json("52:54:00:00:00:01"));
  EXPECT_EQ(v["time"], json("2026-11-21T23:00:00Z"));
  EXPECT_TRUE(v["big"].is_number_unsigned());
  EXPECT_TRUE(v["bigger"].is_number_float());
  EXPECT_EQ(v["tagged"], json("123"));
  EXPECT_EQ(v["list"], json::parse(R"(["a", 1, "2"])"));
}

TEST(YamlTest, MalformedOrHostileYamlIsAnError) {
  const char* cases[] = {
      "a: [1, 2",        // unterminated flow
      "a: b: c",         // bad mapping
      "a: 1\na: 2",      // duplicate key
      "x: .inf",         // not representable in JSON
      "? [a, b]\n: c",   // non-scalar key
      "a: !!int hello",  // tag mismatch
      "\t- a",           // tab indentation
  };
  for (const char* text : cases) {
    auto j = yamlToJson(text);
    EXPECT_FALSE(j.isOk()) << text << " -> " << (j.isOk() ? j->dump() : "");
  }
  // Nesting bomb.
  EXPECT_FALSE(yamlToJson(std::string(1000, '[') + std::string(1000, ']')).isOk());
  // Alias bomb: 10 levels of 10 aliases each = 10^10 nodes if expanded naively.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    const std::string p = "*a" + std::to_string(i - 1);
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p + ", " + p + ", " + p +
            ", " + p + ", " + p + ", " + p + ", " + p + ", " + p + ", " + p + ", " + p + "]\n";
  }
  EXPECT_FALSE(yamlToJson(bomb).isOk());
}

TEST(YamlTest, MergeKeysAndMultipleDocuments) {
  auto j = yamlToJson("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n");
  ASSERT_TRUE(j.isOk()) << j.status();
  EXPECT_EQ((*j)["derived"], json::parse(R"({"x":1,"y":3})"));

  auto docs = yamlDocumentsToJson("a: 1\n---\n---\nb: 2\n");
  ASSERT_TRUE(docs.isOk()) << docs.status();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[1]["b"], 2);
  EXPECT_FALSE(yamlToJson("a: 1\n---\nb: 2\n").isOk());  // one document expected
  auto empty = yamlToJson("");
  ASSERT_TRUE(empty.isOk());
  EXPECT_TRUE(empty->is_null());
}

}  // namespace
}  // namespace novacron::api

namespace novacron::api {
namespace {

// Collects JSON pointers to every value in a document.
void collectPointers(const nlohmann::json& j, const nlohmann::json::json_pointer& at,
                     std::vector<nlohmann::json::json_pointer>& out) {
  out.push_back(at);
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      collectPointers(it.value(), at / it.key(), out);
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) {
      collectPointers(j[i], at / i, out);
    }
  }
}

// Deterministic random mutations of valid documents: decoding, validating and re-encoding never
// crash, and whatever decodes re-encodes to something that decodes to the same value.
TEST(CodecFuzzTest, RandomMutationsNeverCrash) {
  using nlohmann::json;
  const json replacements[] = {
      nullptr,
      true,
      0,
      -1,
      json(std::numeric_limits<std::int64_t>::min()),
      json(std::numeric_limits<std::uint64_t>::max()),
      1e308,
      -0.5,
      "",
      "x",
      std::string("\0\xff\xfe", 3),
      "1Gi",
      "10Xi",
      "Running",
      "2026-11-21T23:00:00Z",
      json::array(),
      json::array({1, "a", nullptr}),
      json::object(),
      json{{"a", {{"b", {1, 2}}}}},
  };
  const json docs[] = {toJson(testing::fullVirtualMachine()), toJson(testing::fullVMMigration()),
                       toJson(testing::fullHypervisor())};
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  const auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int decoded_ok = 0;
  int decoded_err = 0;
  for (int round = 0; round < 3000; ++round) {
    const std::size_t kind = next() % 3;
    json doc = docs[kind];
    std::vector<json::json_pointer> pointers;
    collectPointers(doc, json::json_pointer(), pointers);
    const int mutations = 1 + static_cast<int>(next() % 3);
    for (int m = 0; m < mutations; ++m) {
      const auto& ptr = pointers[next() % pointers.size()];
      if (!doc.contains(ptr)) {
        continue;  // an earlier mutation replaced a parent
      }
      if (ptr.empty()) {
        doc = replacements[next() % std::size(replacements)];
      } else {
        doc[ptr] = replacements[next() % std::size(replacements)];
      }
    }
    const auto roundTrip = [&](auto decoded) {
      if (!decoded.isOk()) {
        ++decoded_err;
        EXPECT_EQ(decoded.status().code(), core::StatusCode::kInvalidArgument);
        return;
      }
      ++decoded_ok;
      (void)validationErrors(*decoded);
      const json encoded = toJson(*decoded);
      auto again = fromJson<std::decay_t<decltype(*decoded)>>(encoded);
      ASSERT_TRUE(again.isOk()) << again.status() << "\n" << encoded.dump();
      EXPECT_EQ(*again, *decoded);
    };
    if (kind == 0) {
      roundTrip(virtualMachineFromJson(doc));
    } else if (kind == 1) {
      roundTrip(vmMigrationFromJson(doc));
    } else {
      roundTrip(hypervisorFromJson(doc));
    }
  }
  // Both outcomes were exercised.
  EXPECT_GT(decoded_ok, 100);
  EXPECT_GT(decoded_err, 100);
}

}  // namespace
}  // namespace novacron::api
