#include "crypto/jwk.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "base/base64.h"
#include "base/bytes.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/rsa.h"
#include "crypto/secret_bytes.h"

namespace atrest::crypto {
namespace {

using nlohmann::json;

// Reads testdata/wycheproof/<file> (ATREST_TESTDATA is set by ctest).
::testing::AssertionResult LoadVectors(const std::string& file, json* out) {
  const char* dir = std::getenv("ATREST_TESTDATA");
  if (dir == nullptr || *dir == '\0') {
    return ::testing::AssertionFailure()
           << "ATREST_TESTDATA is not set; run the test through ctest or set "
              "it to <source>/testdata";
  }
  const std::filesystem::path path =
      std::filesystem::path(dir) / "wycheproof" / file;
  std::ifstream in(path);
  if (!in) return ::testing::AssertionFailure() << "cannot open " << path;
  *out = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded() || !out->contains("testGroups")) {
    return ::testing::AssertionFailure()
           << path << " is not a Wycheproof vector file";
  }
  return ::testing::AssertionSuccess();
}

Bytes Unhex(const std::string& hex) {
  Bytes out;
  EXPECT_TRUE(HexDecode(hex, &out)) << hex;
  return out;
}

// The JWK of group `index` of a Wycheproof RSA file.
::testing::AssertionResult WycheproofJwk(const std::string& file, size_t index,
                                         json* jwk) {
  json doc;
  ::testing::AssertionResult loaded = LoadVectors(file, &doc);
  if (!loaded) return loaded;
  if (doc["testGroups"].size() <= index ||
      !doc["testGroups"][index].contains("privateKeyJwk")) {
    return ::testing::AssertionFailure()
           << file << " has no privateKeyJwk in group " << index;
  }
  *jwk = doc["testGroups"][index]["privateKeyJwk"];
  return ::testing::AssertionSuccess();
}

constexpr char kOaepSha1File[] = "rsa_oaep_2048_sha1_mgf1sha1_test.json";
constexpr char kPkcs1File[] = "rsa_pkcs1_2048_test.json";

struct WycheproofRsaFile {
  const char* file;
  RsaPadding padding;
};

void PrintTo(const WycheproofRsaFile& f, std::ostream* os) { *os << f.file; }

class JwkWycheproofTest : public ::testing::TestWithParam<WycheproofRsaFile> {};

// The privateKeyJwk of every group is a real JWK for the group's key: it
// parses, becomes a private key equal to privateKeyPkcs8, and decrypts the
// group's first valid vector.
TEST_P(JwkWycheproofTest, PrivateJwkDecryptsFirstValidVector) {
  json doc;
  ASSERT_TRUE(LoadVectors(GetParam().file, &doc));
  const json& group = doc["testGroups"][0];
  Result<RsaJwk> jwk = ParseRsaJwk(group["privateKeyJwk"]);
  ASSERT_TRUE(jwk.ok()) << jwk.status();
  EXPECT_EQ(jwk->kty, "RSA");
  ASSERT_TRUE(jwk->private_parts.has_value());

  Result<RsaPrivateKey> key = jwk->ToPrivateKey();
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->bits(), group["keySize"].get<int>());
  Result<RsaPrivateKey> from_der =
      RsaPrivateKey::FromPkcs8Der(Unhex(group["privateKeyPkcs8"]));
  ASSERT_TRUE(from_der.ok()) << from_der.status();
  EXPECT_EQ(key->PublicKey().modulus(), from_der->PublicKey().modulus());
  EXPECT_EQ(jwk->n, key->PublicKey().modulus());

  const json* first_valid = nullptr;
  for (const json& test : group["tests"]) {
    if (test["result"] == "valid") {
      first_valid = &test;
      break;
    }
  }
  ASSERT_NE(first_valid, nullptr);
  SCOPED_TRACE("tcId " + std::to_string((*first_valid)["tcId"].get<int>()));
  Result<SecretBytes> pt =
      key->Decrypt(GetParam().padding, Unhex((*first_valid)["ct"]),
                   Unhex(first_valid->value("label", std::string())));
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(HexEncode(pt->RevealSecret()),
            (*first_valid)["msg"].get<std::string>());

