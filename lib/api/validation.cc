#include "lib/api/validation.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "lib/api/schema_rules.h"

namespace novacron::api {
namespace {

// Renders a string value like Kubernetes does in field errors: quoted, control characters escaped.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

// Control characters in an object name would forge log lines; show them escaped.
std::string printable(std::string_view s) {
  const std::string quoted = quote(s);
  return quoted.substr(1, quoted.size() - 2);
}

std::string formatDouble(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

class Validator {
public:
  FieldErrors take() { return std::move(errors_); }

  void add(FieldError::Type type, std::string field, std::string value, std::string detail) {
    errors_.push_back({type, std::move(field), std::move(value), std::move(detail)});
  }
  void required(const std::string& field, std::string detail = "") {
    add(FieldError::Type::kRequired, field, "", std::move(detail));
  }

  void intRange(const std::string& field, int64_t value, int64_t min, int64_t max) {
    if (value < min || value > max) {
      add(FieldError::Type::kInvalid, field, std::to_string(value),
          "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
  }
  void intMin(const std::string& field, int64_t value, int64_t min) {
    if (value < min) {
      add(FieldError::Type::kInvalid, field, std::to_string(value),
          "must be greater than or equal to " + std::to_string(min));
    }
  }
  void numberRange(const std::string& field, double value, double min, double max) {
    if (!std::isfinite(value) || value < min || value > max) {
      add(FieldError::Type::kInvalid, field, formatDouble(value),
          "must be between " + formatDouble(min) + " and " + formatDouble(max));
    }
  }
  template <typename E>
  void enumValue(const std::string& field, E value) {
    const auto index = static_cast<std::size_t>(value);
    if (index >= enumValues<E>().size()) {
      std::string supported = "supported values: ";
      bool first = true;
      for (std::string_view name : enumValues<E>()) {
        supported += (first ? "\"" : ", \"") + std::string(name) + "\"";
        first = false;
      }
      add(FieldError::Type::kUnsupported, field, std::to_string(index), supported);
    }
  }
  // A string field checked against a rule shared with the CRD schema (schema_rules.h).
  void string(const std::string& field, std::string_view value, const StringRule& rule) {
    if (value.empty()) {
      if (rule.minLength > 0) {
        required(field);
      }
      return;
    }
    if (value.size() > rule.maxLength) {
      add(FieldError::Type::kTooLong, field, "",
          "may not be longer than " + std::to_string(rule.maxLength) + " characters");
      return;
    }
    if (value.size() < rule.minLength) {
      add(FieldError::Type::kInvalid, field, quote(value),
          "must be at least " + std::to_string(rule.minLength) + " characters");
      return;
    }
    if (!rule.matches(value)) {
      add(FieldError::Type::kInvalid, field, quote(value), std::string(rule.description));
    }
  }
  template <typename OptionalString>  // std::optional or core::HeapOptional of std::string
  void optString(const std::string& field, const OptionalString& value, const StringRule& rule) {
    if (value) {
      if (value->empty() && rule.minLength > 0) {
        add(FieldError::Type::kInvalid, field, "\"\"", "must not be empty");
        return;
      }
      string(field, *value, rule);
    }
  }
  // The schema only admits plain non-negative quantities (no sign, no m/u/n suffix).
  bool quantityText(const std::string& field, const Quantity& q) {
    if (!rules::kQuantity.matches(q.toString())) {
      add(FieldError::Type::kInvalid, field, quote(q.toString()),
          std::string(rules::kQuantity.description));
      return false;
    }
    return true;
  }
  void quantityRange(const std::string& field, const Quantity& q, int64_t min, int64_t max) {
    if (q.value() >= 0 && !quantityText(field, q)) {
      return;
    }
    if (q.value() < min || q.value() > max) {
      add(FieldError::Type::kInvalid, field, quote(q.toString()),
          "must be between " + formatQuantity(min) + " and " + formatQuantity(max));
    }
  }
  void quantityMin(const std::string& field, const Quantity& q, int64_t min) {
    if (q.value() >= 0 && !quantityText(field, q)) {
      return;
    }
    if (q.value() < min) {
      add(FieldError::Type::kInvalid, field, quote(q.toString()),
          "must be at least " + formatQuantity(min));
    }
  }
  void labels(const std::string& field, const std::map<std::string, std::string>& map) {
    for (const auto& [key, value] : map) {
      if (!isQualifiedName(key)) {
        add(FieldError::Type::kInvalid, field, quote(key),
            "a label key must be a qualified name ([prefix/]name, name at most 63 characters of "
            "alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric)");
      }
      if (!isLabelValue(value)) {
        add(FieldError::Type::kInvalid, field + "[" + key + "]", quote(value),
            std::string(rules::kLabelValue.description));
      }
    }
  }
  void conditions(const std::string& field, const std::vector<Condition>& conditions) {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < conditions.size(); ++i) {
      const Condition& c = conditions[i];
      const std::string path = field + "[" + std::to_string(i) + "]";
      string(path + ".type", c.type, rules::kConditionType);
      if (!c.type.empty() && !seen.insert(c.type).second) {
        add(FieldError::Type::kDuplicate, path + ".type", quote(c.type), "");
      }
      enumValue(path + ".status", c.status);
      intMin(path + ".observedGeneration", c.observedGeneration, 0);
      string(path + ".reason", c.reason, rules::kConditionReason);
      string(path + ".message", c.message, rules::kConditionMessage);
    }
  }
  void imageSource(const std::string& field, const ImageSource& image) {
    string(field + ".url", image.url, rules::kImageUrl);
    optString(field + ".sha256", image.sha256, rules::kSha256);
  }
  void meta(const ObjectMeta& m, const StringRule& name_rule, bool namespaced) {
    if (m.name.empty() && m.generateName.empty()) {
      required("metadata.name", "name or generateName is required");
    } else if (!m.name.empty()) {
      string("metadata.name", m.name, name_rule);
    }
    if (namespaced) {
      if (!m.namespace_.empty()) {
        string("metadata.namespace", m.namespace_, rules::kDns1123Label);
      }
    } else if (!m.namespace_.empty()) {
      add(FieldError::Type::kForbidden, "metadata.namespace", quote(m.namespace_),
          "not allowed on this cluster-scoped type");
    }
    labels("metadata.labels", m.labels);
  }

private:
  FieldErrors errors_;
};

void validateVmResources(Validator& v, const std::string& path, const VmResources& r) {
  v.intRange(path + ".cpus", r.cpus, kMinCpus, kMaxCpus);
  v.quantityRange(path + ".memory", r.memory, kMinMemoryBytes, kMaxMemoryBytes);
}

void validateVmSpec(Validator& v, const VirtualMachineSpec& s) {
  v.enumValue("spec.runStrategy", s.runStrategy);
  validateVmResources(v, "spec.resources", s.resources);
  if (s.cpu) {
    v.string("spec.cpu.model", s.cpu->model, rules::kCpuModel);
    if (s.cpu->topology) {
      const CpuTopology& t = *s.cpu->topology;
      v.intRange("spec.cpu.topology.sockets", t.sockets, 1, kMaxCpus);
      v.intRange("spec.cpu.topology.cores", t.cores, 1, kMaxCpus);
      v.intRange("spec.cpu.topology.threads", t.threads, 1, kMaxCpus);
      // Not expressible in the schema without CEL: checked here and by the node-daemon.
      const int64_t product = int64_t{t.sockets} * t.cores * t.threads;
      if (product != s.resources.cpus) {
        v.add(FieldError::Type::kInvalid, "spec.cpu.topology", std::to_string(product),
              "sockets * cores * threads must equal spec.resources.cpus (" +
                  std::to_string(s.resources.cpus) + ")");
      }
    }
  }
  v.enumValue("spec.firmware", s.firmware);
  if (s.kernelBoot) {
    v.imageSource("spec.kernelBoot.kernel", s.kernelBoot->kernel);
    if (s.kernelBoot->initrd) {
      v.imageSource("spec.kernelBoot.initrd", *s.kernelBoot->initrd);
    }
    v.optString("spec.kernelBoot.cmdline", s.kernelBoot->cmdline, rules::kKernelCmdline);
  }

  if (s.disks.size() > kMaxDisks) {
    v.add(FieldError::Type::kTooLong, "spec.disks", "",
          "must have at most " + std::to_string(kMaxDisks) + " items");
  }
  std::set<std::string> disk_names;
  std::set<int32_t> boot_orders;
  int cloud_init_disks = 0;
  for (std::size_t i = 0; i < s.disks.size(); ++i) {
    const Disk& d = s.disks[i];
    const std::string path = "spec.disks[" + std::to_string(i) + "]";
    v.string(path + ".name", d.name, rules::kDns1123Label);
    if (!d.name.empty() && !disk_names.insert(d.name).second) {
      v.add(FieldError::Type::kDuplicate, path + ".name", quote(d.name), "");
    }
    v.enumValue(path + ".bus", d.bus);
    if (d.bootOrder) {
      v.intRange(path + ".bootOrder", *d.bootOrder, 1, kMaxDisks);
      if (!boot_orders.insert(*d.bootOrder).second) {
        v.add(FieldError::Type::kDuplicate, path + ".bootOrder", std::to_string(*d.bootOrder), "");
      }
    }
    const int sources = (d.image ? 1 : 0) + (d.emptyDisk ? 1 : 0) + (d.cloudInit ? 1 : 0);
    if (sources == 0) {
      v.required(path, "must specify exactly one of image, emptyDisk, cloudInit");
    } else if (sources > 1) {
      std::string set;
      for (const auto& [name, present] : {std::pair{"image", d.image.has_value()},
                                          std::pair{"emptyDisk", d.emptyDisk.has_value()},
                                          std::pair{"cloudInit", d.cloudInit.has_value()}}) {
        if (present) {
          set += set.empty() ? name : std::string(", ") + name;
        }
      }
      v.add(FieldError::Type::kForbidden, path, "",
            "must specify exactly one of image, emptyDisk, cloudInit (got " + set + ")");
    }
    if (d.image) {
      v.imageSource(path + ".image", *d.image);
    }
    if (d.emptyDisk) {
      v.quantityRange(path + ".emptyDisk.size", d.emptyDisk->size, kMinEmptyDiskBytes,
                      kMaxEmptyDiskBytes);
    }
    if (d.cloudInit) {
      ++cloud_init_disks;
      v.optString(path + ".cloudInit.userData", d.cloudInit->userData, rules::kCloudInitData);
      v.optString(path + ".cloudInit.networkData", d.cloudInit->networkData, rules::kCloudInitData);
      if (cloud_init_disks > 1) {
        v.add(FieldError::Type::kForbidden, path + ".cloudInit", "",
              "at most one cloudInit disk is allowed");
      }
    }
  }

  if (s.networks.size() > kMaxNetworks) {
    v.add(FieldError::Type::kTooLong, "spec.networks", "",
          "must have at most " + std::to_string(kMaxNetworks) + " items");
  }
  std::set<std::string> network_names;
  for (std::size_t i = 0; i < s.networks.size(); ++i) {
    const Network& n = s.networks[i];
    const std::string path = "spec.networks[" + std::to_string(i) + "]";
    v.string(path + ".name", n.name, rules::kDns1123Label);
    if (!n.name.empty() && !network_names.insert(n.name).second) {
      v.add(FieldError::Type::kDuplicate, path + ".name", quote(n.name), "");
    }
    v.enumValue(path + ".type", n.type);
    if (n.type == NetworkType::kBridge) {
      if (!n.bridge) {
        v.required(path + ".bridge", "required when type is bridge");
      }
    } else if (n.bridge) {
      v.add(FieldError::Type::kForbidden, path + ".bridge", quote(*n.bridge),
            "may only be set when type is bridge");
    }
    v.optString(path + ".bridge", n.bridge, rules::kBridgeName);
    v.optString(path + ".mac", n.mac, rules::kMacAddress);
  }

  if (s.placement) {
    v.labels("spec.placement.hypervisorSelector", s.placement->hypervisorSelector);
    v.optString("spec.placement.antiAffinityGroup", s.placement->antiAffinityGroup,
                rules::kDns1123Label);
    v.optString("spec.placement.hypervisor", s.placement->hypervisor, rules::kHypervisorName);
  }
  v.enumValue("spec.evictionStrategy", s.evictionStrategy);
  v.intRange("spec.terminationGracePeriodSeconds", s.terminationGracePeriodSeconds, 0,
             kMaxTerminationGracePeriodSeconds);
}

void validateVmStatus(Validator& v, const VirtualMachineStatus& s) {
  if (s.phase) {
    v.enumValue("status.phase", *s.phase);
  }
  v.optString("status.hypervisor", s.hypervisor, rules::kHypervisorName);
  if (s.observedGeneration) {
    v.intMin("status.observedGeneration", *s.observedGeneration, 0);
  }
  v.conditions("status.conditions", s.conditions);
  for (std::size_t i = 0; i < s.interfaces.size(); ++i) {
    const VmInterfaceStatus& itf = s.interfaces[i];
    const std::string path = "status.interfaces[" + std::to_string(i) + "]";
    v.string(path + ".name", itf.name, rules::kDns1123Label);
    v.optString(path + ".mac", itf.mac, rules::kMacAddress);
    v.optString(path + ".ip", itf.ip, rules::kIpAddress);
  }
  v.optString("status.domainUUID", s.domainUUID, rules::kUuid);
  v.optString("status.activeMigration", s.activeMigration, rules::kDns1123Subdomain);
  if (s.allocated) {
    v.intMin("status.allocated.cpus", s.allocated->cpus, 0);
    v.quantityMin("status.allocated.memory", s.allocated->memory, 0);
  }
}

void validateMigrationSpec(Validator& v, const VMMigrationSpec& s) {
  v.string("spec.vmName", s.vmName, rules::kDns1123Label);
  v.optString("spec.targetHypervisor", s.targetHypervisor, rules::kHypervisorName);
  v.enumValue("spec.mode", s.mode);
  const MigrationOptions& o = s.options;
  if (o.bandwidthMiBps) {
    v.intRange("spec.options.bandwidthMiBps", *o.bandwidthMiBps, 1, kMaxBandwidthMiBps);
  }
  v.intRange("spec.options.maxDowntimeMs", o.maxDowntimeMs, 1, kMaxDowntimeMs);
  if (o.postCopy && o.postCopy->afterIterations) {
    v.intRange("spec.options.postCopy.afterIterations", *o.postCopy->afterIterations, 1,
               kMaxPostCopyAfterIterations);
  }
  v.enumValue("spec.options.compression", o.compression);
  v.enumValue("spec.options.copyStorage", o.copyStorage);
  v.intRange("spec.options.completionTimeoutPerGiBSeconds", o.completionTimeoutPerGiBSeconds, 1,
             kMaxMigrationTimeoutSeconds);
  v.intRange("spec.options.progressTimeoutSeconds", o.progressTimeoutSeconds, 1,
             kMaxMigrationTimeoutSeconds);
}

void validateForecast(Validator& v, const std::string& path, const MigrationForecast& f) {
  for (const auto& [name, value] : {std::pair{"totalMs", f.totalMs},
                                    {"downtimeMs", f.downtimeMs},
                                    {"iterations", f.iterations},
                                    {"bytesToSend", f.bytesToSend},
                                    {"dirtyRateBytesPerSecond", f.dirtyRateBytesPerSecond},
                                    {"bandwidthBytesPerSecond", f.bandwidthBytesPerSecond}}) {
    v.intMin(path + "." + name, value, 0);
  }
  v.enumValue(path + ".strategy", f.strategy);
  v.enumValue(path + ".compression", f.compression);
  v.string(path + ".verdict", f.verdict, rules::kConditionMessage);
}

void validatePlan(Validator& v, const MigrationPlan& p) {
  v.optString("status.plan.targetHypervisor", p.targetHypervisor, rules::kHypervisorName);
  v.optString("status.plan.targetReason", p.targetReason, rules::kConditionMessage);
  v.optString("status.plan.cpuCompatibility", p.cpuCompatibility, rules::kConditionMessage);
  v.optString("status.plan.bandwidthSource", p.bandwidthSource, rules::kConditionMessage);
  v.optString("status.plan.dirtyRateError", p.dirtyRateError, rules::kConditionMessage);
  v.intMin("status.plan.memoryBytes", p.memoryBytes, 0);
  v.intMin("status.plan.diskBytes", p.diskBytes, 0);
  v.intMin("status.plan.bandwidthBytesPerSecond", p.bandwidthBytesPerSecond, 0);
  if (p.dirtyRateBytesPerSecond) {
    v.intMin("status.plan.dirtyRateBytesPerSecond", *p.dirtyRateBytesPerSecond, 0);
  }
  if (p.forecast) {
    validateForecast(v, "status.plan.forecast", *p.forecast);
  }
}

void validateMigrationStatus(Validator& v, const VMMigrationStatus& s) {
  if (s.phase) {
    v.enumValue("status.phase", *s.phase);
  }
  v.optString("status.sourceHypervisor", s.sourceHypervisor, rules::kHypervisorName);
  v.optString("status.targetHypervisor", s.targetHypervisor, rules::kHypervisorName);
  v.optString("status.targetAddress", s.targetAddress, rules::kHostPort);
  if (s.progress) {
    const MigrationProgress& p = *s.progress;
    v.intRange("status.progress.percent", p.percent, 0, 100);
    const std::pair<const char*, const std::optional<int64_t>*> counters[] = {
        {"dataTotalBytes", &p.dataTotalBytes},
        {"dataProcessedBytes", &p.dataProcessedBytes},
        {"dataRemainingBytes", &p.dataRemainingBytes},
        {"dirtyRateBytesPerSecond", &p.dirtyRateBytesPerSecond},
        {"iteration", &p.iteration},
        {"etaSeconds", &p.etaSeconds},
        {"downtimeMs", &p.downtimeMs},
        {"elapsedMs", &p.elapsedMs},
    };
    for (const auto& [name, value] : counters) {
      if (*value) {
        v.intMin(std::string("status.progress.") + name, **value, 0);
      }
    }
  }
  if (s.observedGeneration) {
    v.intMin("status.observedGeneration", *s.observedGeneration, 0);
  }
  v.conditions("status.conditions", s.conditions);
  v.optString("status.failureReason", s.failureReason, rules::kConditionMessage);
  if (s.plan) {
    validatePlan(v, *s.plan);
  }
  if (s.forecast) {
    validateForecast(v, "status.forecast", *s.forecast);
  }
}

void validateHypervisorSpec(Validator& v, const HypervisorSpec& s) {
  if (s.overcommit && s.overcommit->cpu) {
    v.numberRange("spec.overcommit.cpu", *s.overcommit->cpu, 1.0, kMaxCpuOvercommit);
  }
  if (s.overcommit && s.overcommit->memory) {
    v.numberRange("spec.overcommit.memory", *s.overcommit->memory, 1.0, kMaxMemoryOvercommit);
  }
  if (s.migration) {
    v.optString("spec.migration.address", s.migration->address, rules::kHostPort);
    v.intRange("spec.migration.maxInbound", s.migration->maxInbound, 0, kMaxConcurrentMigrations);
    v.intRange("spec.migration.maxOutbound", s.migration->maxOutbound, 0, kMaxConcurrentMigrations);
  }
}

void validateHvResources(Validator& v, const std::string& path, const HypervisorResources& r) {
  v.intMin(path + ".cpus", r.cpus, 0);
  v.quantityMin(path + ".memory", r.memory, 0);
  if (r.storage) {
    v.quantityMin(path + ".storage", *r.storage, 0);
  }
}

// status.allocations is kept as its JSON text (the controller's ledger, controller/ledger/ledger.h
// decodes it): the rules the CRD states for its entries are checked here on that text, so the API
// server and validate() agree (tests/unit/lib/api/crd_drift_test.cc).
void validateAllocations(Validator& v, const std::string& text) {
  static const StringRule kVmKey{"", 3, 317, ""};  // namespace/name
  static const StringRule kUid{"", 0, 128, ""};
  static const StringRule kGroup{"", 0, 63, ""};
  constexpr std::size_t kMaxEntries = 10000;
  const nlohmann::json list = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!list.is_array()) {
    v.add(FieldError::Type::kType, "status.allocations", "", "must be a list");
    return;
  }
  if (list.size() > kMaxEntries) {
    v.add(FieldError::Type::kTooLong, "status.allocations", "",
          "must have at most " + std::to_string(kMaxEntries) + " items");
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = "status.allocations[" + std::to_string(i) + "]";
    const nlohmann::json& item = list[i];
    if (!item.is_object()) {
      v.add(FieldError::Type::kType, path, "", "must be an object");
      continue;
    }
    // The member, or nullptr when absent (an error when required).
    auto member = [&](const char* name, bool required) -> const nlohmann::json* {
      if (!item.contains(name) || item[name].is_null()) {
        if (required) {
          v.required(path + "." + name);
        }
        return nullptr;
      }
      return &item[name];
    };
    auto text_field = [&](const char* name, const StringRule& rule, bool required) {
      if (const nlohmann::json* value = member(name, required); value && !value->is_string()) {
        v.add(FieldError::Type::kType, path + "." + name, value->dump(), "must be a string");
      } else if (value) {
        v.string(path + "." + name, value->get<std::string>(), rule);
      }
    };
    auto integer_field = [&](const char* name, bool required) {
      if (const nlohmann::json* value = member(name, required);
          value && !value->is_number_integer()) {
        v.add(FieldError::Type::kType, path + "." + name, value->dump(), "must be an integer");
      } else if (value) {
        v.intMin(path + "." + name, value->get<int64_t>(), 0);
      }
    };
    text_field("vm", kVmKey, true);
    text_field("uid", kUid, true);
    integer_field("cpus", true);
    integer_field("memoryBytes", true);
    integer_field("storageBytes", false);
    text_field("antiAffinityGroup", kGroup, false);
    if (item.contains("vm") && item["vm"].is_string() &&
        !seen.insert(item["vm"].get<std::string>()).second) {
      v.add(FieldError::Type::kDuplicate, path + ".vm", item["vm"].dump(), "");
    }
  }
}

void validateHypervisorStatus(Validator& v, const HypervisorStatus& s) {
  if (s.capacity) {
    validateHvResources(v, "status.capacity", *s.capacity);
  }
  if (s.allocatable) {
    validateHvResources(v, "status.allocatable", *s.allocatable);
  }
  if (s.allocated) {
    v.intMin("status.allocated.cpus", s.allocated->cpus, 0);
    v.quantityMin("status.allocated.memory", s.allocated->memory, 0);
    v.intMin("status.allocated.vms", s.allocated->vms, 0);
    if (s.allocated->storage) {
      v.quantityMin("status.allocated.storage", *s.allocated->storage, 0);
    }
  }
  if (s.allocations) {
    validateAllocations(v, *s.allocations);
  }
  v.optString("status.cpuModel", s.cpuModel, rules::kFreeText);
  for (std::size_t i = 0; i < s.cpuFeatures.size(); ++i) {
    v.string("status.cpuFeatures[" + std::to_string(i) + "]", s.cpuFeatures[i], rules::kCpuFeature);
  }
  if (s.virtualization) {
    v.enumValue("status.virtualization", *s.virtualization);
  }
  v.optString("status.libvirtVersion", s.libvirtVersion, rules::kFreeText);
  v.optString("status.qemuVersion", s.qemuVersion, rules::kFreeText);
  if (s.observedGeneration) {
    v.intMin("status.observedGeneration", *s.observedGeneration, 0);
  }
  v.conditions("status.conditions", s.conditions);
  if (s.activeMigrations) {
    v.intMin("status.activeMigrations.inbound", s.activeMigrations->inbound, 0);
    v.intMin("status.activeMigrations.outbound", s.activeMigrations->outbound, 0);
  }
  if (s.evacuation) {
    v.intMin("status.evacuation.total", s.evacuation->total, 0);
    v.intMin("status.evacuation.migrated", s.evacuation->migrated, 0);
    v.intMin("status.evacuation.stopped", s.evacuation->stopped, 0);
    v.intMin("status.evacuation.pending", s.evacuation->pending, 0);
  }
  for (std::size_t i = 0; i < s.migrationBandwidth.size(); ++i) {
    v.intMin("status.migrationBandwidth[" + std::to_string(i) + "].bytesPerSecond",
             s.migrationBandwidth[i].bytesPerSecond, 0);
  }
}

std::string objectName(const ObjectMeta& m) {
  const std::string& name = m.name.empty() ? m.generateName : m.name;
  return m.namespace_.empty() ? name : m.namespace_ + "/" + name;
}

}  // namespace

std::string_view toString(FieldError::Type type) {
  switch (type) {
  case FieldError::Type::kRequired:
    return "Required value";
  case FieldError::Type::kInvalid:
    return "Invalid value";
  case FieldError::Type::kUnsupported:
    return "Unsupported value";
  case FieldError::Type::kForbidden:
    return "Forbidden";
  case FieldError::Type::kDuplicate:
    return "Duplicate value";
  case FieldError::Type::kTooLong:
    return "Too long";
  case FieldError::Type::kType:
    return "Invalid type";
  }
  return "Invalid value";
}

std::string FieldError::toString() const {
  std::string out = field + ": " + std::string(api::toString(type));
  if (!value.empty()) {
    out += ": " + value;
  }
  if (!detail.empty()) {
    out += ": " + detail;
  }
  return out;
}

FieldErrors validationErrors(const VirtualMachine& vm) {
  Validator v;
  v.meta(vm.metadata, rules::kDns1123Label, /*namespaced=*/true);
  validateVmSpec(v, vm.spec);
  validateVmStatus(v, vm.status);
  return v.take();
}

FieldErrors validationErrors(const VMMigration& migration) {
  Validator v;
  v.meta(migration.metadata, rules::kDns1123Subdomain, /*namespaced=*/true);
  validateMigrationSpec(v, migration.spec);
  validateMigrationStatus(v, migration.status);
  return v.take();
}

FieldErrors validationErrors(const Hypervisor& hypervisor) {
  Validator v;
  v.meta(hypervisor.metadata, rules::kHypervisorName, /*namespaced=*/false);
  validateHypervisorSpec(v, hypervisor.spec);
  validateHypervisorStatus(v, hypervisor.status);
  return v.take();
}

core::Status toStatus(const FieldErrors& errors, std::string_view kind, std::string_view name) {
  if (errors.empty()) {
    return core::okStatus();
  }
  std::string message(kind);
  if (!name.empty()) {
    message += " " + printable(name);
  }
  message += " is invalid: [";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) {
      message += "; ";
    }
    message += errors[i].toString();
  }
  message += "]";
  return core::invalidArgumentError(std::move(message));
}

