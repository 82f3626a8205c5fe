// AuditLog: one line per request that may change state (anything but GET), for benchmarks that
// count API writes by component and verb (tests/bench/controller): the client's User-Agent, the
// method, the path (with its subresource), the HTTP code and the time (ms since the epoch),
// tab-separated, and a sixth field `noop` for a write answered without writing (an update or patch
// that changed nothing):
//   novacron-node-daemon/node-0  PUT  /apis/.../virtualmachines/vm-1/status  409  1764609000123
// Enabled by the dev API server's --audit-log=FILE; a development aid, not kube's audit policy.
//
// Thread-safety: record() may be called from any connection thread (one mutex around the file).
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "lib/core/statusor.h"

namespace novacron::devapi {

class AuditLog {
public:
  [[nodiscard]] static core::StatusOr<std::shared_ptr<AuditLog>> open(const std::string& path);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Writes a line unless `method` is GET (reads and watches are not counted).
  void record(std::string_view user_agent, std::string_view method, std::string_view path, int code,
              bool unchanged = false);

private:
  explicit AuditLog(std::FILE* file) : file_(file) {}
  std::mutex mu_;
  std::FILE* file_;  // guarded by mu_
};

}  // namespace novacron::devapi