  // The public half works too.
  Result<RsaPublicKey> pub = jwk->ToPublicKey();
  ASSERT_TRUE(pub.ok()) << pub.status();
  Result<Bytes> ct = pub->Encrypt(GetParam().padding, AsBytes("dek"));
  ASSERT_TRUE(ct.ok()) << ct.status();
  Result<SecretBytes> back = key->Decrypt(GetParam().padding, *ct);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(AsString(back->RevealSecret()), "dek");
}

INSTANTIATE_TEST_SUITE_P(
    Files, JwkWycheproofTest,
    ::testing::Values(WycheproofRsaFile{kOaepSha1File, RsaPadding::kOaepSha1},
                      WycheproofRsaFile{
                          "rsa_oaep_2048_sha256_mgf1sha256_test.json",
                          RsaPadding::kOaepSha256},
                      WycheproofRsaFile{kPkcs1File, RsaPadding::kPkcs1v15}),
    [](const ::testing::TestParamInfo<WycheproofRsaFile>& param_info) {
      switch (param_info.param.padding) {
        case RsaPadding::kOaepSha1:
          return std::string("OaepSha1");
        case RsaPadding::kOaepSha256:
          return std::string("OaepSha256");
        case RsaPadding::kPkcs1v15:
          return std::string("Pkcs1");
      }
      return std::string("Unknown");
    });

class JwkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(WycheproofJwk(kOaepSha1File, 0, &private_jwk_));
    public_jwk_ = {
        {"kty", "RSA"}, {"n", private_jwk_["n"]}, {"e", private_jwk_["e"]}};
  }

  // Expects InvalidArgument whose message contains `mention`.
  static void ExpectInvalid(const Result<RsaJwk>& r,
                            const std::string& mention) {
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
    EXPECT_NE(r.status().message().find(mention), std::string::npos)
        << r.status();
  }

  json private_jwk_;
  json public_jwk_;
};

