#include "lib/api/quantity.h"

#include <cstddef>
#include <limits>
#include <string>

namespace novacron::api {
namespace {

// Long enough for any quantity a person writes; bounds the digit arithmetic below.
constexpr std::size_t kMaxQuantityLength = 128;
// |decimal exponent| beyond this is overflow (or rounds to +-1 for a tiny non-zero value).
constexpr int kMaxExponent = 1000;

core::Status invalid(std::string_view text, std::string_view why) {
  return core::invalidArgumentError("quantity \"" + std::string(text) + "\": " + std::string(why));
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// Multiplies a decimal digit string (most significant first) by a small factor.
void multiplyDigits(std::string& digits, unsigned factor) {
  unsigned carry = 0;
  for (std::size_t i = digits.size(); i-- > 0;) {
    const unsigned v = static_cast<unsigned>(digits[i] - '0') * factor + carry;
    digits[i] = static_cast<char>('0' + v % 10);
    carry = v / 10;
  }
  while (carry > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + carry % 10));
    carry /= 10;
  }
}

}  // namespace

core::StatusOr<int64_t> parseQuantity(std::string_view text) {
  if (text.empty()) {
    return invalid(text, "empty");
  }
  if (text.size() > kMaxQuantityLength) {
    return core::invalidArgumentError("quantity is longer than " +
                                      std::to_string(kMaxQuantityLength) + " characters");
  }
  std::size_t pos = 0;
  bool negative = false;
  if (text[pos] == '+' || text[pos] == '-') {
    negative = text[pos] == '-';
    ++pos;
  }
  std::string digits;  // integer and fraction digits, concatenated
  std::size_t fraction_digits = 0;
  bool seen_dot = false;
  bool any_digit = false;
  for (; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (isDigit(c)) {
      digits.push_back(c);
      any_digit = true;
      if (seen_dot) {
        ++fraction_digits;
      }
    } else if (c == '.' && !seen_dot) {
      seen_dot = true;
    } else {
      break;
    }
  }
  if (!any_digit) {
    return invalid(text, "must start with a number");
  }

  // Suffix.
  const std::string_view suffix = text.substr(pos);
  int decimal_exponent = 0;  // value *= 10^decimal_exponent
  int binary_power = 0;      // value *= 1024^binary_power
  if (suffix.empty()) {
  } else if (suffix.size() == 2 && suffix[1] == 'i') {
    static constexpr std::string_view kBinary = "KMGTPE";
    const auto index = kBinary.find(suffix[0]);
    if (index == std::string_view::npos) {
      return invalid(text, "unknown suffix \"" + std::string(suffix) + "\"");
    }
    binary_power = static_cast<int>(index) + 1;
  } else if (suffix.size() == 1 &&
             std::string_view("numkMGTPE").find(suffix[0]) != std::string_view::npos) {
    switch (suffix[0]) {
    case 'n':
      decimal_exponent = -9;
      break;
    case 'u':
      decimal_exponent = -6;
      break;
    case 'm':
      decimal_exponent = -3;
      break;
    case 'k':
      decimal_exponent = 3;
      break;
    case 'M':
      decimal_exponent = 6;
      break;
    case 'G':
      decimal_exponent = 9;
      break;
    case 'T':
      decimal_exponent = 12;
      break;
    case 'P':
      decimal_exponent = 15;
      break;
    default:  // 'E'
      decimal_exponent = 18;
      break;
    }
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    std::size_t p = 1;
    bool exp_negative = false;
    if (p < suffix.size() && (suffix[p] == '+' || suffix[p] == '-')) {
      exp_negative = suffix[p] == '-';
      ++p;
    }
    if (p == suffix.size()) {
      return invalid(text, "exponent has no digits");
    }
    long long exponent = 0;
    for (; p < suffix.size(); ++p) {
      if (!isDigit(suffix[p])) {
        return invalid(text, "unknown suffix \"" + std::string(suffix) + "\"");
      }
      exponent = exponent * 10 + (suffix[p] - '0');
      if (exponent > kMaxExponent) {
        exponent = kMaxExponent + 1;  // saturate; handled below
      }
    }
    decimal_exponent = static_cast<int>(exp_negative ? -exponent : exponent);
  } else {
    return invalid(text, "unknown suffix \"" + std::string(suffix) + "\"");
  }

  // Normalise: value = digits * 10^scale * 1024^binary_power.
  std::size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) {
    return int64_t{0};
  }
  digits.erase(0, first);
  long long scale =
      static_cast<long long>(decimal_exponent) - static_cast<long long>(fraction_digits);
  while (digits.size() > 1 && digits.back() == '0') {
    digits.pop_back();
    ++scale;
  }
  if (scale > kMaxExponent ||
      static_cast<long long>(digits.size()) + scale > 19 + 1) {  // >= 10^19 before 1024^k
    return invalid(text, "out of range for a 64-bit integer");
  }
  for (int i = 0; i < binary_power; ++i) {
    multiplyDigits(digits, 1024);
  }
  if (scale > 0) {
    digits.append(static_cast<std::size_t>(scale), '0');
    scale = 0;
  }
  // Integer part and whether anything non-zero was cut off (round away from zero).
  std::string integer_part = digits;
  bool has_remainder = false;
  if (scale < 0) {
    const auto cut = static_cast<std::size_t>(-scale);
    if (cut >= digits.size()) {
      integer_part.clear();
      has_remainder = true;  // digits is non-zero
    } else {
      integer_part = digits.substr(0, digits.size() - cut);
      has_remainder = digits.find_first_not_of('0', digits.size() - cut) != std::string::npos;
    }
  }
  // Accumulate as a negative number so that INT64_MIN is representable.
  int64_t value = 0;
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  for (char c : integer_part) {
    const int digit = c - '0';
    if (value < kMin / 10 || value * 10 < kMin + digit) {
      return invalid(text, "out of range for a 64-bit integer");
    }
    value = value * 10 - digit;
  }
  if (has_remainder) {
    if (value == kMin) {
      return invalid(text, "out of range for a 64-bit integer");
    }
    value -= 1;
  }
  if (!negative) {
    if (value == kMin) {
      return invalid(text, "out of range for a 64-bit integer");
    }
    value = -value;
  }
  return value;
}

