#include "dev-apiserver/protobuf_decode.h"

#include <cstdint>
#include <functional>

#include "dev-apiserver/base64.h"

namespace novacron::devapi {

using nlohmann::json;

namespace {

// A protobuf field: number, wire type, and its varint or bytes payload.
struct Field {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t varint = 0;
  std::string bytes;
};

class Reader {
public:
  explicit Reader(const std::string& data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }

  bool next(Field* f) {
    uint64_t tag;
    if (!varint(&tag)) {
      return false;
    }
    f->number = static_cast<uint32_t>(tag >> 3);
    f->wire = static_cast<uint32_t>(tag & 7);
    f->bytes.clear();
    switch (f->wire) {
    case 0:
      return varint(&f->varint);
    case 1:
      return skip(8);
    case 2: {
      uint64_t len;
      if (!varint(&len) || len > data_.size() - pos_) {
        return false;
      }
      f->bytes = data_.substr(pos_, len);
      pos_ += len;
      return true;
    }
    case 5:
      return skip(4);
    default:
      return false;
    }
  }

private:
  bool varint(uint64_t* out) {
    *out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) {
        return false;
      }
      auto b = static_cast<uint8_t>(data_[pos_++]);
      *out |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return true;
      }
    }
    return false;
  }
  bool skip(size_t n) {
    if (n > data_.size() - pos_) {
      return false;
    }
    pos_ += n;
    return true;
  }

  const std::string& data_;
  size_t pos_ = 0;
};

using Handler = std::function<bool(const Field&)>;

bool parse(const std::string& data, const Handler& handle) {
  Reader r(data);
  Field f;
  while (!r.done()) {
    if (!r.next(&f) || !handle(f)) {
      return false;
    }
  }
  return true;
}

// map<string, string|bytes> entry {key = 1; value = 2}.
bool mapEntry(const std::string& data, json& into, bool base64_value) {
  std::string k;
  std::string v;
  bool ok = parse(data, [&](const Field& f) {
    if (f.number == 1) {
      k = f.bytes;
    } else if (f.number == 2) {
      v = f.bytes;
    }
    return true;
  });
  into[k] = base64_value ? base64Encode(v) : v;
  return ok;
}

bool ownerReference(const std::string& data, json& out) {
  out = json::object();
  return parse(data, [&](const Field& f) {
    switch (f.number) {
    case 1:
      out["kind"] = f.bytes;
      break;
    case 3:
      out["name"] = f.bytes;
      break;
    case 4:
      out["uid"] = f.bytes;
      break;
    case 5:
      out["apiVersion"] = f.bytes;
      break;
    case 6:
      out["controller"] = f.varint != 0;
      break;
    case 7:
      out["blockOwnerDeletion"] = f.varint != 0;
      break;
    default:
      break;
    }
    return true;
  });
}

bool objectMeta(const std::string& data, json& m) {
  m = json::object();
  return parse(data, [&](const Field& f) {
    switch (f.number) {
    case 1:
      if (!f.bytes.empty()) {
        m["name"] = f.bytes;
      }
      break;
    case 2:
      if (!f.bytes.empty()) {
        m["generateName"] = f.bytes;
      }
      break;
    case 3:
      if (!f.bytes.empty()) {
        m["namespace"] = f.bytes;
      }
      break;
    case 5:
      if (!f.bytes.empty()) {
        m["uid"] = f.bytes;
      }
      break;
    case 6:
      if (!f.bytes.empty()) {
        m["resourceVersion"] = f.bytes;
      }
      break;
    case 11:
      return mapEntry(f.bytes, m["labels"], false);
    case 12:
      return mapEntry(f.bytes, m["annotations"], false);
    case 13: {
      json ref;
      if (!ownerReference(f.bytes, ref)) {
        return false;
      }
      m["ownerReferences"].push_back(ref);
      break;
    }
    case 14:
      m["finalizers"].push_back(f.bytes);
      break;
    default:
      break;  // timestamps, managedFields: server-owned or optional
    }
    return true;
  });
}

// authorization.k8s.io/v1 ResourceAttributes / NonResourceAttributes.
bool accessAttributes(const std::string& data, bool resource, json& out) {
  static const char* kResource[] = {"",        "namespace", "verb",        "group",
                                    "version", "resource",  "subresource", "name"};
  static const char* kNonResource[] = {"", "path", "verb"};
  out = json::object();
  return parse(data, [&](const Field& f) {
    if (resource && f.number >= 1 && f.number <= 7) {
      out[kResource[f.number]] = f.bytes;
    } else if (!resource && f.number >= 1 && f.number <= 2) {
      out[kNonResource[f.number]] = f.bytes;
    }
    return true;  // field/label selectors (8, 9) are not used by the dev server's authorizer
  });
}

