#include "base/bytes.h"

#include <gtest/gtest.h>

namespace atrest {
namespace {

TEST(HexTest, RoundTrip) {
  Bytes data = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(data), "0001abff");
  Bytes back;
  ASSERT_TRUE(HexDecode("0001ABff", &back));
  EXPECT_EQ(back, data);
}

TEST(HexTest, RejectsBadInput) {
  Bytes out = {1};
  EXPECT_FALSE(HexDecode("abc", &out));
  EXPECT_FALSE(HexDecode("zz", &out));
  EXPECT_EQ(out, Bytes{1});  // Untouched on failure.
}

TEST(BigEndianTest, StoreLoad) {
  uint8_t buf[4];
  StoreBigEndian32(0x01020304u, buf);
  EXPECT_EQ(buf[0], 1);
  EXPECT_EQ(buf[3], 4);
  EXPECT_EQ(LoadBigEndian32(buf), 0x01020304u);
}

}  // namespace
}  // namespace atrest
