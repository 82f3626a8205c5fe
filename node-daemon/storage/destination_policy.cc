#include "node-daemon/storage/destination_policy.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <arpa/inet.h>

#include "lib/api/validation.h"

namespace novacron::node::storage {
namespace {

struct Range {
  const char* cidr;
  const char* what;
};

// Refused by default. Order matters only for the name reported.
constexpr Range kRefusedV4[] = {
    {"0.0.0.0/8", "unspecified"},         {"127.0.0.0/8", "loopback"},
    {"169.254.0.0/16", "link-local"},     {"10.0.0.0/8", "private"},
    {"172.16.0.0/12", "private"},         {"192.168.0.0/16", "private"},
    {"100.64.0.0/10", "private (CGNAT)"}, {"192.0.0.0/24", "reserved"},
    {"192.0.2.0/24", "reserved"},         {"198.18.0.0/15", "reserved"},
    {"198.51.100.0/24", "reserved"},      {"203.0.113.0/24", "reserved"},
    {"224.0.0.0/4", "multicast"},         {"255.255.255.255/32", "broadcast"},
    {"240.0.0.0/4", "reserved"},
};
constexpr Range kRefusedV6[] = {
    {"::/128", "unspecified"}, {"::1/128", "loopback"},       {"fe80::/10", "link-local"},
    {"fc00::/7", "private"},   {"fec0::/10", "private"},      {"ff00::/8", "multicast"},
    {"100::/64", "reserved"},  {"2001:db8::/32", "reserved"},
};

const std::vector<std::pair<Cidr, std::string>>& refusedRanges(bool v4) {
  auto build = [](auto& table) {
    std::vector<std::pair<Cidr, std::string>> out;
    for (const auto& r : table) {
      out.emplace_back(*Cidr::parse(r.cidr), r.what);
    }
    return out;
  };
  static const auto v4_ranges = build(kRefusedV4);
  static const auto v6_ranges = build(kRefusedV6);
  return v4 ? v4_ranges : v6_ranges;
}

// The IPv4 address carried inside an IPv6 one (IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96),
// which is where a packet to it ends up.
bool embeddedV4(const IpAddress& a, IpAddress* out) {
  static const Cidr kNat64 = *Cidr::parse("64:ff9b::/96");
  static const Cidr kCompat = *Cidr::parse("::/96");
  if (a.v4 || !(kNat64.contains(a) || kCompat.contains(a))) {
    return false;
  }
  IpAddress v4;
  v4.v4 = true;
  v4.bytes[10] = v4.bytes[11] = 0xff;
  std::copy(a.bytes.begin() + 12, a.bytes.end(), v4.bytes.begin() + 12);
  *out = v4;
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

core::StatusOr<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  IpAddress a;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    a.v4 = true;
    a.bytes[10] = a.bytes[11] = 0xff;
    std::memcpy(&a.bytes[12], &v4, 4);
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(a.bytes.data(), &v6, 16);
    // ::ffff:a.b.c.d is an IPv4 address in IPv6 clothing: treat it as that IPv4 address.
    a.v4 = std::all_of(a.bytes.begin(), a.bytes.begin() + 10, [](uint8_t b) { return b == 0; }) &&
           a.bytes[10] == 0xff && a.bytes[11] == 0xff;
    return a;
  }
  return core::invalidArgumentError("'" + s + "' is not an IP address");
}

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (v4) {
    inet_ntop(AF_INET, &bytes[12], buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf));
  }
  return buf;
}

core::StatusOr<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  NOVACRON_ASSIGN_OR_RETURN(IpAddress base, IpAddress::parse(text.substr(0, slash)));
  const int max = base.v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    std::string p(text.substr(slash + 1));
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), ::isdigit) ||
        std::stoi(p) > max) {
      return core::invalidArgumentError("'" + std::string(text) + "' has an invalid prefix");
    }
    prefix = std::stoi(p);
  }
  return Cidr{base, prefix};
}

bool Cidr::contains(const IpAddress& addr) const {
  if (addr.v4 != base.v4) {
    return false;
  }
  const int bits = base.v4 ? prefix + 96 : prefix;
  for (int i = 0; i < bits; ++i) {
    const uint8_t mask = static_cast<uint8_t>(0x80 >> (i % 8));
    if ((addr.bytes[i / 8] & mask) != (base.bytes[i / 8] & mask)) {
      return false;
    }
  }
  return true;
}

std::string refusedClass(const IpAddress& addr) {
  for (const auto& [cidr, what] : refusedRanges(addr.v4)) {
    if (cidr.contains(addr)) {
      return what;
    }
  }
  IpAddress inner;
  if (embeddedV4(addr, &inner)) {
    return refusedClass(inner);
  }
  return "";
}

core::StatusOr<DestinationPolicy> DestinationPolicy::parse(std::string_view allow_list) {
  DestinationPolicy p;
  size_t start = 0;
  while (start <= allow_list.size()) {
    size_t end = allow_list.find(',', start);
    if (end == std::string_view::npos) {
      end = allow_list.size();
    }
    std::string item(allow_list.substr(start, end - start));
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) {
      auto cidr = Cidr::parse(item);
      if (cidr.isOk()) {
        p.allowed_networks_.push_back(*cidr);
      } else if (api::isDns1123Subdomain(lower(item))) {
        p.allowed_hosts_.push_back(lower(item));
      } else {
        return core::invalidArgumentError("image allow-list entry '" + item +
                                          "' is neither a CIDR nor a host name");
      }
    }
    start = end + 1;
  }
  return p;
}

core::Status DestinationPolicy::check(std::string_view host, const IpAddress& addr) const {
  const std::string cls = refusedClass(addr);
  if (cls.empty()) {
    return core::okStatus();
  }
  const std::string h = lower(host);
  if (std::find(allowed_hosts_.begin(), allowed_hosts_.end(), h) != allowed_hosts_.end()) {
    return core::okStatus();
  }
  for (const auto& c : allowed_networks_) {
    if (c.contains(addr)) {
      return core::okStatus();
    }
  }
  return core::invalidArgumentError("image host " + std::string(host) + " resolves to " +
                                    addr.toString() + ", a " + cls +
                                    " address; the node refuses to fetch images from it (allow "
                                    "it with --image-allowed-networks)");
}

}  // namespace novacron::node::storage