// Self/SubjectAccessReviewSpec: attributes 1 and 2; SubjectAccessReviewSpec adds user 3,
// groups 4, extra 5 (map<string, ExtraValue{repeated string items = 1}>), uid 6.
bool accessReviewSpec(const std::string& data, json& spec) {
  spec = json::object();
  return parse(data, [&](const Field& f) {
    switch (f.number) {
    case 1:
      return accessAttributes(f.bytes, true, spec["resourceAttributes"]);
    case 2:
      return accessAttributes(f.bytes, false, spec["nonResourceAttributes"]);
    case 3:
      spec["user"] = f.bytes;
      return true;
    case 4:
      spec["groups"].push_back(f.bytes);
      return true;
    case 5: {
      std::string key;
      json items = json::array();
      bool ok = parse(f.bytes, [&](const Field& e) {
        if (e.number == 1) {
          key = e.bytes;
        } else if (e.number == 2) {
          return parse(e.bytes, [&](const Field& v) {
            if (v.number == 1) {
              items.push_back(v.bytes);
            }
            return true;
          });
        }
        return true;
      });
      spec["extra"][key] = items;
      return ok;
    }
    case 6:
      spec["uid"] = f.bytes;
      return true;
    default:
      return true;
    }
  });
}

core::StatusOr<json> decodeObject(const std::string& api_version, const std::string& kind,
                                  const std::string& raw) {
  json obj = {{"apiVersion", api_version}, {"kind", kind}};
  bool ok = true;
  if (api_version == "v1" && kind == "ConfigMap") {
    ok = parse(raw, [&](const Field& f) {
      switch (f.number) {
      case 1:
        return objectMeta(f.bytes, obj["metadata"]);
      case 2:
        return mapEntry(f.bytes, obj["data"], false);
      case 3:
        return mapEntry(f.bytes, obj["binaryData"], true);
      case 4:
        obj["immutable"] = f.varint != 0;
        return true;
      default:
        return true;
      }
    });
  } else if (api_version == "v1" && kind == "Secret") {
    ok = parse(raw, [&](const Field& f) {
      switch (f.number) {
      case 1:
        return objectMeta(f.bytes, obj["metadata"]);
      case 2:
        return mapEntry(f.bytes, obj["data"], true);
      case 3:
        obj["type"] = f.bytes;
        return true;
      case 4:
        return mapEntry(f.bytes, obj["stringData"], false);
      case 5:
        obj["immutable"] = f.varint != 0;
        return true;
      default:
        return true;
      }
    });
  } else if (api_version == "v1" && kind == "Namespace") {
    ok = parse(raw, [&](const Field& f) {
      if (f.number == 1) {
        return objectMeta(f.bytes, obj["metadata"]);
      }
      if (f.number == 2) {
        obj["spec"] = json::object();
        return parse(f.bytes, [&](const Field& s) {
          if (s.number == 1) {
            obj["spec"]["finalizers"].push_back(s.bytes);
          }
          return true;
        });
      }
      return true;
    });
  } else if (api_version == "authorization.k8s.io/v1" &&
             (kind == "SelfSubjectAccessReview" || kind == "SubjectAccessReview")) {
    ok = parse(raw, [&](const Field& f) {
      if (f.number == 1) {
        return objectMeta(f.bytes, obj["metadata"]);
      }
      if (f.number == 2) {
        return accessReviewSpec(f.bytes, obj["spec"]);
      }
      return true;
    });
  } else if (api_version == "authorization.k8s.io/v1" && kind == "SelfSubjectRulesReview") {
    ok = parse(raw, [&](const Field& f) {
      if (f.number == 2) {  // SelfSubjectRulesReviewSpec: its one field, the namespace
        obj["spec"] = json::object();
        return parse(f.bytes, [&](const Field& s) {
          if (s.wire == 2) {
            obj["spec"]["namespace"] = s.bytes;
          }
          return true;
        });
      }
      return true;
    });
  } else if (api_version == "authentication.k8s.io/v1" && kind == "TokenRequest") {
    // TokenRequestSpec: audiences 1, boundObjectRef 3 (ignored: tokens are bound to the
    // ServiceAccount only), expirationSeconds 4.
    ok = parse(raw, [&](const Field& f) {
      if (f.number == 1) {
        return objectMeta(f.bytes, obj["metadata"]);
      }
      if (f.number == 2) {
        obj["spec"] = json::object();
        return parse(f.bytes, [&](const Field& s) {
          if (s.number == 1) {
            obj["spec"]["audiences"].push_back(s.bytes);
          } else if (s.number == 4) {
            obj["spec"]["expirationSeconds"] = static_cast<int64_t>(s.varint);
          }
          return true;
        });
      }
      return true;
    });
  } else {
    return core::failedPreconditionError("protobuf is not supported for " + api_version + " " +
                                         kind);
  }
  if (!ok) {
    return core::invalidArgumentError("malformed protobuf " + kind);
  }
  return obj;
}

}  // namespace

core::StatusOr<json> decodeKubernetesProtobuf(const std::string& body) {
  static const std::string kMagic("k8s\0", 4);
  if (body.compare(0, kMagic.size(), kMagic) != 0) {
    return core::invalidArgumentError("missing k8s protobuf envelope");
  }
  std::string unknown = body.substr(kMagic.size());
  std::string api_version;
  std::string kind;
  std::string raw;
  bool ok = parse(unknown, [&](const Field& f) {
    if (f.number == 1) {
      return parse(f.bytes, [&](const Field& t) {
        if (t.number == 1) {
          api_version = t.bytes;
        } else if (t.number == 2) {
          kind = t.bytes;
        }
        return true;
      });
    }
    if (f.number == 2) {
      raw = f.bytes;
    }
    return true;
  });
  if (!ok) {
    return core::invalidArgumentError("malformed protobuf envelope");
  }
  return decodeObject(api_version, kind, raw);
}

}  // namespace novacron::devapi
