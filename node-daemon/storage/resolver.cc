#include "node-daemon/storage/resolver.h"

#include <algorithm>

#include <netdb.h>
#include <sys/socket.h>

namespace novacron::node::storage {
namespace {

class SystemResolver final : public Resolver {
public:
  core::StatusOr<std::vector<IpAddress>> resolve(const std::string& host) override {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
      return core::unavailableError("cannot resolve " + host + ": " + gai_strerror(rc));
    }
    std::vector<IpAddress> out;
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      char buf[NI_MAXHOST] = {};
      if (getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof(buf), nullptr, 0, NI_NUMERICHOST) !=
          0) {
        continue;
      }
      std::string text(buf);
      text = text.substr(0, text.find('%'));  // drop an IPv6 zone index
      auto ip = IpAddress::parse(text);
      if (ip.isOk() && std::find(out.begin(), out.end(), *ip) == out.end()) {
        out.push_back(*ip);
      }
    }
    freeaddrinfo(res);
    if (out.empty()) {
      return core::unavailableError("cannot resolve " + host + ": no addresses");
    }
    return out;
  }
};

}  // namespace

ResolverPtr makeSystemResolver() {
  return std::make_shared<SystemResolver>();
}

}  // namespace novacron::node::storage
