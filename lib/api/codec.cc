#include "lib/api/codec.h"

#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include "lib/api/validation.h"

namespace novacron::api {
namespace {

using nlohmann::json;

std::string jsonTypeName(const json& value) {
  switch (value.type()) {
  case json::value_t::null:
    return "null";
  case json::value_t::boolean:
    return "boolean";
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    return "integer";
  case json::value_t::number_float:
    return "number";
  case json::value_t::string:
    return "string";
  case json::value_t::array:
    return "array";
  case json::value_t::object:
    return "object";
  default:
    return "unsupported";
  }
}

// A short rendering of a value for an error message.
std::string shortValue(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  constexpr std::size_t kMax = 64;
  if (text.size() > kMax) {
    text = text.substr(0, kMax) + "...";
  }
  return text;
}

// Collects field errors while decoding one object tree.
class Decoder {
public:
  void typeError(const std::string& path, std::string_view expected, const json& got) {
    errors_.push_back({FieldError::Type::kType, path, shortValue(got),
                       "expected " + std::string(expected) + ", got " + jsonTypeName(got)});
  }
  void error(FieldError::Type type, const std::string& path, std::string value,
             std::string detail) {
    errors_.push_back({type, path, std::move(value), std::move(detail)});
  }
  const FieldErrors& errors() const { return errors_; }

private:
  FieldErrors errors_;
};

// Reads the members of one JSON object, remembering which were known so the rest can be kept.
class ObjectReader {
public:
  ObjectReader(Decoder& decoder, const json& object, std::string path)
      : decoder_(decoder), object_(object), path_(std::move(path)) {
    ok_ = object_.is_object();
    if (!ok_) {
      decoder_.typeError(path_.empty() ? "<root>" : path_, "object", object_);
    }
  }

  bool ok() const { return ok_; }
  Decoder& decoder() { return decoder_; }

  std::string childPath(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  // The member, or nullptr when absent or null (Kubernetes treats null as unset).
  const json* get(std::string_view key) {
    known_.insert(std::string(key));
    if (!ok_) {
      return nullptr;
    }
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) {
      return nullptr;
    }
    return &*it;
  }

  // Marks a member as known without decoding it (derived fields the encoder recomputes).
  void ignore(std::string_view key) { known_.insert(std::string(key)); }

  void required(std::string_view key) {
    if (ok_ && get(key) == nullptr) {
      decoder_.error(FieldError::Type::kRequired, childPath(key), "", "");
    }
  }

  UnknownFields unknown() const {
    UnknownFields out;
    if (!ok_) {
      return out;
    }
    for (auto it = object_.begin(); it != object_.end(); ++it) {
      if (!known_.contains(it.key())) {
        out.emplace(it.key(), it.value().dump(-1, ' ', false, json::error_handler_t::replace));
      }
    }
    return out;
  }

  // Scalar readers: leave `out` untouched when the member is absent.
  void str(std::string_view key, std::string& out) {
    if (const json* v = get(key)) {
      if (v->is_string()) {
        out = v->get<std::string>();
      } else {
        decoder_.typeError(childPath(key), "string", *v);
      }
    }
  }
  template <typename OptionalString>  // std::optional or core::HeapOptional of std::string
  void str(std::string_view key, OptionalString& out) {
    if (const json* v = get(key)) {
      if (v->is_string()) {
        out = v->get<std::string>();
      } else {
        decoder_.typeError(childPath(key), "string", *v);
      }
    }
  }
  void boolean(std::string_view key, bool& out) {
    if (const json* v = get(key)) {
      if (v->is_boolean()) {
        out = v->get<bool>();
      } else {
        decoder_.typeError(childPath(key), "boolean", *v);
      }
    }
  }
  void boolean(std::string_view key, std::optional<bool>& out) {
    bool value = false;
    if (get(key) != nullptr) {
      const auto before = decoder_.errors().size();
      boolean(key, value);
      if (decoder_.errors().size() == before) {
        out = value;
      }
    }
  }
  template <typename Int>
  void integer(std::string_view key, Int& out) {
    if (const json* v = get(key)) {
      readInteger(childPath(key), *v, out);
    }
  }
  template <typename Int>
  void integer(std::string_view key, std::optional<Int>& out) {
    if (const json* v = get(key)) {
      Int value{};
      if (readInteger(childPath(key), *v, value)) {
        out = value;
      }
    }
  }
  void number(std::string_view key, double& out) {
    if (const json* v = get(key)) {
      if (v->is_number() && std::isfinite(v->get<double>())) {
        out = v->get<double>();
      } else {
        decoder_.typeError(childPath(key), "number", *v);
      }
    }
  }
  void number(std::string_view key, std::optional<double>& out) {
    if (get(key) != nullptr) {
      double value = 0;
      number(key, value);
      out = value;
    }
  }
  template <typename E>
  void enumeration(std::string_view key, E& out) {
    if (const json* v = get(key)) {
      readEnum(childPath(key), *v, out);
    }
  }
  template <typename E>
  void enumeration(std::string_view key, std::optional<E>& out) {
    if (const json* v = get(key)) {
      E value{};
      if (readEnum(childPath(key), *v, value)) {
        out = value;
      }
    }
  }
  void quantity(std::string_view key, Quantity& out) {
    if (const json* v = get(key)) {
      if (!v->is_string()) {
        decoder_.typeError(childPath(key), "string (a quantity such as \"1Gi\")", *v);
        return;
      }
      auto parsed = Quantity::parse(v->get<std::string>());
      if (parsed.isOk()) {
        out = std::move(parsed).value();
      } else {
        decoder_.error(
            FieldError::Type::kInvalid, childPath(key), shortValue(*v),
            "must be a quantity such as 512Mi, 2Gi or 1G (" + parsed.status().message() + ")");
      }
    }
  }
  void quantity(std::string_view key, std::optional<Quantity>& out) {
    if (get(key)) {
      Quantity value;
      quantity(key, value);
      out = value;
    }
  }
  void timestamp(std::string_view key, std::optional<Timestamp>& out) {
    if (const json* v = get(key)) {
      Timestamp value{};
      if (readTimestamp(childPath(key), *v, value)) {
        out = value;
      }
    }
  }
  void timestamp(std::string_view key, Timestamp& out) {
    if (const json* v = get(key)) {
      readTimestamp(childPath(key), *v, out);
    }
  }
  // A list kept as its compact JSON text (decoded elsewhere, e.g. the capacity ledger).
  void listText(std::string_view key, std::optional<std::string>& out) {
    if (const json* v = get(key)) {
      if (v->is_array()) {
        out = v->dump(-1, ' ', false, json::error_handler_t::replace);
      } else {
        decoder_.typeError(childPath(key), "array", *v);
      }
    }
  }

