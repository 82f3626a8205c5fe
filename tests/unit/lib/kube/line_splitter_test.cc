#include "lib/kube/line_splitter.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace novacron::kube {
namespace {

class LineSplitterTest : public ::testing::Test {
protected:
  LineCallback collect = [this](std::string_view line) {
    lines.emplace_back(line);
    return lines.size() < stop_after;
  };
  std::vector<std::string> lines;
  size_t stop_after = 1000;
};

TEST_F(LineSplitterTest, LinesSplitAcrossBlocksArriveWholeOnceTheirNewlineArrives) {
  LineSplitter splitter(collect);
  ASSERT_TRUE(splitter.feed("{\"a\":"));
  EXPECT_TRUE(lines.empty());
  ASSERT_TRUE(splitter.feed("1}\n{\"b\""));
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}"}));
  ASSERT_TRUE(splitter.feed(":2}\n"));
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"}));
}

TEST_F(LineSplitterTest, CarriageReturnsEndingLinesAreDroppedAndEmptyLinesSkipped) {
  LineSplitter splitter(collect);
  ASSERT_TRUE(splitter.feed("one\r\n\r\n\ntwo\r"));
  ASSERT_TRUE(splitter.feed("\nthree"));
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two"}));
  ASSERT_TRUE(splitter.finish());
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "three"}));
}

TEST_F(LineSplitterTest, ByteByByteGivesTheSameLinesAsOneBlock) {
  const std::string stream = "alpha\nbeta\r\ngamma\n";
  LineSplitter splitter(collect);
  for (char c : stream) {
    ASSERT_TRUE(splitter.feed(std::string_view(&c, 1)));
  }
  ASSERT_TRUE(splitter.finish());
  EXPECT_EQ(lines, (std::vector<std::string>{"alpha", "beta", "gamma"}));
}

TEST_F(LineSplitterTest, AFinalLineWithoutNewlineIsDeliveredOnlyAtTheEnd) {
  LineSplitter splitter(collect);
  ASSERT_TRUE(splitter.feed("last\r"));
  EXPECT_TRUE(lines.empty());
  ASSERT_TRUE(splitter.finish());
  EXPECT_EQ(lines, (std::vector<std::string>{"last"}));
}

TEST_F(LineSplitterTest, TheCallbackStopsDelivery) {
  stop_after = 2;
  LineSplitter splitter(collect);
  EXPECT_FALSE(splitter.feed("1\n2\n3\n"));
  EXPECT_EQ(lines, (std::vector<std::string>{"1", "2"}));

  lines.clear();
  LineSplitter at_end(collect);
  ASSERT_TRUE(at_end.feed("x\ny"));
  EXPECT_FALSE(at_end.finish());  // "y", the last line, asked to stop
  EXPECT_EQ(lines, (std::vector<std::string>{"x", "y"}));
}

}  // namespace
}  // namespace novacron::kube
