#include "base/json_shape.h"

#include <gtest/gtest.h>

#include <string>

namespace atrest {
namespace {

TEST(JsonShapeTest, CountsNestingOutsideStrings) {
  EXPECT_EQ(ScanJsonShape(R"({"a":[1,[2]]})", 3), JsonShape::kOk);
  EXPECT_EQ(ScanJsonShape(R"({"a":[1,[2]]})", 2), JsonShape::kTooDeep);
  // Brackets inside strings, escaped quotes included, do not count.
  EXPECT_EQ(ScanJsonShape(R"({"a":"[[[[\"[[[["})", 1), JsonShape::kOk);
  EXPECT_EQ(ScanJsonShape(std::string(100000, '['), 64), JsonShape::kTooDeep);
}

TEST(JsonShapeTest, BoundsTheNumberOfValues) {
  EXPECT_EQ(ScanJsonShape("[1,2,3]", 8, 5), JsonShape::kOk);
  EXPECT_EQ(ScanJsonShape("[1,2,3,4,5]", 8, 5), JsonShape::kTooManyValues);
  EXPECT_EQ(ScanJsonShape(R"(["1,2,3,4,5,6"])", 8, 5), JsonShape::kOk);
}

}  // namespace
}  // namespace atrest