  void stringMap(std::string_view key, std::map<std::string, std::string>& out) {
    if (const json* v = get(key)) {
      if (!v->is_object()) {
        decoder_.typeError(childPath(key), "object", *v);
        return;
      }
      for (auto it = v->begin(); it != v->end(); ++it) {
        if (it->is_string()) {
          out[it.key()] = it->get<std::string>();
        } else {
          decoder_.typeError(childPath(key) + "[" + it.key() + "]", "string", *it);
        }
      }
    }
  }
  void stringList(std::string_view key, std::vector<std::string>& out) {
    if (const json* v = get(key)) {
      if (!v->is_array()) {
        decoder_.typeError(childPath(key), "array", *v);
        return;
      }
      out.reserve(out.size() + v->size());  // exact: cached objects keep no spare capacity
      for (std::size_t i = 0; i < v->size(); ++i) {
        const json& item = (*v)[i];
        if (item.is_string()) {
          out.push_back(item.get<std::string>());
        } else {
          decoder_.typeError(childPath(key) + "[" + std::to_string(i) + "]", "string", item);
        }
      }
    }
  }
  // Nested object: decode(ObjectReader&, T&) fills `out`.
  template <typename T, typename Fn>
  void object(std::string_view key, T& out, Fn decode) {
    if (const json* v = get(key)) {
      ObjectReader reader(decoder_, *v, childPath(key));
      if (reader.ok()) {
        decode(reader, out);
        out.unknownFields = reader.unknown();
      }
    }
  }
  template <typename T, typename Fn>
  void object(std::string_view key, std::optional<T>& out, Fn decode) {
    optionalObject(key, out, decode);
  }
  template <typename T, typename Fn>
  void object(std::string_view key, core::HeapOptional<T>& out, Fn decode) {
    optionalObject(key, out, decode);
  }
  template <typename Optional, typename Fn>
  void optionalObject(std::string_view key, Optional& out, Fn decode) {
    if (get(key) != nullptr) {
      typename Optional::value_type value{};
      const json& v = *get(key);
      ObjectReader reader(decoder_, v, childPath(key));
      if (reader.ok()) {
        decode(reader, value);
        value.unknownFields = reader.unknown();
        out = std::move(value);
      }
    }
  }
  template <typename T, typename Fn>
  void list(std::string_view key, std::vector<T>& out, Fn decode) {
    if (const json* v = get(key)) {
      if (!v->is_array()) {
        decoder_.typeError(childPath(key), "array", *v);
        return;
      }
      out.reserve(out.size() + v->size());  // exact: cached objects keep no spare capacity
      for (std::size_t i = 0; i < v->size(); ++i) {
        ObjectReader reader(decoder_, (*v)[i], childPath(key) + "[" + std::to_string(i) + "]");
        if (reader.ok()) {
          T value{};
          decode(reader, value);
          value.unknownFields = reader.unknown();
          out.push_back(std::move(value));
        }
      }
    }
  }

private:
  template <typename Int>
  bool readInteger(const std::string& path, const json& v, Int& out) {
    if (v.is_number_integer() || v.is_number_unsigned()) {
      // Compare in the widest types so a huge unsigned or negative value cannot wrap.
      if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        if (u <= static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) {
          out = static_cast<Int>(u);
          return true;
        }
      } else {
        const auto s = v.get<std::int64_t>();
        if (s >= static_cast<std::int64_t>(std::numeric_limits<Int>::min()) &&
            s <= static_cast<std::int64_t>(std::numeric_limits<Int>::max())) {
          out = static_cast<Int>(s);
          return true;
        }
      }
      decoder_.error(FieldError::Type::kInvalid, path, shortValue(v),
                     "out of range for a " + std::to_string(sizeof(Int) * 8) + "-bit integer");
      return false;
    }
    decoder_.typeError(path, "integer", v);
    return false;
  }

  template <typename E>
  bool readEnum(const std::string& path, const json& v, E& out) {
    if (!v.is_string()) {
      decoder_.typeError(path, "string", v);
      return false;
    }
    auto parsed = fromString<E>(v.get<std::string>());
    if (!parsed) {
      std::string supported = "supported values: ";
      bool first = true;
      for (std::string_view name : enumValues<E>()) {
        supported += (first ? "\"" : ", \"") + std::string(name) + "\"";
        first = false;
      }
      decoder_.error(FieldError::Type::kUnsupported, path, shortValue(v), supported);
      return false;
    }
    out = *parsed;
    return true;
  }

  bool readTimestamp(const std::string& path, const json& v, Timestamp& out) {
    if (!v.is_string()) {
      decoder_.typeError(path, "string (RFC3339 time)", v);
      return false;
    }
    auto parsed = parseTimestamp(v.get<std::string>());
    if (!parsed) {
      decoder_.error(FieldError::Type::kInvalid, path, shortValue(v),
                     "must be an RFC3339 time such as 2026-01-02T15:04:05Z");
      return false;
    }
    out = *parsed;
    return true;
  }