core::Status validate(const VirtualMachine& vm) {
  return toStatus(validationErrors(vm), kVirtualMachineKind, objectName(vm.metadata));
}
core::Status validate(const VMMigration& migration) {
  return toStatus(validationErrors(migration), kVMMigrationKind, objectName(migration.metadata));
}
core::Status validate(const Hypervisor& hypervisor) {
  return toStatus(validationErrors(hypervisor), kHypervisorKind, objectName(hypervisor.metadata));
}

bool isDns1123Label(std::string_view name) {
  return !name.empty() && name.size() <= 63 && rules::kDns1123Label.matches(name);
}
bool isDns1123Subdomain(std::string_view name) {
  return !name.empty() && name.size() <= 253 && rules::kDns1123Subdomain.matches(name);
}
bool isQualifiedName(std::string_view key) {
  std::string_view name = key;
  const auto slash = key.find('/');
  if (slash != std::string_view::npos) {
    const std::string_view prefix = key.substr(0, slash);
    if (!isDns1123Subdomain(prefix)) {
      return false;
    }
    name = key.substr(slash + 1);
  }
  return !name.empty() && name.size() <= 63 && rules::kQualifiedNamePart.matches(name);
}
bool isLabelValue(std::string_view value) {
  return value.empty() || (value.size() <= 63 && rules::kLabelValue.matches(value));
}

}  // namespace novacron::api
