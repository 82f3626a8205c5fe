// UnknownFields: JSON object members this version of the API does not know, kept verbatim.
//
// Every API struct carries one. A component that reads an object and writes it back (update,
// finalizer removal, status write) must not drop fields set by a newer version or by another
// tool, so the codec stores each unknown member here on decode and re-emits it on encode.
// Values are stored as compact JSON text so this header stays free of nlohmann.
// Thread-safety: a plain value.
#pragma once

#include <map>
#include <string>

namespace novacron::api {

struct UnknownFields {
  // member name -> compact JSON text of its value (as produced by nlohmann::json::dump()).
  std::map<std::string, std::string> fields;

  bool empty() const { return fields.empty(); }
  bool operator==(const UnknownFields&) const = default;
};

}  // namespace novacron::api