  Decoder& decoder_;
  const json& object_;
  std::string path_;
  bool ok_ = false;
  std::set<std::string> known_;
};

// ---- decoders for each struct (fill fields; unknownFields is set by the caller) ----

void decodeOwnerReference(ObjectReader& r, OwnerReference& o) {
  r.str("apiVersion", o.apiVersion);
  r.str("kind", o.kind);
  r.str("name", o.name);
  r.str("uid", o.uid);
  r.boolean("controller", o.controller);
  r.boolean("blockOwnerDeletion", o.blockOwnerDeletion);
}

void decodeObjectMeta(ObjectReader& r, ObjectMeta& m) {
  r.str("name", m.name);
  r.str("generateName", m.generateName);
  r.str("namespace", m.namespace_);
  r.str("uid", m.uid);
  r.str("resourceVersion", m.resourceVersion);
  r.integer("generation", m.generation);
  r.stringMap("labels", m.labels);
  r.stringMap("annotations", m.annotations);
  r.stringList("finalizers", m.finalizers);
  r.list("ownerReferences", m.ownerReferences, decodeOwnerReference);
  r.timestamp("creationTimestamp", m.creationTimestamp);
  r.timestamp("deletionTimestamp", m.deletionTimestamp);
  r.integer("deletionGracePeriodSeconds", m.deletionGracePeriodSeconds);
}

void decodeCondition(ObjectReader& r, Condition& c) {
  r.required("type");
  r.required("status");
  r.str("type", c.type);
  r.enumeration("status", c.status);
  r.integer("observedGeneration", c.observedGeneration);
  r.timestamp("lastTransitionTime", c.lastTransitionTime);
  r.str("reason", c.reason);
  r.str("message", c.message);
}

void decodeImageSource(ObjectReader& r, ImageSource& s) {
  r.str("url", s.url);
  r.str("sha256", s.sha256);
}

void decodeVmResources(ObjectReader& r, VmResources& res) {
  r.required("cpus");
  r.required("memory");
  r.integer("cpus", res.cpus);
  r.quantity("memory", res.memory);
}

void decodeVmSpec(ObjectReader& r, VirtualMachineSpec& s) {
  r.enumeration("runStrategy", s.runStrategy);
  r.boolean("paused", s.paused);
  r.timestamp("restartRequestedAt", s.restartRequestedAt);
  r.required("resources");
  r.object("resources", s.resources, decodeVmResources);
  r.object("cpu", s.cpu, [](ObjectReader& cr, CpuSpec& cpu) {
    cr.str("model", cpu.model);
    cr.object("topology", cpu.topology, [](ObjectReader& tr, CpuTopology& t) {
      tr.integer("sockets", t.sockets);
      tr.integer("cores", t.cores);
      tr.integer("threads", t.threads);
    });
  });
  r.enumeration("firmware", s.firmware);
  r.object("kernelBoot", s.kernelBoot, [](ObjectReader& kr, KernelBoot& k) {
    kr.required("kernel");
    kr.object("kernel", k.kernel, decodeImageSource);
    kr.object("initrd", k.initrd, decodeImageSource);
    kr.str("cmdline", k.cmdline);
  });
  r.list("disks", s.disks, [](ObjectReader& dr, Disk& d) {
    dr.str("name", d.name);
    dr.enumeration("bus", d.bus);
    dr.integer("bootOrder", d.bootOrder);
    dr.object("image", d.image, decodeImageSource);
    dr.object("emptyDisk", d.emptyDisk, [](ObjectReader& er, EmptyDiskSource& e) {
      er.required("size");
      er.quantity("size", e.size);
    });
    dr.object("cloudInit", d.cloudInit, [](ObjectReader& cr, CloudInitSource& c) {
      cr.str("userData", c.userData);
      cr.str("networkData", c.networkData);
    });
  });
  r.list("networks", s.networks, [](ObjectReader& nr, Network& n) {
    nr.str("name", n.name);
    nr.enumeration("type", n.type);
    nr.str("bridge", n.bridge);
    nr.str("mac", n.mac);
  });
  r.object("placement", s.placement, [](ObjectReader& pr, Placement& p) {
    pr.stringMap("hypervisorSelector", p.hypervisorSelector);
    pr.str("antiAffinityGroup", p.antiAffinityGroup);
    pr.str("hypervisor", p.hypervisor);
  });
  r.enumeration("evictionStrategy", s.evictionStrategy);
  r.integer("terminationGracePeriodSeconds", s.terminationGracePeriodSeconds);
}

void decodeVmStatus(ObjectReader& r, VirtualMachineStatus& s) {
  r.enumeration("phase", s.phase);
  r.str("hypervisor", s.hypervisor);
  r.integer("observedGeneration", s.observedGeneration);
  r.list("conditions", s.conditions, decodeCondition);
  r.list("interfaces", s.interfaces, [](ObjectReader& ir, VmInterfaceStatus& i) {
    ir.str("name", i.name);
    ir.str("mac", i.mac);
    ir.str("ip", i.ip);
  });
  r.str("domainUUID", s.domainUUID);
  r.str("activeMigration", s.activeMigration);
  r.timestamp("startTime", s.startTime);
  r.object("allocated", s.allocated, decodeVmResources);
}

void decodeMigrationSpec(ObjectReader& r, VMMigrationSpec& s) {
  r.str("vmName", s.vmName);
  r.str("targetHypervisor", s.targetHypervisor);
  r.enumeration("mode", s.mode);
  r.object("options", s.options, [](ObjectReader& o, MigrationOptions& opt) {
    o.integer("bandwidthMiBps", opt.bandwidthMiBps);
    o.integer("maxDowntimeMs", opt.maxDowntimeMs);
    o.boolean("autoConverge", opt.autoConverge);
    o.object("postCopy", opt.postCopy, [](ObjectReader& p, PostCopyOptions& pc) {
      p.boolean("enabled", pc.enabled);
      p.integer("afterIterations", pc.afterIterations);
    });
    o.enumeration("compression", opt.compression);
    o.enumeration("copyStorage", opt.copyStorage);
    o.integer("completionTimeoutPerGiBSeconds", opt.completionTimeoutPerGiBSeconds);
    o.integer("progressTimeoutSeconds", opt.progressTimeoutSeconds);
    o.boolean("tls", opt.tls);
  });
  r.boolean("cancel", s.cancel);
  r.boolean("dryRun", s.dryRun);
}

void decodeForecast(ObjectReader& f, MigrationForecast& fc) {
  f.integer("totalMs", fc.totalMs);
  f.integer("downtimeMs", fc.downtimeMs);
  f.integer("iterations", fc.iterations);
  f.integer("bytesToSend", fc.bytesToSend);
  f.enumeration("strategy", fc.strategy);
  f.enumeration("compression", fc.compression);
  f.boolean("converges", fc.converges);
  f.str("verdict", fc.verdict);
  f.integer("dirtyRateBytesPerSecond", fc.dirtyRateBytesPerSecond);
  f.integer("bandwidthBytesPerSecond", fc.bandwidthBytesPerSecond);
}

void decodePlan(ObjectReader& p, MigrationPlan& pl) {
  p.str("targetHypervisor", pl.targetHypervisor);
  p.str("targetReason", pl.targetReason);
  p.object("targetCapacityAfter", pl.targetCapacityAfter, [](ObjectReader& c, PlanCapacity& pc) {
    c.integer("cpus", pc.cpus);
    c.integer("memoryBytes", pc.memoryBytes);
    c.integer("storageBytes", pc.storageBytes);
  });
  p.boolean("cpuCompatible", pl.cpuCompatible);
  p.str("cpuCompatibility", pl.cpuCompatibility);
  p.integer("memoryBytes", pl.memoryBytes);
  p.integer("diskBytes", pl.diskBytes);
  p.integer("bandwidthBytesPerSecond", pl.bandwidthBytesPerSecond);
  p.str("bandwidthSource", pl.bandwidthSource);
  p.integer("dirtyRateBytesPerSecond", pl.dirtyRateBytesPerSecond);
  p.timestamp("dirtyRateMeasuredTime", pl.dirtyRateMeasuredTime);
  p.str("dirtyRateError", pl.dirtyRateError);
  p.object("forecast", pl.forecast, decodeForecast);
}

void decodeMigrationStatus(ObjectReader& r, VMMigrationStatus& s) {
  r.enumeration("phase", s.phase);
  r.str("sourceHypervisor", s.sourceHypervisor);
  r.str("targetHypervisor", s.targetHypervisor);
  r.str("targetAddress", s.targetAddress);
  r.timestamp("startTime", s.startTime);
  r.timestamp("completionTime", s.completionTime);
  r.object("progress", s.progress, [](ObjectReader& p, MigrationProgress& pr) {
    p.integer("percent", pr.percent);
    p.integer("dataTotalBytes", pr.dataTotalBytes);
    p.integer("dataProcessedBytes", pr.dataProcessedBytes);
    p.integer("dataRemainingBytes", pr.dataRemainingBytes);
    p.integer("dirtyRateBytesPerSecond", pr.dirtyRateBytesPerSecond);
    p.integer("iteration", pr.iteration);
    p.integer("etaSeconds", pr.etaSeconds);
    p.integer("downtimeMs", pr.downtimeMs);
    p.integer("elapsedMs", pr.elapsedMs);
  });
  r.object("targetStorage", s.targetStorage, [](ObjectReader& t, MigrationTargetStorage& ts) {
    t.boolean("copy", ts.copy);
    t.str("vmRoot", ts.vmRoot);
    t.str("imageRoot", ts.imageRoot);
  });
  r.integer("observedGeneration", s.observedGeneration);
  r.list("conditions", s.conditions, decodeCondition);
  r.str("failureReason", s.failureReason);
  r.object("plan", s.plan, decodePlan);
  r.object("forecast", s.forecast, decodeForecast);
}

void decodeHvResources(ObjectReader& r, HypervisorResources& res) {
  r.integer("cpus", res.cpus);
  r.quantity("memory", res.memory);
  r.quantity("storage", res.storage);
}

void decodeHypervisorSpec(ObjectReader& r, HypervisorSpec& s) {
  r.boolean("unschedulable", s.unschedulable);
  r.boolean("maintenance", s.maintenance);
  r.object("overcommit", s.overcommit, [](ObjectReader& o, Overcommit& oc) {
    o.number("cpu", oc.cpu);
    o.number("memory", oc.memory);
  });
  r.object("migration", s.migration, [](ObjectReader& m, HypervisorMigrationSpec& ms) {
    m.str("address", ms.address);
    m.integer("maxInbound", ms.maxInbound);
    m.integer("maxOutbound", ms.maxOutbound);
  });
}

void decodeHypervisorStatus(ObjectReader& r, HypervisorStatus& s) {
  r.object("capacity", s.capacity, decodeHvResources);
  r.object("allocatable", s.allocatable, decodeHvResources);
  r.object("allocated", s.allocated, [](ObjectReader& a, HypervisorAllocated& al) {
    a.integer("cpus", al.cpus);
    a.quantity("memory", al.memory);
    a.integer("vms", al.vms);
    a.quantity("storage", al.storage);
  });
  r.listText("allocations", s.allocations);
  r.str("cpuModel", s.cpuModel);
  r.stringList("cpuFeatures", s.cpuFeatures);
  r.enumeration("virtualization", s.virtualization);
  r.str("libvirtVersion", s.libvirtVersion);
  r.str("qemuVersion", s.qemuVersion);
  r.integer("observedGeneration", s.observedGeneration);
  r.list("conditions", s.conditions, decodeCondition);
  r.timestamp("lastHeartbeatTime", s.lastHeartbeatTime);
  r.object("activeMigrations", s.activeMigrations, [](ObjectReader& a, ActiveMigrations& am) {
    a.integer("inbound", am.inbound);
    a.integer("outbound", am.outbound);
  });
  r.object("evacuation", s.evacuation, [](ObjectReader& e, EvacuationStatus& es) {
    e.integer("total", es.total);
    e.integer("migrated", es.migrated);
    e.integer("stopped", es.stopped);
    e.integer("pending", es.pending);
    e.list("blocked", es.blocked, [](ObjectReader& b, EvacuationBlocker& eb) {
      b.str("vm", eb.vm);
      b.str("reason", eb.reason);
      b.str("message", eb.message);
    });
  });
  r.list("migrationBandwidth", s.migrationBandwidth, [](ObjectReader& b, MigrationBandwidth& mb) {
    b.str("target", mb.target);
    b.integer("bytesPerSecond", mb.bytesPerSecond);
    b.timestamp("observedTime", mb.observedTime);
  });
  r.ignore("summary");  // derived; recomputed by the encoder
}

// Decodes a whole object of one kind.
template <typename T, typename SpecFn, typename StatusFn>
core::StatusOr<T> decodeObject(const json& input, std::string_view kind, bool spec_required,
                               SpecFn decode_spec, StatusFn decode_status) {
  try {
    Decoder decoder;
    T out{};
    ObjectReader root(decoder, input, "");
    if (root.ok()) {
      std::string api_version;
      std::string got_kind;
      root.str("apiVersion", api_version);
      root.str("kind", got_kind);
      if (!api_version.empty() && api_version != kApiVersion) {
        decoder.error(FieldError::Type::kUnsupported, "apiVersion", "\"" + api_version + "\"",
                      "supported values: \"" + std::string(kApiVersion) + "\"");
      }
      if (!got_kind.empty() && got_kind != kind) {
        decoder.error(FieldError::Type::kUnsupported, "kind", "\"" + got_kind + "\"",
                      "supported values: \"" + std::string(kind) + "\"");
      }
      root.object("metadata", out.metadata, decodeObjectMeta);
      if (spec_required) {
        root.required("spec");
      }
      root.object("spec", out.spec, decode_spec);
      root.object("status", out.status, decode_status);
      out.unknownFields = root.unknown();
    }
    if (!decoder.errors().empty()) {
      std::string name = out.metadata.namespace_.empty()
                             ? out.metadata.name
                             : out.metadata.namespace_ + "/" + out.metadata.name;
      return toStatus(decoder.errors(), kind, name).withContext("decoding");
    }
    return out;
  } catch (const std::exception& e) {
    // Not expected (every access above is type-checked), but this adapter must never throw.
    return core::invalidArgumentError(std::string("decoding ") + std::string(kind) + ": " +
                                      e.what());
  }
}

template <typename T, typename Fn>
core::StatusOr<T> decodePiece(const json& input, std::string_view what, Fn decode) {
  try {
    Decoder decoder;
    T out{};
    ObjectReader reader(decoder, input, "");
    if (reader.ok()) {
      decode(reader, out);
      out.unknownFields = reader.unknown();
    }
    if (!decoder.errors().empty()) {
      return toStatus(decoder.errors(), what, "").withContext("decoding");
    }
    return out;
  } catch (const std::exception& e) {
    return core::invalidArgumentError(std::string("decoding ") + std::string(what) + ": " +
                                      e.what());
  }
}

// ---- encoders ----

// Starts an object with the preserved unknown members; known members are written over them.
json withUnknown(const UnknownFields& unknown) {
  json out = json::object();
  for (const auto& [key, text] : unknown.fields()) {
    // The text was produced by dump(); parse cannot fail, but never let this adapter throw.
    json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded()) {
      out[key] = std::move(value);
    }
  }
  return out;
}

