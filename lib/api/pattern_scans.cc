#include "lib/api/pattern_scans.h"

#include <algorithm>

namespace novacron::api::scans {
namespace {

bool lower(char c) {
  return c >= 'a' && c <= 'z';
}
bool upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool digit(char c) {
  return c >= '0' && c <= '9';
}
bool alpha(char c) {
  return lower(c) || upper(c);
}
bool alnum(char c) {
  return alpha(c) || digit(c);
}
bool hex(char c) {
  return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool control(char c) {
  return (c >= 0 && c <= 0x1f) || c == 0x7f;
}

template <typename Pred>
bool all(std::string_view s, Pred pred) {
  return std::all_of(s.begin(), s.end(), pred);
}

// `n` hexadecimal digits.
bool hexRun(std::string_view s, std::size_t n) {
  return s.size() == n && all(s, hex);
}

}  // namespace

bool dns1123Label(std::string_view s) {
  auto ok = [](char c) { return lower(c) || digit(c); };
  return !s.empty() && ok(s.front()) && ok(s.back()) &&
         all(s, [&](char c) { return ok(c) || c == '-'; });
}

bool dns1123Subdomain(std::string_view s) {
  while (true) {
    const auto dot = s.find('.');
    if (!dns1123Label(s.substr(0, dot))) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    s.remove_prefix(dot + 1);
  }
}

bool qualifiedNamePart(std::string_view s) {
  return !s.empty() && alnum(s.front()) && alnum(s.back()) &&
         all(s, [](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool labelValue(std::string_view s) {
  return s.empty() || qualifiedNamePart(s);
}

bool identifier(std::string_view s) {
  return !s.empty() && alnum(s.front()) &&
         all(s, [](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

bool imageUrl(std::string_view s) {
  constexpr std::string_view kImage = "image:";
  if (s.substr(0, kImage.size()) == kImage) {
    return dns1123Subdomain(s.substr(kImage.size()));
  }
  std::string_view rest;
  if (s.substr(0, 7) == "http://") {
    rest = s.substr(7);
  } else if (s.substr(0, 8) == "https://") {
    rest = s.substr(8);
  } else {
    return false;
  }
  constexpr std::string_view kExcluded = "<>\"'\\{}|^`";
  return !rest.empty() && all(rest, [&](char c) {
    return !(c >= 0 && c <= 0x20) && c != 0x7f && kExcluded.find(c) == std::string_view::npos;
  });
}

bool sha256(std::string_view s) {
  return s.size() == 64 && all(s, [](char c) { return digit(c) || (c >= 'a' && c <= 'f'); });
}

bool noControlCharacters(std::string_view s) {
  return all(s, [](char c) { return !control(c); });
}

bool macAddress(std::string_view s) {
  if (s.size() != 17) {
    return false;
  }
  for (std::size_t i = 0; i < 17; ++i) {
    if (i % 3 == 2 ? s[i] != ':' : !hex(s[i])) {
      return false;
    }
  }
  return true;
}

bool ipAddress(std::string_view s) {
  return !s.empty() && all(s, [](char c) { return hex(c) || c == '.' || c == ':'; });
}

bool uuid(std::string_view s) {
  return s.size() == 36 && hexRun(s.substr(0, 8), 8) && s[8] == '-' && hexRun(s.substr(9, 4), 4) &&
         s[13] == '-' && hexRun(s.substr(14, 4), 4) && s[18] == '-' && hexRun(s.substr(19, 4), 4) &&
         s[23] == '-' && hexRun(s.substr(24, 12), 12);
}

bool hostPort(std::string_view s) {
  return !s.empty() && all(s, [](char c) {
    return alnum(c) || c == '.' || c == ':' || c == '[' || c == ']' || c == '-';
  });
}

bool conditionType(std::string_view s) {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos) {
    return qualifiedNamePart(s);
  }
  return dns1123Subdomain(s.substr(0, slash)) && qualifiedNamePart(s.substr(slash + 1));
}

bool conditionReason(std::string_view s) {
  auto inner = [](char c) { return alnum(c) || c == '_' || c == ',' || c == ':'; };
  return !s.empty() && alpha(s.front()) && (s.size() == 1 || alnum(s.back()) || s.back() == '_') &&
         all(s, inner);
}

bool quantity(std::string_view s) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
  }
  auto digits = [&s] {
    std::size_t n = 0;
    while (n < s.size() && digit(s[n])) {
      ++n;
    }
    s.remove_prefix(n);
    return n;
  };
  const std::size_t whole = digits();
  if (!s.empty() && s.front() == '.') {
    s.remove_prefix(1);
    if (digits() == 0 && whole == 0) {
      return false;  // "." alone
    }
  } else if (whole == 0) {
    return false;
  }
  if (s.empty()) {
    return true;
  }
  constexpr std::string_view kBinary = "KMGTPE";
  constexpr std::string_view kDecimal = "kMGTPE";
  if (s.size() == 2 && kBinary.find(s[0]) != std::string_view::npos && s[1] == 'i') {
    return true;
  }
  if (s.size() == 1 && kDecimal.find(s[0]) != std::string_view::npos) {
    return true;
  }
  if (s.front() != 'e' && s.front() != 'E') {
    return false;
  }
  s.remove_prefix(1);
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
  }
  return digits() > 0 && s.empty();
}

}  // namespace novacron::api::scans
