#include "lib/core/check.h"

#include <cstdio>
#include <cstdlib>

#include <spdlog/spdlog.h>

namespace novacron::core {

void checkFailed(const char* file, int line, const char* expr, std::string_view message) {
  spdlog::critical("check failed at {}:{}: {} ({})", file, line, expr, message);
  spdlog::shutdown();
  std::fprintf(stderr, "FATAL %s:%d: check failed: %s (%.*s)\n", file, line, expr,
               static_cast<int>(message.size()), message.data());
  std::abort();
}

}  // namespace novacron::core