template <typename Optional>  // std::optional or core::HeapOptional
void putOpt(json& out, const char* key, const Optional& value) {
  if (value) {
    out[key] = *value;
  } else {
    out.erase(key);
  }
}

void putStr(json& out, const char* key, const std::string& value) {
  if (!value.empty()) {
    out[key] = value;
  } else {
    out.erase(key);
  }
}

void putTime(json& out, const char* key, const std::optional<Timestamp>& value) {
  if (value) {
    out[key] = formatTimestamp(*value);
  } else {
    out.erase(key);
  }
}

template <typename E>
void putEnum(json& out, const char* key, const std::optional<E>& value) {
  if (value) {
    out[key] = std::string(toString(*value));
  } else {
    out.erase(key);
  }
}

template <typename Container>
void putNonEmpty(json& out, const char* key, const Container& value) {
  if (!value.empty()) {
    out[key] = value;
  } else {
    out.erase(key);
  }
}

template <typename T, typename Fn>
void putList(json& out, const char* key, const std::vector<T>& items, Fn encode) {
  if (items.empty()) {
    out.erase(key);
    return;
  }
  json array = json::array();
  for (const T& item : items) {
    array.push_back(encode(item));
  }
  out[key] = std::move(array);
}

template <typename T, typename Fn>
void putObject(json& out, const char* key, const T& value, Fn encode) {  // T: an optional
  if (value) {
    out[key] = encode(*value);
  } else {
    out.erase(key);
  }
}

