#include "dev-apiserver/schema/defaulting.h"

#include <nlohmann/json.hpp>

#include "dev-apiserver/schema/schema_node.h"

namespace novacron::devapi::schema {
namespace {

using json = nlohmann::json;

bool isNonNullableNull(const json& v, const SchemaNode* s) {
  return v.is_null() && s != nullptr && !s->nullable;
}

void defaultNode(json& x, const SchemaNode* s) {
  if (s == nullptr) {
    return;
  }
  if (x.is_object()) {
    for (const auto& [key, prop] : s->properties) {
      if (!prop->default_value) {
        continue;
      }
      auto it = x.find(key);
      if (it == x.end() || isNonNullableNull(*it, prop.get())) {
        x[key] = *prop->default_value;
      }
    }
    for (auto& [key, child] : x.items()) {
      if (const SchemaNode* prop = s->property(key)) {
        defaultNode(child, prop);
      } else if (s->additional_properties) {
        const SchemaNode* ap = s->additional_properties.get();
        if (isNonNullableNull(child, ap) && ap->default_value) {
          child = *ap->default_value;
        }
        defaultNode(child, ap);
      }
    }
  } else if (x.is_array()) {
    const SchemaNode* items = s->items.get();
    for (auto& item : x) {
      if (isNonNullableNull(item, items) && items->default_value) {
        item = *items->default_value;
      }
      defaultNode(item, items);
    }
  }
}

}  // namespace

void applyDefaults(const StructuralSchema& schema, json& obj) {
  defaultNode(obj, &schema.root());
}

}  // namespace novacron::devapi::schema
