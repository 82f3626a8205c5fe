// Process-wide logging on spdlog.
//
// Format: human-readable text on a terminal, one JSON object per line otherwise (in-cluster), so
// log collectors can parse it. Level and format come from flags, else from the environment
// (NOVACRON_LOG_LEVEL, NOVACRON_LOG_FORMAT), else defaults (info, auto).
// Thread-safety: call initLogging() once at startup before other threads log; spdlog's loggers are
// thread-safe afterwards.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lib/core/status.h"
#include "lib/core/statusor.h"

namespace novacron::core {

enum class LogFormat { kAuto, kText, kJson };

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  LogFormat format = LogFormat::kAuto;
  std::string component = "novacron";  // logger name, e.g. "controller", "node-daemon"
};

StatusOr<LogFormat> parseLogFormat(std::string_view text);

// Builds options from optional flag values, falling back to the environment, then to defaults.
// Returns InvalidArgument naming the bad value if a level or format is not recognised.
StatusOr<LogOptions> resolveLogOptions(std::string component, std::optional<std::string> flag_level,
                                       std::optional<std::string> flag_format);

// Installs the default spdlog logger writing to stderr in the chosen format.
Status initLogging(const LogOptions& options);

// JSON-escapes `text` as a JSON string literal, including the quotes. Invalid UTF-8 is replaced.
std::string jsonQuote(std::string_view text);

}  // namespace novacron::core
