#include "node-daemon/storage/image_url.h"

#include <algorithm>
#include <cctype>

#include "node-daemon/storage/destination_policy.h"

namespace novacron::node::storage {
namespace {

core::Status bad(std::string_view url, const std::string& why) {
  return core::invalidArgumentError("image URL '" + std::string(url.substr(0, 256)) + "' " + why);
}

bool isDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), ::isdigit);
}

}  // namespace

core::StatusOr<ImageUrl> ImageUrl::parse(std::string_view url) {
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f || c == '\\') {
      return bad(url, "contains a space, control, backslash or non-ASCII character");
    }
  }
  ImageUrl u;
  auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    return bad(url, "has no scheme");
  }
  u.scheme = std::string(url.substr(0, sep));
  std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(), ::tolower);
  if (u.scheme != "http" && u.scheme != "https") {
    return bad(url, "is neither http:// nor https://");
  }
  std::string_view rest = url.substr(sep + 3);
  auto auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);
  tail = tail.substr(0, tail.find('#'));
  if (authority.find('@') != std::string_view::npos) {
    return bad(url, "carries credentials; they are not supported");
  }
  std::string_view host_part = authority;
  std::string_view port_part;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return bad(url, "has an unterminated IPv6 address");
    }
    host_part = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return bad(url, "has garbage after its IPv6 address");
    }
    port_part = after.empty() ? after : after.substr(1);
    auto ip = IpAddress::parse(host_part);
    if (!ip.isOk() || host_part.find(':') == std::string_view::npos) {
      return bad(url, "has an invalid IPv6 address");
    }
    u.host = ip->toString();
    u.host_is_ip = true;
  } else {
    auto colon = authority.find(':');
    host_part = authority.substr(0, colon);
    port_part = colon == std::string_view::npos ? "" : authority.substr(colon + 1);
    if (colon != std::string_view::npos && port_part.empty()) {
      return bad(url, "has an empty port");
    }
    u.host = std::string(host_part);
    std::transform(u.host.begin(), u.host.end(), u.host.begin(), ::tolower);
    if (u.host.empty() || u.host.size() > 253 || u.host.front() == '.' || u.host.back() == '.' ||
        u.host.find("..") != std::string::npos) {
      return bad(url, "has an invalid host");
    }
    for (char c : u.host) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) {
        return bad(url, "has an invalid host");
      }
    }
    // A last label that is numeric (or hex) makes the whole host an IPv4 address to resolvers
    // and to curl, which accept forms like 2130706433 or 0x7f.1: only dotted quads are allowed.
    std::string_view last = std::string_view(u.host).substr(u.host.rfind('.') + 1);
    if (isDigits(last) || last.rfind("0x", 0) == 0) {
      auto ip = IpAddress::parse(u.host);
      if (!ip.isOk() || !ip->v4 || ip->toString() != u.host) {
        return bad(url, "has a non-canonical numeric host");
      }
      u.host_is_ip = true;
    }
  }
  if (!port_part.empty()) {
    if (!isDigits(port_part) || port_part.size() > 5 || std::stoi(std::string(port_part)) < 1 ||
        std::stoi(std::string(port_part)) > 65535) {
      return bad(url, "has an invalid port");
    }
    u.port = std::stoi(std::string(port_part));
  } else {
    u.port = u.scheme == "https" ? 443 : 80;
  }
  u.path = tail.empty() || tail.front() != '/' ? "/" + std::string(tail) : std::string(tail);
  return u;
}

std::string ImageUrl::urlHost() const {
  return host_is_ip && host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string ImageUrl::toString() const {
  return scheme + "://" + urlHost() + ":" + std::to_string(port) + path;
}

}  // namespace novacron::node::storage