json encodeOwnerReference(const OwnerReference& o) {
  json out = withUnknown(o.unknownFields);
  out["apiVersion"] = o.apiVersion;
  out["kind"] = o.kind;
  out["name"] = o.name;
  out["uid"] = o.uid;
  putOpt(out, "controller", o.controller);
  putOpt(out, "blockOwnerDeletion", o.blockOwnerDeletion);
  return out;
}

json encodeObjectMeta(const ObjectMeta& m) {
  json out = withUnknown(m.unknownFields);
  putStr(out, "name", m.name);
  putStr(out, "generateName", m.generateName);
  putStr(out, "namespace", m.namespace_);
  putStr(out, "uid", m.uid);
  putStr(out, "resourceVersion", m.resourceVersion);
  if (m.generation != 0) {
    out["generation"] = m.generation;
  } else {
    out.erase("generation");
  }
  putNonEmpty(out, "labels", m.labels);
  putNonEmpty(out, "annotations", m.annotations);
  putNonEmpty(out, "finalizers", m.finalizers);
  putList(out, "ownerReferences", m.ownerReferences, encodeOwnerReference);
  putTime(out, "creationTimestamp", m.creationTimestamp);
  putTime(out, "deletionTimestamp", m.deletionTimestamp);
  putOpt(out, "deletionGracePeriodSeconds", m.deletionGracePeriodSeconds);
  return out;
}