std::string formatQuantity(int64_t value, QuantityFormat format) {
  if (value == 0) {
    return "0";
  }
  const bool negative = value < 0;
  // Work on the magnitude as unsigned so INT64_MIN has no overflow.
  uint64_t magnitude =
      negative ? uint64_t{0} - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  std::string_view suffix;
  if (format == QuantityFormat::kBinarySI) {
    static constexpr std::string_view kSuffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int index = 0;
    while (index < 6 && magnitude % 1024 == 0) {
      magnitude /= 1024;
      ++index;
    }
    suffix = kSuffixes[index];
  } else {
    static constexpr std::string_view kSuffixes[] = {"", "k", "M", "G", "T", "P", "E"};
    int index = 0;
    while (index < 6 && magnitude % 1000 == 0) {
      magnitude /= 1000;
      ++index;
    }
    suffix = kSuffixes[index];
  }
  std::string out = negative ? "-" : "";
  out += std::to_string(magnitude);
  out += suffix;
  return out;
}

Quantity::Quantity(int64_t value, QuantityFormat format) : value_(value) {
  if (format != QuantityFormat::kBinarySI) {
    keepText(formatQuantity(value, format));
  }
}

std::string Quantity::toString() const {
  return text_ ? *text_ : formatQuantity(value_);
}

void Quantity::keepText(std::string_view text) {
  if (text != formatQuantity(value_)) {
    text_ = std::string(text);
  } else {
    text_.reset();
  }
}

core::StatusOr<Quantity> Quantity::parse(std::string_view text) {
  auto value = parseQuantity(text);
  if (!value.isOk()) {
    return value.status();
  }
  Quantity quantity;
  quantity.value_ = *value;
  quantity.keepText(text);
  return quantity;
}

}  // namespace novacron::api
