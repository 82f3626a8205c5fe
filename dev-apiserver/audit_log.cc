#include "dev-apiserver/audit_log.h"

#include <cerrno>
#include <chrono>
#include <cstring>

namespace novacron::devapi {

core::StatusOr<std::shared_ptr<AuditLog>> AuditLog::open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    return core::unavailableError("cannot open audit log " + path + ": " + std::strerror(errno));
  }
  return std::shared_ptr<AuditLog>(new AuditLog(file));
}

AuditLog::~AuditLog() {
  std::fclose(file_);
}

void AuditLog::record(std::string_view user_agent, std::string_view method, std::string_view path,
                      int code, bool unchanged) {
  if (method == "GET") {
    return;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::lock_guard lock(mu_);
  std::fprintf(file_, "%.*s\t%.*s\t%.*s\t%d\t%lld%s\n", static_cast<int>(user_agent.size()),
               user_agent.data(), static_cast<int>(method.size()), method.data(),
               static_cast<int>(path.size()), path.data(), code, static_cast<long long>(ms),
               unchanged ? "\tnoop" : "");
  std::fflush(file_);
}

}  // namespace novacron::devapi
