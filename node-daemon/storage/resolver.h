// Resolver: host name -> every address it has. The image fetcher resolves hosts itself, checks
// every address against the DestinationPolicy and then pins curl to a checked address, so a DNS
// answer that changes between check and connect (DNS rebinding) cannot redirect the download.
// Tests use a fake with fixed answers.
// Thread-safety: implementations are safe from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lib/core/statusor.h"
#include "node-daemon/storage/destination_policy.h"

namespace novacron::node::storage {

class Resolver {
public:
  virtual ~Resolver() = default;
  // Unavailable when the name does not resolve (or DNS fails); never an empty list.
  [[nodiscard]] virtual core::StatusOr<std::vector<IpAddress>> resolve(const std::string& host) = 0;
};

using ResolverPtr = std::shared_ptr<Resolver>;

// getaddrinfo(3).
ResolverPtr makeSystemResolver();

}  // namespace novacron::node::storage