json encodeCondition(const Condition& c) {
  json out = withUnknown(c.unknownFields);
  out["type"] = c.type;
  out["status"] = std::string(toString(c.status));
  out["observedGeneration"] = c.observedGeneration;
  out["lastTransitionTime"] = formatTimestamp(c.lastTransitionTime);
  out["reason"] = c.reason;
  out["message"] = c.message;
  return out;
}

json encodeImageSource(const ImageSource& s) {
  json out = withUnknown(s.unknownFields);
  out["url"] = s.url;
  putOpt(out, "sha256", s.sha256);
  return out;
}

json encodeVmResources(const VmResources& r) {
  json out = withUnknown(r.unknownFields);
  out["cpus"] = r.cpus;
  out["memory"] = r.memory.toString();
  return out;
}

json encodeVmSpec(const VirtualMachineSpec& s) {
  json out = withUnknown(s.unknownFields);
  out["runStrategy"] = std::string(toString(s.runStrategy));
  putOpt(out, "paused", s.paused);
  putTime(out, "restartRequestedAt", s.restartRequestedAt);
  out["resources"] = encodeVmResources(s.resources);
  putObject(out, "cpu", s.cpu, [](const CpuSpec& cpu) {
    json c = withUnknown(cpu.unknownFields);
    c["model"] = cpu.model;
    putObject(c, "topology", cpu.topology, [](const CpuTopology& t) {
      json tj = withUnknown(t.unknownFields);
      tj["sockets"] = t.sockets;
      tj["cores"] = t.cores;
      tj["threads"] = t.threads;
      return tj;
    });
    return c;
  });
  out["firmware"] = std::string(toString(s.firmware));
  putObject(out, "kernelBoot", s.kernelBoot, [](const KernelBoot& k) {
    json kj = withUnknown(k.unknownFields);
    kj["kernel"] = encodeImageSource(k.kernel);
    putObject(kj, "initrd", k.initrd, encodeImageSource);
    putOpt(kj, "cmdline", k.cmdline);
    return kj;
  });
  putList(out, "disks", s.disks, [](const Disk& d) {
    json dj = withUnknown(d.unknownFields);
    dj["name"] = d.name;
    dj["bus"] = std::string(toString(d.bus));
    putOpt(dj, "bootOrder", d.bootOrder);
    putObject(dj, "image", d.image, encodeImageSource);
    putObject(dj, "emptyDisk", d.emptyDisk, [](const EmptyDiskSource& e) {
      json ej = withUnknown(e.unknownFields);
      ej["size"] = e.size.toString();
      return ej;
    });
    putObject(dj, "cloudInit", d.cloudInit, [](const CloudInitSource& c) {
      json cj = withUnknown(c.unknownFields);
      putOpt(cj, "userData", c.userData);
      putOpt(cj, "networkData", c.networkData);
      return cj;
    });
    return dj;
  });
  putList(out, "networks", s.networks, [](const Network& n) {
    json nj = withUnknown(n.unknownFields);
    nj["name"] = n.name;
    nj["type"] = std::string(toString(n.type));
    putOpt(nj, "bridge", n.bridge);
    putOpt(nj, "mac", n.mac);
    return nj;
  });
  putObject(out, "placement", s.placement, [](const Placement& p) {
    json pj = withUnknown(p.unknownFields);
    putNonEmpty(pj, "hypervisorSelector", p.hypervisorSelector);
    putOpt(pj, "antiAffinityGroup", p.antiAffinityGroup);
    putOpt(pj, "hypervisor", p.hypervisor);
    return pj;
  });
  out["evictionStrategy"] = std::string(toString(s.evictionStrategy));
  out["terminationGracePeriodSeconds"] = s.terminationGracePeriodSeconds;
  return out;
}

json encodeVmStatus(const VirtualMachineStatus& s) {
  json out = withUnknown(s.unknownFields);
  putEnum(out, "phase", s.phase);
  putOpt(out, "hypervisor", s.hypervisor);
  putOpt(out, "observedGeneration", s.observedGeneration);
  putList(out, "conditions", s.conditions, encodeCondition);
  putList(out, "interfaces", s.interfaces, [](const VmInterfaceStatus& i) {
    json ij = withUnknown(i.unknownFields);
    ij["name"] = i.name;
    putOpt(ij, "mac", i.mac);
    putOpt(ij, "ip", i.ip);
    return ij;
  });
  putOpt(out, "domainUUID", s.domainUUID);
  putOpt(out, "activeMigration", s.activeMigration);
  putTime(out, "startTime", s.startTime);
  putObject(out, "allocated", s.allocated, encodeVmResources);
  return out;
}

json encodeMigrationSpec(const VMMigrationSpec& s) {
  json out = withUnknown(s.unknownFields);
  out["vmName"] = s.vmName;
  putOpt(out, "targetHypervisor", s.targetHypervisor);
  out["mode"] = std::string(toString(s.mode));
  const MigrationOptions& o = s.options;
  json oj = withUnknown(o.unknownFields);
  putOpt(oj, "bandwidthMiBps", o.bandwidthMiBps);
  oj["maxDowntimeMs"] = o.maxDowntimeMs;
  oj["autoConverge"] = o.autoConverge;
  putObject(oj, "postCopy", o.postCopy, [](const PostCopyOptions& p) {
    json pj = withUnknown(p.unknownFields);
    pj["enabled"] = p.enabled;
    putOpt(pj, "afterIterations", p.afterIterations);
    return pj;
  });
  oj["compression"] = std::string(toString(o.compression));
  oj["copyStorage"] = std::string(toString(o.copyStorage));
  oj["completionTimeoutPerGiBSeconds"] = o.completionTimeoutPerGiBSeconds;
  oj["progressTimeoutSeconds"] = o.progressTimeoutSeconds;
  oj["tls"] = o.tls;
  out["options"] = std::move(oj);
  out["cancel"] = s.cancel;
  out["dryRun"] = s.dryRun;
  return out;
}

