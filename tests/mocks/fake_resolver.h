// FakeResolver: a storage::Resolver with fixed answers, so tests can point host names at any
// address class without DNS. Unknown names are Unavailable. Counts lookups.
// Thread-safety: safe from any thread.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "node-daemon/storage/resolver.h"

namespace novacron::testing {

class FakeResolver final : public node::storage::Resolver {
public:
  void set(const std::string& host, const std::vector<std::string>& addresses) {
    std::lock_guard lock(mu_);
    auto& v = answers_[host];
    v.clear();
    for (const auto& a : addresses) {
      v.push_back(*node::storage::IpAddress::parse(a));
    }
  }
  int lookups() const {
    std::lock_guard lock(mu_);
    return lookups_;
  }

  core::StatusOr<std::vector<node::storage::IpAddress>> resolve(const std::string& host) override {
    std::lock_guard lock(mu_);
    ++lookups_;
    auto it = answers_.find(host);
    if (it == answers_.end() || it->second.empty()) {
      return core::unavailableError("cannot resolve " + host + " (fake)");
    }
    return it->second;
  }

private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<node::storage::IpAddress>> answers_;  // guarded by mu_
  int lookups_ = 0;                                                       // guarded by mu_
};

}  // namespace novacron::testing
