// Selector: Kubernetes label and field selectors ("app=web,tier!=db,env in (a,b),!legacy"), parsed
// once and matched against objects or against a map of values. One parser for the whole tree: the
// fake client, client-side filtering and the dev API server all use it.
//
// Label selectors (parse): k=v, k==v, k!=v, k in (v1,v2), k notin (v1,v2), k (exists), !k (does
// not exist); keys and values are checked like kube's (a value is at most 63 characters of
// [A-Za-z0-9-_.], beginning and ending with an alphanumeric, or empty).
// Field selectors (parseFields): dotted paths (metadata.name=x) with =, == and != only; values are
// taken as written. Which fields a resource supports is the server's business, not the parser's.
// Thread-safety: immutable after parse; matching is const.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/core/statusor.h"
#include "lib/kube/client.h"

namespace novacron::kube {

class Selector {
public:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  struct Requirement {
    std::string key;
    Op op = Op::kEquals;
    std::vector<std::string> values;
  };

  // The empty selector matches everything.
  Selector() = default;
  // A label selector. InvalidArgument naming the bad term.
  static core::StatusOr<Selector> parse(std::string_view text);
  // A field selector. InvalidArgument naming the bad term.
  static core::StatusOr<Selector> parseFields(std::string_view text);

  bool empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }

  // `lookup(key)` returns the value for a key, or nullopt when absent.
  bool matches(const std::function<std::optional<std::string>(const std::string&)>& lookup) const;
  // Matches a map of key -> value (an object's labels, or its field path -> value set).
  bool matches(const std::map<std::string, std::string>& values) const;
  // Matches an object's metadata.labels.
  bool matchesLabels(const Json& object) const;
  // Matches dotted field paths of an object ("metadata.name", "spec.nodeName"); scalars are
  // compared in their JSON text form without quotes.
  bool matchesFields(const Json& object) const;

private:
  std::vector<Requirement> requirements_;
};

}  // namespace novacron::kube
