#include "base/base64.h"

#include <gtest/gtest.h>

namespace atrest {
namespace {

// RFC 4648 §10 test vectors.
TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), encoded);
    Result<Bytes> back = Base64Decode(encoded);
    ASSERT_TRUE(back.ok()) << encoded;
    EXPECT_EQ(AsString(*back), plain);
  }
}

TEST(Base64UrlTest, UnpaddedAndUrlAlphabet) {
  Bytes data = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(Base64UrlEncode(data), "-_-_");
  EXPECT_EQ(Base64Encode(data), "+/+/");
  EXPECT_EQ(Base64UrlEncode(AsBytes("f")), "Zg");
  EXPECT_EQ(AsString(*Base64UrlDecode("Zg")), "f");
  EXPECT_EQ(AsString(*Base64UrlDecode("Zg==")), "f");  // Padding tolerated.
  EXPECT_EQ(*Base64UrlDecode("-_-_"), data);
}

TEST(Base64UrlTest, RoundTripsEveryLength) {
  Bytes data;
  for (int n = 0; n < 70; ++n) {
    Result<Bytes> back = Base64UrlDecode(Base64UrlEncode(data));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, data);
    data.push_back(static_cast<uint8_t>(n * 37 + 11));
  }
}

TEST(Base64UrlTest, RejectsMalformed) {
  for (const char* bad :
       {"Z", "Zg=", "Z===", "Zh", "+/+/", "ab cd", "Zm9v!", "=Zm9", "Zg==Zg"}) {
    EXPECT_FALSE(Base64UrlDecode(bad).ok()) << bad;
  }
  EXPECT_FALSE(Base64Decode("-_-_").ok());
}

}  // namespace
}  // namespace atrest
