#include "dev-apiserver/schema/formats.h"

#include <map>
#include <regex>

#include <arpa/inet.h>

namespace novacron::devapi::schema {
namespace {

bool ipv4(const std::string& v) {
  in_addr a{};
  return inet_pton(AF_INET, v.c_str(), &a) == 1;
}

bool ipv6(const std::string& v) {
  in6_addr a{};
  return inet_pton(AF_INET6, v.c_str(), &a) == 1;
}

bool cidr(const std::string& v) {
  const auto slash = v.find('/');
  if (slash == std::string::npos || slash + 1 >= v.size()) {
    return false;
  }
  const std::string addr = v.substr(0, slash);
  const std::string bits = v.substr(slash + 1);
  if (bits.size() > 3 || bits.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const int n = std::stoi(bits);
  if (ipv4(addr)) {
    return n <= 32;
  }
  return ipv6(addr) && n <= 128;
}

const std::map<std::string, std::regex>& regexFormats() {
  static const std::map<std::string, std::regex> kFormats = {
      {"bsonobjectid", std::regex("^[0-9a-fA-F]{24}$")},
      {"email", std::regex(R"(^[^@\s]+@[^@\s]+$)")},
      {"hostname",
       std::regex(
           R"(^[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*\.?$)")},
      {"mac", std::regex("^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")},
      {"uuid",
       std::regex(
           "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")},
      {"uuid3",
       std::regex(
           "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?3[0-9a-fA-F]{3}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")},
      {"uuid4", std::regex("^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?4[0-9a-fA-F]{3}-?[89abAB][0-9a-fA-F]{"
                           "3}-?[0-9a-fA-F]{12}$")},
      {"uuid5", std::regex("^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?5[0-9a-fA-F]{3}-?[89abAB][0-9a-fA-F]{"
                           "3}-?[0-9a-fA-F]{12}$")},
      {"hexcolor", std::regex("^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")},
      {"rgbcolor", std::regex(R"(^rgb\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\)$)")},
      {"byte", std::regex("^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")},
      {"date", std::regex(R"(^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$)")},
      {"date-time",
       std::regex(
           R"(^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):?[0-5]\d)$)")},
      {"duration",
       std::regex(
           R"(^(\d+(\.\d+)?\s*(ns|us|µs|ms|s|m|h|d|w|second|seconds|minute|minutes|hour|hours|day|days|week|weeks)\s*)+$)")},
      {"isbn10", std::regex(R"(^(\d[- ]?){9}[\dXx]$)")},
      {"isbn13", std::regex(R"(^(\d[- ]?){12}\d$)")},
      {"isbn", std::regex(R"(^((\d[- ]?){9}[\dXx]|(\d[- ]?){12}\d)$)")},
      {"ssn", std::regex(R"(^\d{3}[- ]?\d{2}[- ]?\d{4}$)")},
      {"creditcard", std::regex(R"(^(\d[- ]?){12,18}\d$)")},
  };
  return kFormats;
}

}  // namespace

bool isKnownFormat(const std::string& format) {
  return format == "ipv4" || format == "ipv6" || format == "cidr" || format == "uri" ||
         format == "password" || format == "datetime" || regexFormats().count(format) > 0;
}

bool matchesFormat(const std::string& format, const std::string& value) {
  if (format == "ipv4") {
    return ipv4(value);
  }
  if (format == "ipv6") {
    return ipv6(value);
  }
  if (format == "cidr") {
    return cidr(value);
  }
  if (format == "uri") {
    return value.find(':') != std::string::npos || value.empty() == false;
  }
  if (format == "password") {
    return true;
  }
  const std::string key = format == "datetime" ? "date-time" : format;
  auto it = regexFormats().find(key);
  if (it == regexFormats().end()) {
    return true;
  }
  return std::regex_match(value, it->second);
}

}  // namespace novacron::devapi::schema
