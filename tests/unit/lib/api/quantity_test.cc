// Kubernetes quantity parsing and canonical printing.
#include "lib/api/quantity.h"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace novacron::api {
namespace {

struct ParseCase {
  std::string text;
  int64_t value;
};

TEST(QuantityTest, ParsesValidQuantities) {
  const ParseCase cases[] = {
      {"0", 0},
      {"1", 1},
      {"+5", 5},
      {"-7", -7},
      {"1Ki", 1024},
      {"64Mi", 64LL << 20},
      {"1Gi", 1LL << 30},
      {"1.5Gi", 3LL << 29},
      {"0.5Ki", 512},
      {".5Ki", 512},
      {"1.Ki", 1024},
      {"2Ti", 2LL << 40},
      {"3Pi", 3LL << 50},
      {"7Ei", 7LL << 60},
      {"1k", 1000},
      {"1M", 1000000},
      {"1G", 1000000000},
      {"2T", 2000000000000},
      {"1P", 1000000000000000},
      {"9E", 9000000000000000000},
      {"1e3", 1000},
      {"1E3", 1000},
      {"1e+3", 1000},
      {"12e-1", 2},  // 1.2 rounds up, like resource.Quantity.Value()
      {"1500m", 2},
      {"1000m", 1},
      {"1u", 1},
      {"1n", 1},
      {"-1500m", -2},  // away from zero
      {"0.1", 1},
      {"0000012", 12},
      {"9223372036854775807", std::numeric_limits<int64_t>::max()},
      {"-9223372036854775808", std::numeric_limits<int64_t>::min()},
      {"1e-2000", 1},
      {"0e99999", 0},
      {"-1Gi", -(1LL << 30)},
  };
  for (const ParseCase& c : cases) {
    auto parsed = parseQuantity(c.text);
    ASSERT_TRUE(parsed.isOk()) << c.text << ": " << parsed.status();
    EXPECT_EQ(*parsed, c.value) << c.text;
  }
}

TEST(QuantityTest, RejectsGarbageAndOverflow) {
  const char* cases[] = {
      "",
      " 1Gi",
      "1Gi ",
      "1 Gi",
      "Gi",
      "1Xi",
      "10Xi",
      "1gi",
      "1KI",
      "1K",
      "1Gib",
      "1.2.3",
      ".",
      "+",
      "-",
      "1e",
      "1e+",
      "1e1.5",
      "0x10",
      "1,000",
      "one",
      "1Gi\n",
      "∞",
      "1e1001",
      "8Ei",
      "9223372036854775808",
      "10E",
      "-9223372036854775809",
      "99999999999999999999",
      "16Ei",
  };
  for (const char* text : cases) {
    auto parsed = parseQuantity(text);
    EXPECT_FALSE(parsed.isOk()) << "accepted \"" << text << "\" as " << parsed.valueOr(0);
    if (!parsed.isOk()) {
      EXPECT_EQ(parsed.status().code(), core::StatusCode::kInvalidArgument);
    }
  }
  // An embedded NUL is garbage too.
  EXPECT_FALSE(parseQuantity(std::string("1\0Gi", 4)).isOk());
  // Absurdly long input is rejected without work proportional to an exponent.
  EXPECT_FALSE(parseQuantity(std::string(10000, '9')).isOk());
}

TEST(QuantityTest, FormatsCanonically) {
  EXPECT_EQ(formatQuantity(0), "0");
  EXPECT_EQ(formatQuantity(1073741824), "1Gi");
  EXPECT_EQ(formatQuantity(1536LL << 20), "1536Mi");
  EXPECT_EQ(formatQuantity(64LL << 20), "64Mi");
  EXPECT_EQ(formatQuantity(1000), "1000");
  EXPECT_EQ(formatQuantity(1025), "1025");
  EXPECT_EQ(formatQuantity(-(2LL << 30)), "-2Gi");
  EXPECT_EQ(formatQuantity(1LL << 60), "1Ei");
  EXPECT_EQ(formatQuantity(std::numeric_limits<int64_t>::min()), "-8Ei");
  EXPECT_EQ(formatQuantity(std::numeric_limits<int64_t>::max()), "9223372036854775807");
  EXPECT_EQ(formatQuantity(1000000000, QuantityFormat::kDecimalSI), "1G");
  EXPECT_EQ(formatQuantity(1500, QuantityFormat::kDecimalSI), "1500");
  EXPECT_EQ(formatQuantity(2000, QuantityFormat::kDecimalSI), "2k");
}

TEST(QuantityTest, FormatThenParseIsIdentity) {
  const int64_t values[] = {0,
                            1,
                            1023,
                            1024,
                            1LL << 20,
                            3LL << 29,
                            1000000,
                            123456789012,
                            -4096,
                            1LL << 62,
                            std::numeric_limits<int64_t>::max()};
  for (int64_t v : values) {
    for (QuantityFormat f : {QuantityFormat::kBinarySI, QuantityFormat::kDecimalSI}) {
      auto parsed = parseQuantity(formatQuantity(v, f));
      ASSERT_TRUE(parsed.isOk()) << formatQuantity(v, f);
      EXPECT_EQ(*parsed, v);
    }
  }
}

TEST(QuantityTest, KeepsTheTextItWasParsedFrom) {
  auto q = Quantity::parse("1024Mi");
  ASSERT_TRUE(q.isOk());
  EXPECT_EQ(q->toString(), "1024Mi");
  EXPECT_EQ(q->value(), 1LL << 30);
  EXPECT_EQ(*q, Quantity::fromBytes(1LL << 30));  // equal by value
  EXPECT_EQ(Quantity::fromBytes(1LL << 30).toString(), "1Gi");
  EXPECT_LT(Quantity::fromBytes(1), Quantity::fromBytes(2));
  EXPECT_EQ(Quantity().toString(), "0");
}

// Only a non-canonical text is stored (issue 15 B4); every text still comes back verbatim,
// through copies too, and the size of a Quantity stays small.
TEST(QuantityTest, KeepsNonCanonicalTextsThroughCopies) {
  for (const char* text : {"2Gi", "10Gi", "0", "2048Mi", "1G", "1.5Gi", "100", "1e9", "+1Ki"}) {
    auto q = Quantity::parse(text);
    ASSERT_TRUE(q.isOk()) << text;
    const Quantity copy = *q;
    Quantity assigned;
    assigned = copy;
    EXPECT_EQ(copy.toString(), text);
    EXPECT_EQ(assigned.toString(), text);
    EXPECT_EQ(assigned.value(), q->value());
  }
  EXPECT_EQ(Quantity(1000000000, QuantityFormat::kDecimalSI).toString(), "1G");
  EXPECT_EQ(Quantity(1LL << 30, QuantityFormat::kDecimalSI).toString(), "1073741824");
  EXPECT_LE(sizeof(Quantity), 16U);
}

}  // namespace
}  // namespace novacron::api
