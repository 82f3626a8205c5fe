#include "lib/core/logging.h"

#include <cstdlib>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace novacron::core {
namespace {

class LoggingEnvTest : public ::testing::Test {
protected:
  void SetUp() override {
    unsetenv("NOVACRON_LOG_LEVEL");
    unsetenv("NOVACRON_LOG_FORMAT");
  }
  void TearDown() override { SetUp(); }
};

TEST_F(LoggingEnvTest, DefaultsWhenNothingIsSet) {
  auto o = resolveLogOptions("controller", std::nullopt, std::nullopt);
  ASSERT_TRUE(o.isOk()) << o.status();
  EXPECT_EQ(o->level, "info");
  EXPECT_EQ(o->format, LogFormat::kAuto);
  EXPECT_EQ(o->component, "controller");
}

TEST_F(LoggingEnvTest, EnvironmentIsUsedWhenNoFlag) {
  setenv("NOVACRON_LOG_LEVEL", "debug", 1);
  setenv("NOVACRON_LOG_FORMAT", "json", 1);
  auto o = resolveLogOptions("x", std::nullopt, std::nullopt);
  ASSERT_TRUE(o.isOk()) << o.status();
  EXPECT_EQ(o->level, "debug");
  EXPECT_EQ(o->format, LogFormat::kJson);
}

TEST_F(LoggingEnvTest, FlagOverridesEnvironment) {
  setenv("NOVACRON_LOG_LEVEL", "debug", 1);
  setenv("NOVACRON_LOG_FORMAT", "json", 1);
  auto o = resolveLogOptions("x", "warn", "text");
  ASSERT_TRUE(o.isOk()) << o.status();
  EXPECT_EQ(o->level, "warn");
  EXPECT_EQ(o->format, LogFormat::kText);
}

TEST_F(LoggingEnvTest, BadValuesAreRejectedWithTheValueNamed) {
  auto bad_level = resolveLogOptions("x", "loud", std::nullopt);
  ASSERT_FALSE(bad_level.isOk());
  EXPECT_EQ(bad_level.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_level.status().message().find("\"loud\""), std::string::npos);
  auto bad_format = resolveLogOptions("x", std::nullopt, "xml");
  ASSERT_FALSE(bad_format.isOk());
  EXPECT_NE(bad_format.status().message().find("\"xml\""), std::string::npos);
  EXPECT_TRUE(resolveLogOptions("x", "off", std::nullopt).isOk());
}

TEST(LoggingTest, JsonQuoteEscapes) {
  EXPECT_EQ(jsonQuote("a\"b\\c\nd"), R"("a\"b\\c\nd")");
  EXPECT_EQ(jsonQuote(std::string("nul\0x", 5)), R"("nul\u0000x")");
  // Invalid UTF-8 never throws; it is replaced.
  std::string quoted = jsonQuote("bad \xff byte");
  EXPECT_TRUE(nlohmann::json::accept(quoted)) << quoted;
}

TEST(LoggingTest, JsonFormatWritesOneParsableObjectPerLine) {
  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(
      initLogging({.level = "debug", .format = LogFormat::kJson, .component = "test"}).isOk());
  spdlog::info("hello \"world\"\n{}", 42);
  spdlog::debug("visible at debug");
  spdlog::trace("hidden at debug");
  spdlog::default_logger()->flush();
  std::string out = ::testing::internal::GetCapturedStderr();
  std::vector<nlohmann::json> lines;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    lines.push_back(nlohmann::json::parse(out.substr(start, end - start)));
    start = end + 1;
  }
  ASSERT_EQ(lines.size(), 2u) << out;
  EXPECT_EQ(lines[0]["msg"], "hello \"world\"\n42");
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["logger"], "test");
  EXPECT_TRUE(lines[0]["ts"].get<std::string>().ends_with("Z"));
  EXPECT_EQ(lines[1]["level"], "debug");
}

TEST(LoggingTest, InitRejectsUnknownLevel) {
  EXPECT_EQ(initLogging({.level = "chatty"}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace novacron::core