json encodeForecast(const MigrationForecast& f) {
  json fj = withUnknown(f.unknownFields);
  fj["totalMs"] = f.totalMs;
  fj["downtimeMs"] = f.downtimeMs;
  fj["iterations"] = f.iterations;
  fj["bytesToSend"] = f.bytesToSend;
  fj["strategy"] = std::string(toString(f.strategy));
  fj["compression"] = std::string(toString(f.compression));
  fj["converges"] = f.converges;
  fj["verdict"] = f.verdict;
  fj["dirtyRateBytesPerSecond"] = f.dirtyRateBytesPerSecond;
  fj["bandwidthBytesPerSecond"] = f.bandwidthBytesPerSecond;
  return fj;
}

json encodePlan(const MigrationPlan& p) {
  json pj = withUnknown(p.unknownFields);
  putOpt(pj, "targetHypervisor", p.targetHypervisor);
  putOpt(pj, "targetReason", p.targetReason);
  putObject(pj, "targetCapacityAfter", p.targetCapacityAfter, [](const PlanCapacity& c) {
    json cj = withUnknown(c.unknownFields);
    cj["cpus"] = c.cpus;
    cj["memoryBytes"] = c.memoryBytes;
    putOpt(cj, "storageBytes", c.storageBytes);
    return cj;
  });
  pj["cpuCompatible"] = p.cpuCompatible;
  putOpt(pj, "cpuCompatibility", p.cpuCompatibility);
  pj["memoryBytes"] = p.memoryBytes;
  pj["diskBytes"] = p.diskBytes;
  pj["bandwidthBytesPerSecond"] = p.bandwidthBytesPerSecond;
  putOpt(pj, "bandwidthSource", p.bandwidthSource);
  putOpt(pj, "dirtyRateBytesPerSecond", p.dirtyRateBytesPerSecond);
  putTime(pj, "dirtyRateMeasuredTime", p.dirtyRateMeasuredTime);
  putOpt(pj, "dirtyRateError", p.dirtyRateError);
  putObject(pj, "forecast", p.forecast, encodeForecast);
  return pj;
}

json encodeMigrationStatus(const VMMigrationStatus& s) {
  json out = withUnknown(s.unknownFields);
  putEnum(out, "phase", s.phase);
  putOpt(out, "sourceHypervisor", s.sourceHypervisor);
  putOpt(out, "targetHypervisor", s.targetHypervisor);
  putOpt(out, "targetAddress", s.targetAddress);
  putTime(out, "startTime", s.startTime);
  putTime(out, "completionTime", s.completionTime);
  putObject(out, "progress", s.progress, [](const MigrationProgress& p) {
    json pj = withUnknown(p.unknownFields);
    pj["percent"] = p.percent;
    putOpt(pj, "dataTotalBytes", p.dataTotalBytes);
    putOpt(pj, "dataProcessedBytes", p.dataProcessedBytes);
    putOpt(pj, "dataRemainingBytes", p.dataRemainingBytes);
    putOpt(pj, "dirtyRateBytesPerSecond", p.dirtyRateBytesPerSecond);
    putOpt(pj, "iteration", p.iteration);
    putOpt(pj, "etaSeconds", p.etaSeconds);
    putOpt(pj, "downtimeMs", p.downtimeMs);
    putOpt(pj, "elapsedMs", p.elapsedMs);
    return pj;
  });
  putObject(out, "targetStorage", s.targetStorage, [](const MigrationTargetStorage& t) {
    json tj = withUnknown(t.unknownFields);
    tj["copy"] = t.copy;
    tj["vmRoot"] = t.vmRoot;
    tj["imageRoot"] = t.imageRoot;
    return tj;
  });
  putOpt(out, "observedGeneration", s.observedGeneration);
  putList(out, "conditions", s.conditions, encodeCondition);
  putOpt(out, "failureReason", s.failureReason);
  putObject(out, "plan", s.plan, encodePlan);
  putObject(out, "forecast", s.forecast, encodeForecast);
  return out;
}

json encodeHvResources(const HypervisorResources& r) {
  json out = withUnknown(r.unknownFields);
  out["cpus"] = r.cpus;
  out["memory"] = r.memory.toString();
  if (r.storage) {
    out["storage"] = r.storage->toString();
  } else {
    out.erase("storage");
  }
  return out;
}

json encodeHypervisorSpec(const HypervisorSpec& s) {
  json out = withUnknown(s.unknownFields);
  out["unschedulable"] = s.unschedulable;
  out["maintenance"] = s.maintenance;
  putObject(out, "overcommit", s.overcommit, [](const Overcommit& o) {
    json oj = withUnknown(o.unknownFields);
    putOpt(oj, "cpu", o.cpu);
    putOpt(oj, "memory", o.memory);
    return oj;
  });
  putObject(out, "migration", s.migration, [](const HypervisorMigrationSpec& m) {
    json mj = withUnknown(m.unknownFields);
    putOpt(mj, "address", m.address);
    mj["maxInbound"] = m.maxInbound;
    mj["maxOutbound"] = m.maxOutbound;
    return mj;
  });
  return out;
}

