// TokenSource: the bearer token to send, re-read from its file whenever the file changes, so a
// rotated service-account token is picked up without a restart.
//
// The file's modification time and size are checked on every call (one stat); the file is read
// again only when they change. If a re-read fails, the last good token is kept and the error is
// logged once; the first read's error is returned.
// Thread-safety: safe to call from any thread.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>

#include "lib/core/statusor.h"

namespace novacron::kube {

class TokenSource {
public:
  // A fixed token (file empty) or a token file (token ignored).
  TokenSource(std::string token, std::string file);

  // The current token; empty when neither a token nor a file was configured.
  core::StatusOr<std::string> token();

private:
  const std::string fixed_;
  const std::string file_;
  std::mutex mu_;
  std::string cached_;                            // guarded by mu_
  std::filesystem::file_time_type cached_mtime_;  // guarded by mu_
  std::uintmax_t cached_size_ = 0;                // guarded by mu_
  bool loaded_ = false;                           // guarded by mu_
};

}  // namespace novacron::kube