TEST_F(JwkTest, PublicOnlyJwk) {
  Result<RsaJwk> jwk = ParseRsaJwk(public_jwk_);
  ASSERT_TRUE(jwk.ok()) << jwk.status();
  EXPECT_FALSE(jwk->private_parts.has_value());
  Result<RsaPublicKey> pub = jwk->ToPublicKey();
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(pub->bits(), 2048);
  EXPECT_EQ(jwk->ToPrivateKey().status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(JwkTest, ParsesJsonText) {
  const std::string text = private_jwk_.dump();
  Result<RsaJwk> jwk = ParseRsaJwkText(text);
  ASSERT_TRUE(jwk.ok()) << jwk.status();
  EXPECT_TRUE(jwk->private_parts.has_value());
  EXPECT_TRUE(jwk->ToPrivateKey().ok());
}

TEST_F(JwkTest, KtyRsaHsmAccepted) {
  json j = private_jwk_;
  j["kty"] = "RSA-HSM";
  Result<RsaJwk> jwk = ParseRsaJwk(j);
  ASSERT_TRUE(jwk.ok()) << jwk.status();
  EXPECT_EQ(jwk->kty, "RSA-HSM");
  EXPECT_TRUE(jwk->ToPrivateKey().ok());
}

TEST_F(JwkTest, OtherKtyRejected) {
  for (const json& kty : {json("EC"), json("oct"), json("rsa"), json(""),
                          json(1), json(nullptr)}) {
    json j = public_jwk_;
    j["kty"] = kty;
    ExpectInvalid(ParseRsaJwk(j), "kty");
  }
  json j = public_jwk_;
  j.erase("kty");
  ExpectInvalid(ParseRsaJwk(j), "kty");
}

TEST_F(JwkTest, MissingModulusOrExponentRejected) {
  for (const char* member : {"n", "e"}) {
    json j = private_jwk_;
    j.erase(member);
    ExpectInvalid(ParseRsaJwk(j), std::string("'") + member + "'");
  }
}

TEST_F(JwkTest, BadBase64UrlRejected) {
  // Standard-alphabet characters, junk, a non-string and an empty value.
  for (const json& bad :
       {json("ab+/"), json("!!!!"), json("a b"), json(12345), json("")}) {
    for (const char* member : {"n", "e", "d", "qi"}) {
      SCOPED_TRACE(std::string(member) + " = " + bad.dump());
      json j = private_jwk_;
      j[member] = bad;
      ExpectInvalid(ParseRsaJwk(j), std::string("'") + member + "'");
    }
  }
}

TEST_F(JwkTest, PartialPrivateMembersRejected) {
  for (const char* member : {"d", "p", "q", "dp", "dq", "qi"}) {
    SCOPED_TRACE(std::string("without ") + member);
    json j = private_jwk_;
    j.erase(member);
    ExpectInvalid(ParseRsaJwk(j), "d, p, q, dp, dq and qi");
  }
  json only_d = public_jwk_;
  only_d["d"] = private_jwk_["d"];
  ExpectInvalid(ParseRsaJwk(only_d), "d, p, q, dp, dq and qi");
}

TEST(JwkParseTest, InvalidJsonRejected) {
  for (std::string_view text :
       {"", "{", "{\"kty\": \"RSA\",}", "not json", "{\"kty\": RSA}"}) {
    Result<RsaJwk> jwk = ParseRsaJwk(text);
    EXPECT_EQ(jwk.status().code(), StatusCode::kInvalidArgument)
        << "'" << text << "': " << jwk.status();
  }
}

TEST(JwkParseTest, NonObjectRejected) {
  for (const json& j : {json::array({1, 2}), json("RSA"), json(42),
                        json(nullptr), json(true)}) {
    Result<RsaJwk> jwk = ParseRsaJwk(j);
    EXPECT_EQ(jwk.status().code(), StatusCode::kInvalidArgument) << j.dump();
  }
  EXPECT_EQ(ParseRsaJwk(std::string_view("[1, 2]")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(JwkTest, PublicKeyToJwkRoundTrip) {
  Result<RsaJwk> parsed = ParseRsaJwk(private_jwk_);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  Result<RsaPublicKey> pub = parsed->ToPublicKey();
  ASSERT_TRUE(pub.ok()) << pub.status();

  const json out = PublicKeyToJwk(*pub, "RSA-HSM");
  ASSERT_TRUE(out.is_object());
  EXPECT_EQ(out.size(), 3u) << out.dump();
  EXPECT_EQ(out["kty"], "RSA-HSM");
  ASSERT_TRUE(out["n"].is_string());
  ASSERT_TRUE(out["e"].is_string());
  const std::string n = out["n"];
  EXPECT_EQ(out["e"], "AQAB");
  EXPECT_EQ(n.find_first_of("=+/"), std::string::npos)
      << "n must be unpadded base64url";
  Result<Bytes> n_bytes = Base64UrlDecode(n);
  ASSERT_TRUE(n_bytes.ok()) << n_bytes.status();
  ASSERT_EQ(n_bytes->size(), 256u);
  EXPECT_NE((*n_bytes)[0], 0) << "n has a leading zero byte";
  EXPECT_EQ(*n_bytes, pub->modulus());
  // Wycheproof's own n is the same integer in the same encoding.
  EXPECT_EQ(n, private_jwk_["n"].get<std::string>());

  Result<RsaJwk> again = ParseRsaJwk(out);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->kty, "RSA-HSM");
  Result<RsaPublicKey> pub_again = again->ToPublicKey();
  ASSERT_TRUE(pub_again.ok()) << pub_again.status();
  EXPECT_EQ(pub_again->modulus(), pub->modulus());
  EXPECT_EQ(pub_again->public_exponent(), pub->public_exponent());
}

TEST_F(JwkTest, PublicKeyToJwkOfGeneratedKey) {
  Result<RsaPrivateKey> key = RsaPrivateKey::Generate(2048);
  ASSERT_TRUE(key.ok()) << key.status();
  const json out = PublicKeyToJwk(key->PublicKey(), "RSA");
  Result<RsaJwk> jwk = ParseRsaJwk(out);
  ASSERT_TRUE(jwk.ok()) << jwk.status();
  EXPECT_EQ(jwk->n, key->PublicKey().modulus());
  EXPECT_EQ(jwk->e, (Bytes{0x01, 0x00, 0x01}));
}

TEST_F(JwkTest, InconsistentPrivateComponentsRejected) {
  json other;
  ASSERT_TRUE(WycheproofJwk(kPkcs1File, 1, &other));
  ASSERT_NE(other["p"], private_jwk_["p"]) << "need two different keys";
  json j = private_jwk_;
  j["p"] = other["p"];
  Result<RsaJwk> jwk = ParseRsaJwk(j);
  ASSERT_TRUE(jwk.ok()) << "syntactically fine: " << jwk.status();
  Result<RsaPrivateKey> key = jwk->ToPrivateKey();
  EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument) << key.status();
}

}  // namespace
}  // namespace atrest::crypto
