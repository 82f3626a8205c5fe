// validate(): a table of bad inputs, each rejected with a message naming the field; good objects
// pass.
#include "lib/api/validation.h"

#include <cmath>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "lib/api/codec.h"
#include "tests/unit/lib/api/fixtures.h"

namespace novacron::api {
namespace {

// Names a user might type that must never reach a domain or file name.
const std::string kBadNames[] = {
    "a..b",
    "..",
    "a/b",
    "../etc",
    "a<b",
    "a>b",
    "a&b",
    "a'b",
    "a\"b",
    std::string("a\0b", 3),
    "A",
    "-a",
    "a-",
    "a_b",
    "a b",
    "a.b",  // '.' is fine in a subdomain, not in a label
    std::string(64, 'a'),
    "",
};

bool hasErrorOn(const FieldErrors& errors, const std::string& field) {
  for (const FieldError& e : errors) {
    if (e.field == field) {
      return true;
    }
  }
  return false;
}

std::string describe(const FieldErrors& errors) {
  std::string out;
  for (const FieldError& e : errors) {
    out += "\n  " + e.toString();
  }
  return out.empty() ? " (no errors)" : out;
}

TEST(ValidationTest, FullyPopulatedObjectsAreValid) {
  EXPECT_TRUE(validate(testing::fullVirtualMachine()).isOk())
      << validate(testing::fullVirtualMachine());
  EXPECT_TRUE(validate(testing::fullVMMigration()).isOk()) << validate(testing::fullVMMigration());
  EXPECT_TRUE(validate(testing::fullHypervisor()).isOk()) << validate(testing::fullHypervisor());
}

struct VmCase {
  std::string name;
  std::function<void(VirtualMachine&)> mutate;
  std::string field;  // the field error must be on exactly this path
};

Quantity q(const char* text) {
  auto parsed = Quantity::parse(text);
  EXPECT_TRUE(parsed.isOk()) << text;
  return parsed.valueOr(Quantity());
}

TEST(ValidationTest, RejectsBadVirtualMachines) {
  std::vector<VmCase> cases = {
      {"memory 0", [](VirtualMachine& vm) { vm.spec.resources.memory = q("0"); },
       "spec.resources.memory"},
      {"memory -1Gi", [](VirtualMachine& vm) { vm.spec.resources.memory = q("-1Gi"); },
       "spec.resources.memory"},
      {"memory 63Mi", [](VirtualMachine& vm) { vm.spec.resources.memory = q("63Mi"); },
       "spec.resources.memory"},
      {"memory 5Ti", [](VirtualMachine& vm) { vm.spec.resources.memory = q("5Ti"); },
       "spec.resources.memory"},
      {"cpus 0", [](VirtualMachine& vm) { vm.spec.resources.cpus = 0; }, "spec.resources.cpus"},
      {"cpus 1000", [](VirtualMachine& vm) { vm.spec.resources.cpus = 1000; },
       "spec.resources.cpus"},
      {"cpus -1", [](VirtualMachine& vm) { vm.spec.resources.cpus = -1; }, "spec.resources.cpus"},
      {"two disk sources",
       [](VirtualMachine& vm) {
         vm.spec.disks[0].emptyDisk = EmptyDiskSource{q("1Gi"), {}};
       },
       "spec.disks[0]"},
      {"three disk sources",
       [](VirtualMachine& vm) {
         vm.spec.disks[1].image = ImageSource{"image:x", std::nullopt, {}};
         vm.spec.disks[1].cloudInit = CloudInitSource{};
       },
       "spec.disks[1]"},
      {"no disk source", [](VirtualMachine& vm) { vm.spec.disks[1].emptyDisk.reset(); },
       "spec.disks[1]"},
      {"unknown runStrategy",
       [](VirtualMachine& vm) { vm.spec.runStrategy = static_cast<RunStrategy>(42); },
       "spec.runStrategy"},
      {"unknown firmware", [](VirtualMachine& vm) { vm.spec.firmware = static_cast<Firmware>(9); },
       "spec.firmware"},
      {"unknown bus", [](VirtualMachine& vm) { vm.spec.disks[0].bus = static_cast<DiskBus>(7); },
       "spec.disks[0].bus"},
      {"unknown network type",
       [](VirtualMachine& vm) { vm.spec.networks[0].type = static_cast<NetworkType>(5); },
       "spec.networks[0].type"},
      {"unknown evictionStrategy",
       [](VirtualMachine& vm) { vm.spec.evictionStrategy = static_cast<EvictionStrategy>(9); },
       "spec.evictionStrategy"},
      {"unknown phase",
       [](VirtualMachine& vm) { vm.status.phase = static_cast<VirtualMachinePhase>(99); },
       "status.phase"},
      {"empty disk 0", [](VirtualMachine& vm) { vm.spec.disks[1].emptyDisk->size = q("0"); },
       "spec.disks[1].emptyDisk.size"},
      {"host path image",
       [](VirtualMachine& vm) { vm.spec.disks[0].image->url = "/var/lib/images/x.qcow2"; },
       "spec.disks[0].image.url"},
      {"file url", [](VirtualMachine& vm) { vm.spec.disks[0].image->url = "file:///etc/passwd"; },
       "spec.disks[0].image.url"},
      {"image store traversal",
       [](VirtualMachine& vm) { vm.spec.disks[0].image->url = "image:../../etc/shadow"; },
       "spec.disks[0].image.url"},
      {"image store slash", [](VirtualMachine& vm) { vm.spec.disks[0].image->url = "image:a/b"; },
       "spec.disks[0].image.url"},
      {"url with quote", [](VirtualMachine& vm) { vm.spec.disks[0].image->url = "https://x/a'b"; },
       "spec.disks[0].image.url"},
      {"url with space", [](VirtualMachine& vm) { vm.spec.disks[0].image->url = "https://x/a b"; },
       "spec.disks[0].image.url"},
      {"kernel host path",
       [](VirtualMachine& vm) { vm.spec.kernelBoot->kernel.url = "/boot/vmlinuz"; },
       "spec.kernelBoot.kernel.url"},
      {"kernel missing url", [](VirtualMachine& vm) { vm.spec.kernelBoot->kernel.url = ""; },
       "spec.kernelBoot.kernel.url"},
      {"bad sha256", [](VirtualMachine& vm) { vm.spec.disks[0].image->sha256 = "ABC"; },
       "spec.disks[0].image.sha256"},
      {"cmdline newline",
       [](VirtualMachine& vm) { vm.spec.kernelBoot->cmdline = "console=ttyS0\ninit=/bin/sh"; },
       "spec.kernelBoot.cmdline"},
      {"duplicate disk names", [](VirtualMachine& vm) { vm.spec.disks[1].name = "root"; },
       "spec.disks[1].name"},
      {"duplicate boot order", [](VirtualMachine& vm) { vm.spec.disks[1].bootOrder = 1; },
       "spec.disks[1].bootOrder"},
      {"two cloud-init disks",
       [](VirtualMachine& vm) {
         Disk d;
         d.name = "seed2";
         d.cloudInit = CloudInitSource{};
         vm.spec.disks.push_back(d);
       },
       "spec.disks[3].cloudInit"},
      {"too many disks",
       [](VirtualMachine& vm) {
         for (int i = 0; i < 20; ++i) {
           Disk d;
           d.name = "extra-" + std::to_string(i);
           d.emptyDisk = EmptyDiskSource{q("1Gi"), {}};
           vm.spec.disks.push_back(d);
         }
       },
       "spec.disks"},
      {"bridge on nat", [](VirtualMachine& vm) { vm.spec.networks[0].bridge = "br0"; },
       "spec.networks[0].bridge"},
      {"bridge missing", [](VirtualMachine& vm) { vm.spec.networks[1].bridge.reset(); },
       "spec.networks[1].bridge"},
      {"bridge traversal", [](VirtualMachine& vm) { vm.spec.networks[1].bridge = "../br0"; },
       "spec.networks[1].bridge"},
      {"bridge too long",
       [](VirtualMachine& vm) { vm.spec.networks[1].bridge = "a-very-long-bridge0"; },
       "spec.networks[1].bridge"},
      {"bad mac", [](VirtualMachine& vm) { vm.spec.networks[0].mac = "52:54:00:00:00"; },
       "spec.networks[0].mac"},
      {"topology mismatch", [](VirtualMachine& vm) { vm.spec.cpu->topology->cores = 3; },
       "spec.cpu.topology"},
      {"topology zero", [](VirtualMachine& vm) { vm.spec.cpu->topology->threads = 0; },
       "spec.cpu.topology.threads"},
      {"cpu model injection",
       [](VirtualMachine& vm) { vm.spec.cpu->model = "host-model'/><devices>"; }, "spec.cpu.model"},
      {"pinned hypervisor name",
       [](VirtualMachine& vm) { vm.spec.placement->hypervisor = "node_1"; },
       "spec.placement.hypervisor"},
      {"selector key",
       [](VirtualMachine& vm) { vm.spec.placement->hypervisorSelector["-x"] = "y"; },
       "spec.placement.hypervisorSelector"},
      {"selector value",
       [](VirtualMachine& vm) { vm.spec.placement->hypervisorSelector["zone"] = "a b"; },
       "spec.placement.hypervisorSelector[zone]"},
      {"anti-affinity group",
       [](VirtualMachine& vm) { vm.spec.placement->antiAffinityGroup = "Web Servers"; },
       "spec.placement.antiAffinityGroup"},
      {"grace period negative",
       [](VirtualMachine& vm) { vm.spec.terminationGracePeriodSeconds = -1; },
       "spec.terminationGracePeriodSeconds"},
      {"grace period huge",
       [](VirtualMachine& vm) { vm.spec.terminationGracePeriodSeconds = 1 << 30; },
       "spec.terminationGracePeriodSeconds"},
      {"condition reason empty", [](VirtualMachine& vm) { vm.status.conditions[0].reason = ""; },
       "status.conditions[0].reason"},
      {"duplicate condition", [](VirtualMachine& vm) { vm.status.conditions[1].type = "Ready"; },
       "status.conditions[1].type"},
      {"bad domain uuid", [](VirtualMachine& vm) { vm.status.domainUUID = "not-a-uuid"; },
       "status.domainUUID"},
      {"bad label key", [](VirtualMachine& vm) { vm.metadata.labels["bad key"] = "x"; },
       "metadata.labels"},
      {"namespace with slash", [](VirtualMachine& vm) { vm.metadata.namespace_ = "a/b"; },
       "metadata.namespace"},
  };
  for (const std::string& bad : kBadNames) {
    cases.push_back(
        {"vm name " + bad, [bad](VirtualMachine& vm) { vm.metadata.name = bad; }, "metadata.name"});
    cases.push_back({"disk name " + bad, [bad](VirtualMachine& vm) { vm.spec.disks[2].name = bad; },
                     "spec.disks[2].name"});
    cases.push_back({"network name " + bad,
                     [bad](VirtualMachine& vm) { vm.spec.networks[0].name = bad; },
                     "spec.networks[0].name"});
  }
  // metadata.name "" with generateName set is legal (the server generates a name).
  cases.push_back({"no name at all",
                   [](VirtualMachine& vm) {
                     vm.metadata.name = "";
                     vm.metadata.generateName = "";
                   },
                   "metadata.name"});

  for (const VmCase& c : cases) {
    VirtualMachine vm = testing::fullVirtualMachine();
    if (c.name == "vm name ") {
      vm.metadata.generateName = "";  // otherwise an empty name is fine
    }
    c.mutate(vm);
    const FieldErrors errors = validationErrors(vm);
    EXPECT_TRUE(hasErrorOn(errors, c.field))
        << c.name << ": expected an error on " << c.field << ", got" << describe(errors);
    const core::Status status = validate(vm);
    EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(status.message().find(c.field + ": "), std::string::npos)
        << c.name << ": " << status.message();
  }
}

TEST(ValidationTest, MessagesLookLikeKubernetesFieldErrors) {
  VirtualMachine vm = testing::fullVirtualMachine();
  vm.metadata.name = "bad/name";
  vm.spec.resources.cpus = 1000;
  vm.spec.cpu.reset();
  vm.spec.resources.memory = q("0");
  const core::Status status = validate(vm);
  EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument);
  const std::string msg = status.message();
  EXPECT_NE(msg.find("VirtualMachine default/bad/name is invalid: ["), std::string::npos) << msg;
  EXPECT_NE(msg.find("spec.resources.cpus: Invalid value: 1000: must be between 1 and 256"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("spec.resources.memory: Invalid value: \"0\": must be between 64Mi and 4Ti"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("metadata.name: Invalid value: \"bad/name\": a lowercase RFC 1123 label"),
            std::string::npos)
      << msg;
  // Control characters are escaped, never copied raw into a message or a log line.
  vm.metadata.name = std::string("a\0b\n", 4);
  const std::string escaped = validate(vm).message();
  EXPECT_NE(escaped.find("\"a\\u0000b\\u000a\""), std::string::npos) << escaped;
  EXPECT_EQ(escaped.find('\0'), std::string::npos);
}

TEST(ValidationTest, RejectsBadMigrations) {
  struct Case {
    std::string name;
    std::function<void(VMMigration&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"vmName traversal", [](VMMigration& m) { m.spec.vmName = "../web"; }, "spec.vmName"},
      {"vmName empty", [](VMMigration& m) { m.spec.vmName = ""; }, "spec.vmName"},
      {"target with slash", [](VMMigration& m) { m.spec.targetHypervisor = "node/2"; },
       "spec.targetHypervisor"},
      {"bandwidth 0", [](VMMigration& m) { m.spec.options.bandwidthMiBps = 0; },
       "spec.options.bandwidthMiBps"},
      {"downtime 0", [](VMMigration& m) { m.spec.options.maxDowntimeMs = 0; },
       "spec.options.maxDowntimeMs"},
      {"downtime huge", [](VMMigration& m) { m.spec.options.maxDowntimeMs = 1'000'000; },
       "spec.options.maxDowntimeMs"},
      {"post-copy iterations", [](VMMigration& m) { m.spec.options.postCopy->afterIterations = 0; },
       "spec.options.postCopy.afterIterations"},
      {"unknown compression",
       [](VMMigration& m) { m.spec.options.compression = static_cast<MigrationCompression>(9); },
       "spec.options.compression"},
      {"unknown mode", [](VMMigration& m) { m.spec.mode = static_cast<MigrationMode>(2); },
       "spec.mode"},
      {"progress 101", [](VMMigration& m) { m.status.progress->percent = 101; },
       "status.progress.percent"},
      {"negative bytes", [](VMMigration& m) { m.status.progress->dataRemainingBytes = -1; },
       "status.progress.dataRemainingBytes"},
      {"name with ..", [](VMMigration& m) { m.metadata.name = "a..b"; }, "metadata.name"},
  };
  for (const Case& c : cases) {
    VMMigration m = testing::fullVMMigration();
    c.mutate(m);
    const FieldErrors errors = validationErrors(m);
    EXPECT_TRUE(hasErrorOn(errors, c.field)) << c.name << ":" << describe(errors);
    EXPECT_NE(validate(m).message().find(c.field + ": "), std::string::npos) << c.name;
  }
}

TEST(ValidationTest, RejectsBadHypervisors) {
  struct Case {
    std::string name;
    std::function<void(Hypervisor&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"name with slash", [](Hypervisor& h) { h.metadata.name = "node/1"; }, "metadata.name"},
      {"name too long for a label value",
       [](Hypervisor& h) { h.metadata.name = std::string(64, 'n'); }, "metadata.name"},
      {"namespaced", [](Hypervisor& h) { h.metadata.namespace_ = "default"; },
       "metadata.namespace"},
      {"cpu overcommit below 1", [](Hypervisor& h) { h.spec.overcommit->cpu = 0.5; },
       "spec.overcommit.cpu"},
      {"cpu overcommit NaN", [](Hypervisor& h) { h.spec.overcommit->cpu = std::nan(""); },
       "spec.overcommit.cpu"},
      {"memory overcommit 5", [](Hypervisor& h) { h.spec.overcommit->memory = 5; },
       "spec.overcommit.memory"},
      {"maxInbound -1", [](Hypervisor& h) { h.spec.migration->maxInbound = -1; },
       "spec.migration.maxInbound"},
      {"address injection", [](Hypervisor& h) { h.spec.migration->address = "a b;rm -rf"; },
       "spec.migration.address"},
      {"negative capacity", [](Hypervisor& h) { h.status.capacity->cpus = -4; },
       "status.capacity.cpus"},
      {"unknown virtualization",
       [](Hypervisor& h) { h.status.virtualization = static_cast<Virtualization>(4); },
       "status.virtualization"},
      {"bad cpu feature", [](Hypervisor& h) { h.status.cpuFeatures.push_back("a b"); },
       "status.cpuFeatures[3]"},
      // The capacity ledger is kept as text; its entries are checked as the CRD schema does.
      {"ledger not a list", [](Hypervisor& h) { h.status.allocations = "{}"; },
       "status.allocations"},
      {"ledger entry of one VM twice",
       [](Hypervisor& h) {
         h.status.allocations = R"([{"cpus":1,"memoryBytes":1,"uid":"a","vm":"ns/a"},)"
                                R"({"cpus":1,"memoryBytes":1,"uid":"b","vm":"ns/a"}])";
       },
       "status.allocations[1].vm"},
      {"ledger entry without uid",
       [](Hypervisor& h) { h.status.allocations = R"([{"cpus":1,"memoryBytes":1,"vm":"ns/a"}])"; },
       "status.allocations[0].uid"},
      {"ledger entry with negative memory",
       [](Hypervisor& h) {
         h.status.allocations = R"([{"cpus":1,"memoryBytes":-1,"uid":"a","vm":"ns/a"}])";
       },
       "status.allocations[0].memoryBytes"},
      {"ledger entry with cpus as text",
       [](Hypervisor& h) {
         h.status.allocations = R"([{"cpus":"1","memoryBytes":1,"uid":"a","vm":"ns/a"}])";
       },
       "status.allocations[0].cpus"},
  };
  for (const Case& c : cases) {
    Hypervisor h = testing::fullHypervisor();
    c.mutate(h);
    const FieldErrors errors = validationErrors(h);
    EXPECT_TRUE(hasErrorOn(errors, c.field)) << c.name << ":" << describe(errors);
    EXPECT_NE(validate(h).message().find(c.field + ": "), std::string::npos) << c.name;
  }
}

// What a user writes in YAML goes through decode then validate; either step rejects bad input
// with the field named (decode rejects what the C++ types cannot hold: 10Xi, unknown enums).
TEST(ValidationTest, BadYamlIsRejectedNamingTheField) {
  const std::string head =
      "apiVersion: novacron.io/v1alpha1\nkind: VirtualMachine\nmetadata:\n  name: a\nspec:\n";
  const struct {
    std::string spec;
    std::string field;
  } cases[] = {
      {"  resources: {cpus: 1, memory: 10Xi}\n", "spec.resources.memory"},
      {"  resources: {cpus: 1, memory: -1Gi}\n", "spec.resources.memory"},
      {"  resources: {cpus: 1, memory: 0}\n", "spec.resources.memory"},  // an int, not a string
      {"  resources: {cpus: 1, memory: \"0\"}\n", "spec.resources.memory"},
      {"  resources: {cpus: 1000, memory: 1Gi}\n", "spec.resources.cpus"},
      {"  resources: {cpus: 0, memory: 1Gi}\n", "spec.resources.cpus"},
      {"  resources: {cpus: \"2\", memory: 1Gi}\n", "spec.resources.cpus"},
      {"  resources: {cpus: 1, memory: 1Gi}\n  runStrategy: Sometimes\n", "spec.runStrategy"},
      {"  resources: {cpus: 1, memory: 1Gi}\n  disks:\n  - name: d\n    image: {url: "
       "\"image:x\"}\n    emptyDisk: {size: 1Gi}\n",
       "spec.disks[0]"},
      {"  resources: {cpus: 1, memory: 1Gi}\n  disks:\n  - name: \"a/b\"\n    emptyDisk: {size: "
       "1Gi}\n",
       "spec.disks[0].name"},
  };
  for (const auto& c : cases) {
    auto doc = yamlToJson(head + c.spec);
    ASSERT_TRUE(doc.isOk()) << c.spec << doc.status();
    auto vm = virtualMachineFromJson(*doc);
    const core::Status status = vm.isOk() ? validate(*vm) : vm.status();
    EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument) << c.spec;
    EXPECT_NE(status.message().find(c.field + ": "), std::string::npos)
        << c.spec << " -> " << status.message();
  }
}

TEST(ValidationTest, NameHelpers) {
  EXPECT_TRUE(isDns1123Label("web-1"));
  EXPECT_FALSE(isDns1123Label("web.1"));
  EXPECT_FALSE(isDns1123Label(std::string(64, 'a')));
  EXPECT_TRUE(isDns1123Subdomain("node-1.rack-2"));
  EXPECT_FALSE(isDns1123Subdomain("node..1"));
  EXPECT_TRUE(isQualifiedName("novacron.io/hypervisor"));
  EXPECT_TRUE(isQualifiedName("app"));
  EXPECT_FALSE(isQualifiedName("novacron.io/"));
  EXPECT_FALSE(isQualifiedName("a/b/c"));
  EXPECT_TRUE(isLabelValue(""));
  EXPECT_TRUE(isLabelValue("node-1.example"));
  EXPECT_FALSE(isLabelValue("a/b"));
}

}  // namespace
}  // namespace novacron::api
