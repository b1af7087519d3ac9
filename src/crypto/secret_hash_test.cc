#include "crypto/secret_hash.h"

#include <gtest/gtest.h>

namespace atrest::crypto {
namespace {

TEST(SecretHashTest, VerifiesOnlyTheRightSecret) {
  Result<std::string> h = HashSecret("s3cret-value", 1000);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("pbkdf2-sha256$1000$", 0), 0u);
  EXPECT_EQ(h->find("s3cret"), std::string::npos);
  EXPECT_TRUE(VerifySecret("s3cret-value", *h));
  EXPECT_FALSE(VerifySecret("s3cret-valuE", *h));
  EXPECT_FALSE(VerifySecret("", *h));
}

TEST(SecretHashTest, SaltedSoEqualSecretsHashDifferently) {
  EXPECT_NE(*HashSecret("same", 1000), *HashSecret("same", 1000));
}

TEST(SecretHashTest, DefaultIterationsAreRecorded) {
  Result<std::string> h = HashSecret("x");
  ASSERT_TRUE(h.ok());
  EXPECT_NE(h->find("$100000$"), std::string::npos);
  EXPECT_TRUE(VerifySecret("x", *h));
}

TEST(SecretHashTest, MalformedEncodingsNeverMatch) {
  std::string good = *HashSecret("x", 10);
  for (std::string bad :
       {std::string(""), std::string("x"), std::string("pbkdf2-sha256$10$$"),
        std::string("md5$10$") + good.substr(good.find('$', 15)),
        good + "$extra", std::string("pbkdf2-sha256$0$AAAA$AAAA"),
        std::string("pbkdf2-sha256$99999999999$AAAA$AAAA"),
        good.substr(0, good.size() - 2)}) {
    EXPECT_FALSE(VerifySecret("x", bad)) << bad;
  }
  EXPECT_FALSE(HashSecret("x", 0).ok());
}

}  // namespace
}  // namespace atrest::crypto
