#include "lib/core/logging.h"

#include <cstdlib>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace novacron::core {
namespace {

// spdlog pattern flag %j: the message payload as an escaped JSON string.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string quoted = jsonQuote(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

std::optional<std::string> envValue(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    return std::nullopt;
  }
  return std::string(v);
}

}  // namespace

std::string jsonQuote(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

StatusOr<LogFormat> parseLogFormat(std::string_view text) {
  if (text == "auto") {
    return LogFormat::kAuto;
  }
  if (text == "text") {
    return LogFormat::kText;
  }
  if (text == "json") {
    return LogFormat::kJson;
  }
  return invalidArgumentError("log format \"" + std::string(text) +
                              "\" is not one of auto, text, json");
}

StatusOr<LogOptions> resolveLogOptions(std::string component, std::optional<std::string> flag_level,
                                       std::optional<std::string> flag_format) {
  LogOptions options;
  options.component = std::move(component);
  if (auto level = flag_level ? flag_level : envValue("NOVACRON_LOG_LEVEL")) {
    auto parsed = spdlog::level::from_str(*level);
    // from_str maps unknown names to "off"; only accept "off" when asked for literally.
    if (parsed == spdlog::level::off && *level != "off") {
      return invalidArgumentError(
          "log level \"" + *level +
          "\" is not one of trace, debug, info, warn, error, critical, off");
    }
    options.level = *level;
  }
  if (auto format = flag_format ? flag_format : envValue("NOVACRON_LOG_FORMAT")) {
    NOVACRON_ASSIGN_OR_RETURN(options.format, parseLogFormat(*format));
  }
  return options;
}

Status initLogging(const LogOptions& options) {
  auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") {
    return invalidArgumentError("unknown log level \"" + options.level + "\"");
  }
  bool json = options.format == LogFormat::kJson ||
              (options.format == LogFormat::kAuto && isatty(STDERR_FILENO) == 0);
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      json ? spdlog::color_mode::never : spdlog::color_mode::automatic);
  auto logger = std::make_shared<spdlog::logger>(options.component, sink);
  std::unique_ptr<spdlog::pattern_formatter> formatter;
  if (json) {
    // JSON timestamps are UTC so they sort and compare across nodes.
    formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","thread":%t,"msg":%j})");
  } else {
    formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  return okStatus();
}

}  // namespace novacron::core
