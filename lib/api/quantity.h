// Kubernetes resource quantities ("512Mi", "1G", "1.5Gi", "2e9", "100").
//
// Grammar (k8s.io/apimachinery resource.Quantity):
//   quantity ::= [+-] digits [ "." digits ] [ suffix ]   (digits may be empty on one side of ".")
//   suffix   ::= Ki | Mi | Gi | Ti | Pi | Ei            (binary, powers of 1024)
//              | m | k | M | G | T | P | E             (decimal; "m" is 1/1000)
//              | e<signed int> | E<signed int>         (decimal exponent)
// Values are whole units (bytes for memory): a fractional result is rounded up like
// resource.Quantity.Value(). Anything that does not match, or does not fit in int64, is rejected.
//
// A parsed Quantity remembers the text it came from and re-encodes it verbatim, so reading an
// object and writing it back never rewrites "1024Mi" as "1Gi" (which would bump the spec's
// generation). Equality compares the values (1024Mi == 1Gi). Only a text other than the value's
// canonical binary-SI text ("2Gi", "10Gi": what most quantities are) is stored, on the heap: a
// Quantity is 16 bytes instead of 40, and caches hold several per VM (issue 15, B4).
// Thread-safety: plain values and pure functions.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/core/heap_optional.h"
#include "lib/core/statusor.h"

namespace novacron::api {

enum class QuantityFormat {
  kBinarySI,   // 1073741824 -> "1Gi"; values that are not a multiple of 1024 print as plain numbers
  kDecimalSI,  // 1000000000 -> "1G"
};

// Parses to whole units; InvalidArgument on garbage or overflow.
core::StatusOr<int64_t> parseQuantity(std::string_view text);
// Canonical text: the largest suffix that divides the value exactly ("1Gi", "1536Mi", "100").
std::string formatQuantity(int64_t value, QuantityFormat format = QuantityFormat::kBinarySI);

class Quantity {
public:
  // Zero ("0").
  Quantity() = default;
  // From a value, with canonical text.
  explicit Quantity(int64_t value, QuantityFormat format = QuantityFormat::kBinarySI);

  static core::StatusOr<Quantity> parse(std::string_view text);
  static Quantity fromBytes(int64_t bytes) { return Quantity(bytes, QuantityFormat::kBinarySI); }

  int64_t value() const { return value_; }
  // The text this quantity was parsed from, or its canonical text if built from a value.
  std::string toString() const;

  friend bool operator==(const Quantity& a, const Quantity& b) { return a.value_ == b.value_; }
  friend std::strong_ordering operator<=>(const Quantity& a, const Quantity& b) {
    return a.value_ <=> b.value_;
  }

private:
  // Sets text_ only when `text` is not formatQuantity(value_) (binary SI).
  void keepText(std::string_view text);

  int64_t value_ = 0;
  core::HeapOptional<std::string> text_;  // unset: formatQuantity(value_)
};

}  // namespace novacron::api
