#include "crypto/secret_bytes.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <utility>

#include "base/bytes.h"

namespace atrest::crypto {
namespace {

std::string Reveal(const SecretBytes& s) {
  return std::string(AsString(s.RevealSecret()));
}

TEST(SecretBytesTest, DefaultIsEmpty) {
  SecretBytes s;
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(s.RevealSecret().empty());
}

TEST(SecretBytesTest, SizedConstructorIsZeroed) {
  SecretBytes s(16);
  EXPECT_EQ(s.size(), 16u);
  EXPECT_FALSE(s.empty());
  for (uint8_t b : s.RevealSecret()) EXPECT_EQ(b, 0);
  EXPECT_EQ(s.MutableSecret().size(), 16u);
}

TEST(SecretBytesTest, CopyFromCopies) {
  Bytes source = ToBytes("hunter2");
  SecretBytes s = SecretBytes::CopyFrom(source);
  EXPECT_EQ(s.size(), 7u);
  EXPECT_EQ(Reveal(s), "hunter2");
  source[0] = 'X';
  EXPECT_EQ(Reveal(s), "hunter2") << "must not alias the source";
  EXPECT_TRUE(SecretBytes::CopyFrom({}).empty());
}

TEST(SecretBytesTest, CloneIsIndependent) {
  SecretBytes original = SecretBytes::CopyFrom(AsBytes("key material"));
  SecretBytes clone = original.Clone();
  EXPECT_TRUE(clone.Equals(original));
  EXPECT_NE(clone.RevealSecret().data(), original.RevealSecret().data());
  clone.MutableSecret()[0] = 'K';
  EXPECT_EQ(Reveal(original), "key material");
  EXPECT_EQ(Reveal(clone), "Key material");
  EXPECT_FALSE(clone.Equals(original));
  EXPECT_TRUE(SecretBytes().Clone().empty());
}

TEST(SecretBytesTest, MoveConstructionEmptiesSource) {
  SecretBytes source = SecretBytes::CopyFrom(AsBytes("abc"));
  const uint8_t* buffer = source.RevealSecret().data();
  SecretBytes target(std::move(source));
  EXPECT_EQ(Reveal(target), "abc");
  EXPECT_EQ(target.RevealSecret().data(), buffer) << "a move must not copy";
  EXPECT_EQ(source.size(), 0u);  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(source.empty());   // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(source.RevealSecret().empty());
}

TEST(SecretBytesTest, MoveAssignmentEmptiesSource) {
  SecretBytes source = SecretBytes::CopyFrom(AsBytes("new secret"));
  SecretBytes target = SecretBytes::CopyFrom(AsBytes("old"));
  target = std::move(source);
  EXPECT_EQ(Reveal(target), "new secret");
  EXPECT_EQ(source.size(), 0u);  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(source.empty());   // NOLINT(bugprone-use-after-move)
  // The moved-from object is usable again.
  source = SecretBytes::CopyFrom(AsBytes("again"));
  EXPECT_EQ(Reveal(source), "again");
}

TEST(SecretBytesTest, Equals) {
  const SecretBytes a = SecretBytes::CopyFrom(AsBytes("same bytes"));
  const SecretBytes b = SecretBytes::CopyFrom(AsBytes("same bytes"));
  const SecretBytes c = SecretBytes::CopyFrom(AsBytes("same bytez"));
  const SecretBytes prefix = SecretBytes::CopyFrom(AsBytes("same"));
  EXPECT_TRUE(a.Equals(a));
  EXPECT_TRUE(a.Equals(b));
  EXPECT_TRUE(b.Equals(a));
  EXPECT_FALSE(a.Equals(c));
  EXPECT_FALSE(a.Equals(prefix));
  EXPECT_FALSE(prefix.Equals(a));
  EXPECT_TRUE(SecretBytes().Equals(SecretBytes()));
  EXPECT_TRUE(SecretBytes().Equals(SecretBytes::CopyFrom({})));
  EXPECT_FALSE(SecretBytes().Equals(a));
  EXPECT_TRUE(SecretBytes(4).Equals(SecretBytes(4)));
}

TEST(SecretBytesTest, StreamingPrintsOnlyTheLength) {
  const SecretBytes s = SecretBytes::CopyFrom(AsBytes("hunter2"));
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "<secret 7 bytes>");
  EXPECT_EQ(os.str().find("hunter2"), std::string::npos);
  EXPECT_EQ(os.str().find(HexEncode(AsBytes("hunter2"))), std::string::npos);

  std::ostringstream empty;
  empty << SecretBytes();
  EXPECT_EQ(empty.str(), "<secret 0 bytes>");
}

TEST(SecretBytesTest, GoogleTestPrintsOnlyTheLength) {
  const SecretBytes s = SecretBytes::CopyFrom(AsBytes("hunter2"));
  const std::string printed = ::testing::PrintToString(s);
  EXPECT_EQ(printed, "<secret 7 bytes>");
  EXPECT_EQ(printed.find("hunter2"), std::string::npos);
  EXPECT_EQ(printed.find("68"), std::string::npos) << "hex of 'h' leaked";
}

}  // namespace
}  // namespace atrest::crypto
