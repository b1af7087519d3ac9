#include "identity/jwt.h"

#include <gtest/gtest.h>

#include "base/base64.h"
#include "crypto/digest.h"
#include "env/testing.h"

namespace atrest::identity {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    key_ = new crypto::RsaPrivateKey(*crypto::RsaPrivateKey::Generate(2048));
    other_ = new crypto::RsaPrivateKey(*crypto::RsaPrivateKey::Generate(2048));
  }
  static void TearDownTestSuite() {
    delete key_;
    delete other_;
  }

  env::FakeClock clock_;
  int64_t now_ =
      std::chrono::duration_cast<seconds>(clock_.Now().time_since_epoch())
          .count();

  json Claims() {
    return {{"iss", "https://login.localhost/t1/v2.0"},
            {"aud", "https://vault.localhost"},
            {"tid", "t1"},
            {"oid", "o1"},
            {"iat", now_},
            {"nbf", now_},
            {"exp", now_ + 3600}};
  }
  KeyResolver Keys() {
    return [](std::string_view kid,
              const nlohmann::json&) -> Result<crypto::RsaPublicKey> {
      if (kid == "k1") return key_->PublicKey();
      return NotFoundError("no such key");
    };
  }
  JwtExpectations Expect() {
    return {.issuer = "https://login.localhost/{tenantid}/v2.0",
            .audiences = {"https://vault.localhost", "cfa8b339"},
            .tenant_id = "t1",
            .now = clock_.Now()};
  }
  JwtResult Verify(const std::string& token) {
    return VerifyJwt(token, Keys(), Expect());
  }
  std::optional<JwtError> Reason(const std::string& token) {
    JwtResult r = Verify(token);
    if (r.ok()) return std::nullopt;
    EXPECT_EQ(r.failure->status.code(), StatusCode::kUnauthenticated);
    return r.failure->reason;
  }
  std::string Sign(const json& claims) { return *SignJwt(claims, *key_, "k1"); }

  static crypto::RsaPrivateKey* key_;
  static crypto::RsaPrivateKey* other_;
};

crypto::RsaPrivateKey* JwtTest::key_ = nullptr;
crypto::RsaPrivateKey* JwtTest::other_ = nullptr;

TEST_F(JwtTest, ValidTokenVerifies) {
  JwtResult r = Verify(Sign(Claims()));
  ASSERT_TRUE(r.ok()) << r.failure->status;
  EXPECT_EQ((*r.claims)["oid"], "o1");
}

TEST_F(JwtTest, AudienceMayBeAnArray) {
  json c = Claims();
  c["aud"] = json::array({"x", "cfa8b339"});
  EXPECT_TRUE(Verify(Sign(c)).ok());
}

TEST_F(JwtTest, ExpiryAndNotBeforeHonourSkew) {
  json c = Claims();
  c["exp"] = now_ - 200;  // Within the 5 minute skew.
  EXPECT_TRUE(Verify(Sign(c)).ok());
  c["exp"] = now_ - 400;
  EXPECT_EQ(Reason(Sign(c)), JwtError::kExpired);
  c = Claims();
  c["nbf"] = now_ + 400;
  EXPECT_EQ(Reason(Sign(c)), JwtError::kNotYetValid);
  c = Claims();
  c.erase("exp");
  EXPECT_EQ(Reason(Sign(c)), JwtError::kMalformed);
}

TEST_F(JwtTest, WrongIssuerAudienceOrTenant) {
  json c = Claims();
  c["aud"] = "https://management.localhost";
  EXPECT_EQ(Reason(Sign(c)), JwtError::kWrongAudience);
  c = Claims();
  c["iss"] = "https://evil.example/t1/v2.0";
  EXPECT_EQ(Reason(Sign(c)), JwtError::kWrongIssuer);
  c = Claims();
  c["tid"] = "t2";
  c["iss"] = "https://login.localhost/t2/v2.0";
  EXPECT_EQ(Reason(Sign(c)), JwtError::kWrongTenant);
  c = Claims();
  c["tid"] = "t2";  // Issuer of t1 but tid t2.
  EXPECT_EQ(Reason(Sign(c)), JwtError::kWrongIssuer);
}

TEST_F(JwtTest, BadSignatureAndUnknownKey) {
  std::string token = Sign(Claims());
  token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Reason(token), JwtError::kBadSignature);
  EXPECT_EQ(Reason(*SignJwt(Claims(), *other_, "k1")), JwtError::kBadSignature);
  EXPECT_EQ(Reason(*SignJwt(Claims(), *key_, "k9")), JwtError::kUnknownKey);
}

TEST_F(JwtTest, AlgNoneAndHmacAreRefused) {
  std::string payload = Base64UrlEncode(AsBytes(Claims().dump()));
  for (const char* alg : {"none", "HS256", "RS512", "PS256"}) {
    json header = {{"alg", alg}, {"kid", "k1"}};
    std::string token =
        Base64UrlEncode(AsBytes(header.dump())) + "." + payload + ".";
    EXPECT_EQ(Reason(token), JwtError::kBadAlgorithm) << alg;
    // Even with a real RS256 signature attached.
    std::string input = Base64UrlEncode(AsBytes(header.dump())) + "." + payload;
    Bytes sig = *key_->Sign(crypto::RsaSignatureAlgorithm::kRs256,
                            crypto::Sha256(AsBytes(input)));
    EXPECT_EQ(Reason(input + "." + Base64UrlEncode(sig)),
              JwtError::kBadAlgorithm);
  }
}

TEST_F(JwtTest, MalformedTokens) {
  for (const char* bad :
       {"", "a", "a.b", "a.b.c.d", "!!.??.**", "e30.W10.e30"}) {
    EXPECT_EQ(Reason(bad), JwtError::kMalformed) << bad;
  }
  // "{}" as header: well formed, but it names no algorithm.
  EXPECT_EQ(Reason("e30.e30.e30"), JwtError::kBadAlgorithm);
}

}  // namespace
}  // namespace atrest::identity