json encodeHypervisorStatus(const HypervisorStatus& s) {
  json out = withUnknown(s.unknownFields);
  putObject(out, "capacity", s.capacity, encodeHvResources);
  putObject(out, "allocatable", s.allocatable, encodeHvResources);
  putObject(out, "allocated", s.allocated, [](const HypervisorAllocated& a) {
    json aj = withUnknown(a.unknownFields);
    aj["cpus"] = a.cpus;
    aj["memory"] = a.memory.toString();
    aj["vms"] = a.vms;
    if (a.storage) {
      aj["storage"] = a.storage->toString();
    } else {
      aj.erase("storage");
    }
    return aj;
  });
  if (s.allocations) {
    // The text was produced by dump() on decode or by the ledger's encoder; never throw here.
    json list = json::parse(*s.allocations, nullptr, /*allow_exceptions=*/false);
    if (list.is_array()) {
      out["allocations"] = std::move(list);
    }
  } else {
    out.erase("allocations");
  }
  putOpt(out, "cpuModel", s.cpuModel);
  putNonEmpty(out, "cpuFeatures", s.cpuFeatures);
  putEnum(out, "virtualization", s.virtualization);
  putOpt(out, "libvirtVersion", s.libvirtVersion);
  putOpt(out, "qemuVersion", s.qemuVersion);
  putOpt(out, "observedGeneration", s.observedGeneration);
  putList(out, "conditions", s.conditions, encodeCondition);
  putTime(out, "lastHeartbeatTime", s.lastHeartbeatTime);
  putObject(out, "activeMigrations", s.activeMigrations, [](const ActiveMigrations& a) {
    json aj = withUnknown(a.unknownFields);
    aj["inbound"] = a.inbound;
    aj["outbound"] = a.outbound;
    return aj;
  });
  putObject(out, "evacuation", s.evacuation, [](const EvacuationStatus& e) {
    json ej = withUnknown(e.unknownFields);
    ej["total"] = e.total;
    ej["migrated"] = e.migrated;
    ej["stopped"] = e.stopped;
    ej["pending"] = e.pending;
    putList(ej, "blocked", e.blocked, [](const EvacuationBlocker& b) {
      json bj = withUnknown(b.unknownFields);
      bj["vm"] = b.vm;
      bj["reason"] = b.reason;
      putOpt(bj, "message", b.message);
      return bj;
    });
    return ej;
  });
  putList(out, "migrationBandwidth", s.migrationBandwidth, [](const MigrationBandwidth& b) {
    json bj = withUnknown(b.unknownFields);
    bj["target"] = b.target;
    bj["bytesPerSecond"] = b.bytesPerSecond;
    putTime(bj, "observedTime", b.observedTime);
    return bj;
  });
  const std::string cpu = cpuSummary(s);
  if (!cpu.empty()) {
    out["summary"] = {{"cpu", cpu}, {"memory", memorySummary(s)}};
  } else {
    out.erase("summary");
  }
  return out;
}

template <typename T>
json encodeObject(const T& object, std::string_view kind, const json& spec, const json& status) {
  json out = withUnknown(object.unknownFields);
  out["apiVersion"] = std::string(kApiVersion);
  out["kind"] = std::string(kind);
  out["metadata"] = encodeObjectMeta(object.metadata);
  out["spec"] = spec;
  if (!status.empty()) {
    out["status"] = status;
  } else {
    out.erase("status");
  }
  return out;
}

}  // namespace

json toJson(const VirtualMachine& vm) {
  return encodeObject(vm, kVirtualMachineKind, encodeVmSpec(vm.spec), encodeVmStatus(vm.status));
}
json toJson(const VMMigration& migration) {
  return encodeObject(migration, kVMMigrationKind, encodeMigrationSpec(migration.spec),
                      encodeMigrationStatus(migration.status));
}
json toJson(const Hypervisor& hypervisor) {
  return encodeObject(hypervisor, kHypervisorKind, encodeHypervisorSpec(hypervisor.spec),
                      encodeHypervisorStatus(hypervisor.status));
}

core::StatusOr<VirtualMachine> virtualMachineFromJson(const json& input) {
  return decodeObject<VirtualMachine>(input, kVirtualMachineKind, /*spec_required=*/true,
                                      decodeVmSpec, decodeVmStatus);
}
core::StatusOr<VMMigration> vmMigrationFromJson(const json& input) {
  return decodeObject<VMMigration>(input, kVMMigrationKind, /*spec_required=*/true,
                                   decodeMigrationSpec, decodeMigrationStatus);
}
core::StatusOr<Hypervisor> hypervisorFromJson(const json& input) {
  // A Hypervisor is created by its node-daemon; an empty spec is normal.
  return decodeObject<Hypervisor>(input, kHypervisorKind, /*spec_required=*/false,
                                  decodeHypervisorSpec, decodeHypervisorStatus);
}

json toJson(const ObjectMeta& meta) {
  return encodeObjectMeta(meta);
}
json toJson(const Condition& condition) {
  return encodeCondition(condition);
}
json toJson(const VirtualMachineSpec& spec) {
  return encodeVmSpec(spec);
}
json toJson(const VirtualMachineStatus& status) {
  return encodeVmStatus(status);
}
json toJson(const VMMigrationSpec& spec) {
  return encodeMigrationSpec(spec);
}
json toJson(const VMMigrationStatus& status) {
  return encodeMigrationStatus(status);
}
json toJson(const HypervisorSpec& spec) {
  return encodeHypervisorSpec(spec);
}
json toJson(const HypervisorStatus& status) {
  return encodeHypervisorStatus(status);
}

core::StatusOr<ObjectMeta> objectMetaFromJson(const json& input) {
  return decodePiece<ObjectMeta>(input, "metadata", decodeObjectMeta);
}
core::StatusOr<Condition> conditionFromJson(const json& input) {
  return decodePiece<Condition>(input, "condition", decodeCondition);
}

template <>
core::StatusOr<VirtualMachine> fromJson<VirtualMachine>(const json& input) {
  return virtualMachineFromJson(input);
}
template <>
core::StatusOr<VMMigration> fromJson<VMMigration>(const json& input) {
  return vmMigrationFromJson(input);
}
template <>
core::StatusOr<Hypervisor> fromJson<Hypervisor>(const json& input) {
  return hypervisorFromJson(input);
}

}  // namespace novacron::api
