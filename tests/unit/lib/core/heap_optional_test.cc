#include "lib/core/heap_optional.h"

#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace novacron::core {
namespace {

struct Part {
  std::string text;
  bool operator==(const Part&) const = default;
};

TEST(HeapOptionalTest, BehavesLikeStdOptional) {
  HeapOptional<Part> p;
  EXPECT_FALSE(p.has_value());
  EXPECT_FALSE(p);
  EXPECT_EQ(p, std::nullopt);
  EXPECT_THROW((void)p.value(), std::bad_optional_access);
  EXPECT_EQ(p.value_or(Part{"fallback"}).text, "fallback");

  p = Part{"a"};
  ASSERT_TRUE(p);
  EXPECT_EQ(p->text, "a");
  EXPECT_EQ((*p).text, "a");
  EXPECT_EQ(p, Part{"a"});
  p.emplace(Part{"b"});
  EXPECT_EQ(p.value().text, "b");
  p.reset();
  EXPECT_FALSE(p);
  p = Part{"c"};
  p = std::nullopt;
  EXPECT_FALSE(p);
}

TEST(HeapOptionalTest, CopiesAreDeepAndCompareByValue) {
  HeapOptional<Part> a = Part{"x"};
  HeapOptional<Part> b = a;
  b->text = "y";
  EXPECT_EQ(a->text, "x");
  EXPECT_NE(a, b);
  b = a;
  EXPECT_EQ(a, b);
  EXPECT_NE(a, HeapOptional<Part>());
  EXPECT_EQ(HeapOptional<Part>(), HeapOptional<Part>());
  HeapOptional<Part> moved = std::move(b);
  EXPECT_EQ(moved, a);
}

TEST(HeapOptionalTest, IsOnePointerWhateverItHolds) {
  EXPECT_EQ(sizeof(HeapOptional<Part>), sizeof(void*));
  EXPECT_LT(sizeof(HeapOptional<Part>), sizeof(std::optional<Part>));
}

}  // namespace
}  // namespace novacron::core
