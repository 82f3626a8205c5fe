// UnknownFields: JSON object members this version of the API does not know, kept verbatim.
//
// Every API struct carries one. A component that reads an object and writes it back (update,
// finalizer removal, status write) must not drop fields set by a newer version or by another
// tool, so the codec stores each unknown member here on decode and re-emits it on encode.
// Values are stored as compact JSON text so this header stays free of nlohmann.
//
// Almost every instance is empty, and a VM holds about twenty of them (one per nested struct), so
// the members live behind one pointer that is null when there are none: 8 bytes in the struct
// instead of an empty std::map's 48. That is most of what the controller's VM cache saved
// (issue 15, B4: bytes per cached VM against its JSON text).
// Thread-safety: a plain value (copies are deep).
#pragma once

#include <map>
#include <memory>
#include <string>

namespace novacron::api {

class UnknownFields {
public:
  // member name -> compact JSON text of its value (as produced by nlohmann::json::dump()).
  using Map = std::map<std::string, std::string>;

  UnknownFields() = default;
  UnknownFields(const UnknownFields& other)
      : fields_(other.fields_ ? std::make_unique<Map>(*other.fields_) : nullptr) {}
  UnknownFields(UnknownFields&&) noexcept = default;
  UnknownFields& operator=(const UnknownFields& other) {
    if (this != &other) {
      fields_ = other.fields_ ? std::make_unique<Map>(*other.fields_) : nullptr;
    }
    return *this;
  }
  UnknownFields& operator=(UnknownFields&&) noexcept = default;
  ~UnknownFields() = default;

  bool empty() const { return !fields_ || fields_->empty(); }
  // The members (an empty map when there are none).
  const Map& fields() const {
    static const Map kNone;
    return fields_ ? *fields_ : kNone;
  }
  // Adds a member unless one of that name is already kept.
  void emplace(std::string name, std::string json_text) {
    if (!fields_) {
      fields_ = std::make_unique<Map>();
    }
    fields_->emplace(std::move(name), std::move(json_text));
  }

  friend bool operator==(const UnknownFields& a, const UnknownFields& b) {
    return a.fields() == b.fields();
  }

private:
  std::unique_ptr<Map> fields_;  // null when empty
};

}  // namespace novacron::api
