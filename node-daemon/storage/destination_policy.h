// Which network destinations the image fetcher may connect to. By default only public unicast
// addresses: loopback, link-local (169.254.0.0/16 with the cloud metadata address, fe80::/10),
// private (RFC 1918, fc00::/7), CGNAT (100.64.0.0/10), unspecified, multicast, broadcast and other
// reserved ranges are refused; IPv4-mapped/-compatible and NAT64 IPv6 addresses are judged by the
// IPv4 address inside. An allow-list of CIDRs and host names (node-daemon flag
// --image-allowed-networks) lets clusters reach private image servers.
// Thread-safety: immutable after construction.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/core/statusor.h"

namespace novacron::node::storage {

// An IPv4 or IPv6 address; IPv4 is held as ::ffff:a.b.c.d.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;

  static core::StatusOr<IpAddress> parse(std::string_view text);  // canonical literals only
  std::string toString() const;
  bool operator==(const IpAddress&) const = default;
};

struct Cidr {
  IpAddress base;
  int prefix = 0;  // in the address's own family (0..32 for IPv4, 0..128 for IPv6)

  static core::StatusOr<Cidr> parse(std::string_view text);  // "10.0.0.0/8", "::1/128", "1.2.3.4"
  bool contains(const IpAddress& addr) const;
};

// The refused class of an address ("loopback", "link-local", "private", ...), or "" when the
// address is public unicast.
std::string refusedClass(const IpAddress& addr);

class DestinationPolicy {
public:
  DestinationPolicy() = default;
  // Comma-separated CIDRs and host names, e.g. "127.0.0.0/8,10.0.0.0/8,images.internal".
  static core::StatusOr<DestinationPolicy> parse(std::string_view allow_list);

  // InvalidArgument naming the refused class when `host`'s address `addr` may not be fetched.
  [[nodiscard]] core::Status check(std::string_view host, const IpAddress& addr) const;

private:
  std::vector<Cidr> allowed_networks_;
  std::vector<std::string> allowed_hosts_;  // lower case
};

}  // namespace novacron::node::storage
