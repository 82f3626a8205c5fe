// NOVACRON_CHECK: crash loudly on an impossible state (a bug), never on bad input or a failed call.
// Expected failures are returned as Status values instead (see status.h).
#pragma once

#include <string>
#include <string_view>

namespace novacron::core {
[[noreturn]] void checkFailed(const char* file, int line, const char* expr,
                              std::string_view message);
}  // namespace novacron::core

#define NOVACRON_CHECK(cond, message)                                                 \
  do {                                                                                \
    if (!(cond)) [[unlikely]] {                                                       \
      ::novacron::core::checkFailed(__FILE__, __LINE__, #cond, std::string(message)); \
    }                                                                                 \
  } while (false)
