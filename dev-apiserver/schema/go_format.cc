#include "dev-apiserver/schema/go_format.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

namespace novacron::devapi::schema {
namespace {

// Decodes one UTF-8 code point at s[i]; returns -1 for an invalid sequence (advances by 1).
int decodeUtf8(const std::string& s, size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  int len = 0;
  int cp = 0;
  if (c < 0x80) {
    ++i;
    return c;
  }
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    ++i;
    return -1;
  }
  if (i + len > s.size()) {
    ++i;
    return -1;
  }
  for (int k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) {
      ++i;
      return -1;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += len;
  return cp;
}

std::string hexEscape(const char* prefix, unsigned value, int width) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%s%0*x", prefix, width, value);
  return buf;
}

}  // namespace

std::string goQuote(const std::string& s) {
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    const int cp = decodeUtf8(s, i);
    if (cp < 0) {
      out += hexEscape("\\x", static_cast<unsigned char>(s[start]), 2);
      continue;
    }
    switch (cp) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\a':
      out += "\\a";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\v':
      out += "\\v";
      break;
    default:
      if (cp < 0x20 || cp == 0x7F) {
        out += hexEscape("\\x", static_cast<unsigned>(cp), 2);
      } else {
        out.append(s, start, i - start);
      }
    }
  }
  out += '"';
  return out;
}

std::string goFloat(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  if (value == 0) {
    return std::signbit(value) ? "-0" : "0";
  }
  // Shortest round-trip digits in scientific form, e.g. "1.2345e+06".
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const bool negative = sci[0] == '-';
  if (negative) {
    sci.erase(0, 1);
  }
  const size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  const int exp = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') {
      digits += c;
    }
  }
  std::string out;
  if (exp < -4 || exp >= 6) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) {
      out += "." + digits.substr(1);
    }
    char ebuf[16];
    std::snprintf(ebuf, sizeof(ebuf), "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out += ebuf;
  } else if (exp < 0) {
    out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  } else {
    const auto int_len = static_cast<size_t>(exp + 1);
    if (digits.size() <= int_len) {
      out = digits + std::string(int_len - digits.size(), '0');
    } else {
      out = digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
  }
  return negative ? "-" + out : out;
}

std::string goNumber(const nlohmann::json& number) {
  if (number.is_number_integer()) {
    return number.dump();
  }
  return goFloat(number.get<double>());
}

std::string goSyntax(const nlohmann::json& value) {
  switch (value.type()) {
  case nlohmann::json::value_t::null:
    return "interface {}(nil)";
  case nlohmann::json::value_t::string:
    return goQuote(value.get<std::string>());
  case nlohmann::json::value_t::boolean:
    return value.get<bool>() ? "true" : "false";
  case nlohmann::json::value_t::number_integer:
  case nlohmann::json::value_t::number_unsigned:
    return value.dump();
  case nlohmann::json::value_t::number_float:
    return goFloat(value.get<double>());
  case nlohmann::json::value_t::object: {
    std::string out = "map[string]interface {}{";
    bool first = true;
    for (const auto& [k, v] : value.items()) {
      if (!first) {
        out += ", ";
      }
      first = false;
      out += goQuote(k) + ":" + goSyntax(v);
    }
    return out + "}";
  }
  case nlohmann::json::value_t::array: {
    std::string out = "[]interface {}{";
    bool first = true;
    for (const auto& v : value) {
      if (!first) {
        out += ", ";
      }
      first = false;
      out += goSyntax(v);
    }
    return out + "}";
  }
  default:
    return value.dump();
  }
}

std::string goValue(const nlohmann::json& value) {
  switch (value.type()) {
  case nlohmann::json::value_t::null:
    return "\"null\"";
  case nlohmann::json::value_t::string:
    return goQuote(value.get<std::string>());
  case nlohmann::json::value_t::boolean:
    return value.get<bool>() ? "true" : "false";
  case nlohmann::json::value_t::number_integer:
  case nlohmann::json::value_t::number_unsigned:
  case nlohmann::json::value_t::number_float:
    return goNumber(value);
  default:
    return goSyntax(value);
  }
}

}  // namespace novacron::devapi::schema
