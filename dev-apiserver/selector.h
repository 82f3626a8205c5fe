// Kubernetes label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors
// (=, ==, != over a fixed set of supported fields per resource), parsed from query strings.
//
// Thread-safety: parsed selectors are immutable values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lib/core/statusor.h"

namespace novacron::devapi {

struct LabelRequirement {
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  std::string key;
  Op op = Op::kEquals;
  std::vector<std::string> values;
};

class LabelSelector {
public:
  // Parses kube's text form, e.g. "app=web,tier!=db,env in (a,b),!legacy". Empty matches all.
  static core::StatusOr<LabelSelector> parse(const std::string& text);
  bool matches(const std::map<std::string, std::string>& labels) const;
  bool empty() const { return requirements_.empty(); }
  const std::vector<LabelRequirement>& requirements() const { return requirements_; }

private:
  std::vector<LabelRequirement> requirements_;
};

struct FieldRequirement {
  std::string field;
  bool negate = false;
  std::string value;
};

class FieldSelector {
public:
  // `supported` lists the field paths this resource allows (e.g. "metadata.name").
  // Unsupported fields yield InvalidArgument "field label not supported: X".
  static core::StatusOr<FieldSelector> parse(const std::string& text,
                                             const std::vector<std::string>& supported);
  // `fields` maps field path -> value of the object.
  bool matches(const std::map<std::string, std::string>& fields) const;
  bool empty() const { return requirements_.empty(); }
  const std::vector<FieldRequirement>& requirements() const { return requirements_; }

private:
  std::vector<FieldRequirement> requirements_;
};

}  // namespace novacron::devapi
