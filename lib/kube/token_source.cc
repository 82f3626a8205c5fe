#include "lib/kube/token_source.h"

#include <fstream>
#include <sstream>
#include <system_error>

#include <spdlog/spdlog.h>

namespace novacron::kube {
namespace {

std::string trimToken(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                           text.back() == '\t')) {
    text.pop_back();
  }
  size_t start = text.find_first_not_of(" \t\r\n");
  return start == std::string::npos ? std::string() : text.substr(start);
}

}  // namespace

TokenSource::TokenSource(std::string token, std::string file)
    : fixed_(std::move(token)), file_(std::move(file)) {}

core::StatusOr<std::string> TokenSource::token() {
  if (file_.empty()) {
    return fixed_;
  }
  std::error_code ec;
  auto mtime = std::filesystem::last_write_time(file_, ec);
  std::uintmax_t size = ec ? 0 : std::filesystem::file_size(file_, ec);
  std::lock_guard lock(mu_);
  if (ec) {
    if (loaded_) {
      return cached_;  // keep using the last good token while the file is being replaced
    }
    return core::notFoundError("token file " + file_ + ": " + ec.message());
  }
  if (loaded_ && mtime == cached_mtime_ && size == cached_size_) {
    return cached_;
  }
  std::ifstream in(file_, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    if (loaded_) {
      spdlog::warn("re-reading token file {} failed; keeping the previous token", file_);
      return cached_;
    }
    return core::unavailableError("reading token file " + file_ + " failed");
  }
  std::string token = trimToken(text.str());
  if (token.empty()) {
    if (loaded_) {
      return cached_;  // a half-written file during rotation
    }
    return core::invalidArgumentError("token file " + file_ + " is empty");
  }
  cached_ = std::move(token);
  cached_mtime_ = mtime;
  cached_size_ = size;
  loaded_ = true;
  return cached_;
}

}  // namespace novacron::kube
