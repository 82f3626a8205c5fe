#include "dev-apiserver/schema/pruning.h"

#include <nlohmann/json.hpp>

#include "dev-apiserver/schema/schema_node.h"

namespace novacron::devapi::schema {
namespace {

using json = nlohmann::json;

class Pruner {
public:
  explicit Pruner(std::vector<std::string>* pruned) : pruned_(pruned) {}

  // `embedded`: apiVersion/kind/metadata of a resource root (or x-kubernetes-embedded-resource)
  // are left to the ObjectMeta/TypeMeta handling.
  void prune(json& x, const SchemaNode* s, const std::string& path, bool resource_root) {
    if (s != nullptr && s->preserve_unknown_fields) {
      skipPrune(x, s, path, resource_root || s->embedded_resource);
      return;
    }
    const bool embedded = resource_root || (s != nullptr && s->embedded_resource);
    if (x.is_object()) {
      for (auto it = x.begin(); it != x.end();) {
        const std::string& key = it.key();
        const std::string child_path = path.empty() ? key : path + "." + key;
        if (embedded && isMetaField(key, *it)) {
          ++it;
          continue;
        }
        const SchemaNode* prop = s != nullptr ? s->property(key) : nullptr;
        if (prop != nullptr) {
          prune(it.value(), prop, child_path, false);
          ++it;
        } else if (s != nullptr && s->additional_properties) {
          prune(it.value(), s->additional_properties.get(), child_path, false);
          ++it;
        } else if (s != nullptr && s->additional_schemaless) {
          ++it;
        } else {
          record(child_path);
          it = x.erase(it);
        }
      }
    } else if (x.is_array()) {
      const SchemaNode* items = s != nullptr ? s->items.get() : nullptr;
      for (size_t i = 0; i < x.size(); ++i) {
        prune(x[i], items, path + "[" + std::to_string(i) + "]", false);
      }
    }
  }

private:
  // apiVersion and kind (as strings) are kept; metadata is always kept: ObjectMeta is the
  // server's business (kube coerces it separately), and the schema may only restrict name and
  // generateName there.
  static bool isMetaField(const std::string& key, const json& v) {
    if (key == "apiVersion" || key == "kind") {
      return v.is_string();
    }
    return key == "metadata";
  }

  void skipPrune(json& x, const SchemaNode* s, const std::string& path, bool embedded) {
    if (x.is_object()) {
      for (auto& [key, child] : x.items()) {
        if (embedded && (key == "apiVersion" || key == "kind" || key == "metadata")) {
          continue;
        }
        const std::string child_path = path.empty() ? key : path + "." + key;
        if (const SchemaNode* prop = s->property(key)) {
          prune(child, prop, child_path, false);
        } else if (s->additional_properties) {
          prune(child, s->additional_properties.get(), child_path, false);
        }
      }
    } else if (x.is_array() && s->items) {
      for (size_t i = 0; i < x.size(); ++i) {
        const std::string child_path = path + "[" + std::to_string(i) + "]";
        if (s->items->preserve_unknown_fields) {
          skipPrune(x[i], s->items.get(), child_path, s->items->embedded_resource);
        } else {
          prune(x[i], s->items.get(), child_path, false);
        }
      }
    }
  }

  void record(const std::string& path) {
    if (pruned_ != nullptr) {
      pruned_->push_back(path);
    }
  }

  std::vector<std::string>* pruned_;
};

}  // namespace

void prune(const StructuralSchema& schema, json& obj) {
  Pruner(nullptr).prune(obj, &schema.root(), "", true);
}

std::vector<std::string> pruneAndReport(const StructuralSchema& schema, json& obj) {
  std::vector<std::string> pruned;
  Pruner(&pruned).prune(obj, &schema.root(), "", true);
  return pruned;
}

}  // namespace novacron::devapi::schema
