// Runs the Project Wycheproof vectors in testdata/wycheproof/ (see the
// README.md there for provenance and licence) against crypto/.
//
// The test data directory comes from ATREST_TESTDATA, which ctest sets (see
// cmake/AtrestRules.cmake). A missing variable or file is a failure, not a
// skip: a test that silently runs nothing proves nothing.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/hkdf.h"
#include "crypto/openssl_util.h"
#include "crypto/rsa.h"
#include "crypto/secret_bytes.h"

namespace atrest::crypto {
namespace {

using nlohmann::json;

// Reads and parses testdata/wycheproof/<file>.
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
  if (!in) {
    return ::testing::AssertionFailure() << "cannot open " << path;
  }
  *out = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) {
    return ::testing::AssertionFailure() << path << " is not valid JSON";
  }
  if (!out->contains("testGroups") || !out->contains("numberOfTests")) {
    return ::testing::AssertionFailure()
           << path << " is not a Wycheproof vector file";
  }
  return ::testing::AssertionSuccess();
}

// Total number of tests in all groups.
int CountTests(const json& doc) {
  int n = 0;
  for (const json& group : doc["testGroups"]) {
    n += static_cast<int>(group["tests"].size());
  }
  return n;
}

// A hex field of a test; an empty vector (and a test failure) if malformed.
Bytes Hex(const json& test, const char* field) {
  Bytes out;
  const std::string hex = test.value(field, std::string());
  EXPECT_TRUE(HexDecode(hex, &out))
      << "tcId " << test["tcId"] << ": field '" << field << "' is not hex";
  return out;
}

// "tcId 12 (comment) [flag, flag]" for failure messages.
std::string Describe(const json& test) {
  std::ostringstream os;
  os << "tcId " << test["tcId"].get<int>() << " ("
     << test.value("comment", std::string()) << ") " << test["flags"].dump();
  return os.str();
}

bool IsValid(const json& test) {
  const std::string result = test["result"].get<std::string>();
  EXPECT_TRUE(result == "valid" || result == "invalid")
      << Describe(test) << ": unexpected result '" << result << "'";
  return result == "valid";
}

void Report(const std::string& name, int value) {
  std::cout << "[ wycheproof ] " << name << " = " << value << "\n";
  ::testing::Test::RecordProperty(name, value);
}

// AES-256-GCM through the EVP cipher crypto/ fetched, with the vector's IV.
// Returns the plaintext, or nullopt when authentication fails.
std::optional<Bytes> EvpGcmDecrypt(const Bytes& key, const Bytes& iv,
                                   const Bytes& aad, const Bytes& ct,
                                   const Bytes& tag) {
  internal::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes out(ct.size());
  int len = 0;
  bool ok = ctx &&
            EVP_DecryptInit_ex2(ctx.get(), internal::Aes256Gcm(), nullptr,
                                nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN,
                                static_cast<int>(iv.size()), nullptr) == 1 &&
            EVP_DecryptInit_ex2(ctx.get(), nullptr, key.data(), iv.data(),
                                nullptr) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), out.data(), &len, ct.data(),
                              static_cast<int>(ct.size())) == 1;
  const int total = len;
  ok = ok &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG,
                           static_cast<int>(tag.size()),
                           const_cast<uint8_t*>(tag.data())) == 1 &&
       EVP_DecryptFinal_ex(ctx.get(), out.data() + total, &len) == 1;
  internal::ClearOpenSslErrors();
  if (!ok) return std::nullopt;
  out.resize(total + len);
  return out;
}

// AES-256-GCM encryption with the vector's IV; returns ct || tag.
std::optional<Bytes> EvpGcmEncrypt(const Bytes& key, const Bytes& iv,
                                   const Bytes& aad, const Bytes& msg) {
  internal::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes out(msg.size() + kGcmTagSize);
  int len = 0;
  bool ok = ctx &&
            EVP_EncryptInit_ex2(ctx.get(), internal::Aes256Gcm(), nullptr,
                                nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN,
                                static_cast<int>(iv.size()), nullptr) == 1 &&
            EVP_EncryptInit_ex2(ctx.get(), nullptr, key.data(), iv.data(),
                                nullptr) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), out.data(), &len, msg.data(),
                              static_cast<int>(msg.size())) == 1;
  const int total = len;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), out.data() + total, &len) == 1 &&
       total + len == static_cast<int>(msg.size()) &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagSize,
                           out.data() + msg.size()) == 1;
  internal::ClearOpenSslErrors();
  if (!ok) return std::nullopt;
  return out;
}

TEST(WycheproofTest, AesGcm) {
  json doc;
  ASSERT_TRUE(LoadVectors("aes_gcm_test.json", &doc));
  ASSERT_EQ(doc["algorithm"], "AES-GCM");
  const int total = CountTests(doc);
  ASSERT_EQ(total, doc["numberOfTests"].get<int>());

  // The expected number of runnable tests, from each test's own key and IV
  // rather than from the group metadata the loop below relies on.
  int expected = 0;
  for (const json& group : doc["testGroups"]) {
    for (const json& test : group["tests"]) {
      if (test["key"].get<std::string>().size() == 2 * kAes256KeySize &&
          test["iv"].get<std::string>().size() == 2 * kGcmNonceSize) {
        ++expected;
      }
    }
  }

  int run = 0;
  int run_valid = 0;
  int run_invalid = 0;
  int skipped_key_size = 0;  // 128- and 192-bit keys.
  int skipped_iv_size = 0;   // 256-bit keys with an IV other than 96 bits.
  for (const json& group : doc["testGroups"]) {
    const int tests = static_cast<int>(group["tests"].size());
    if (group["keySize"].get<int>() != 256) {
      skipped_key_size += tests;
      continue;
    }
    if (group["ivSize"].get<int>() != 96) {
      skipped_iv_size += tests;
      continue;
    }
    ASSERT_EQ(group["tagSize"].get<int>(), 8 * static_cast<int>(kGcmTagSize));
    for (const json& test : group["tests"]) {
      SCOPED_TRACE(Describe(test));
      const Bytes key = Hex(test, "key");
      const Bytes iv = Hex(test, "iv");
      const Bytes aad = Hex(test, "aad");
      const Bytes msg = Hex(test, "msg");
      const Bytes ct = Hex(test, "ct");
      const Bytes tag = Hex(test, "tag");
      ASSERT_EQ(key.size(), kAes256KeySize);
      ASSERT_EQ(iv.size(), kGcmNonceSize);
      ASSERT_EQ(tag.size(), kGcmTagSize);
      const bool valid = IsValid(test);
      ++run;
      ++(valid ? run_valid : run_invalid);

      // 1. EVP with the vector's IV.
      std::optional<Bytes> evp_plain = EvpGcmDecrypt(key, iv, aad, ct, tag);
      if (valid) {
        ASSERT_TRUE(evp_plain.has_value()) << "EVP rejected a valid vector";
        EXPECT_EQ(HexEncode(*evp_plain), HexEncode(msg));
        std::optional<Bytes> sealed = EvpGcmEncrypt(key, iv, aad, msg);
        ASSERT_TRUE(sealed.has_value());
        Bytes want = ct;
        want.insert(want.end(), tag.begin(), tag.end());
        EXPECT_EQ(HexEncode(*sealed), HexEncode(want));
      } else {
        EXPECT_FALSE(evp_plain.has_value()) << "EVP accepted an invalid vector";
      }

      // 2. crypto::Aead, whose input format is nonce || ct || tag.
      Result<std::unique_ptr<Aead>> aead =
          Aead::Create(SecretBytes::CopyFrom(key));
      ASSERT_TRUE(aead.ok()) << aead.status();
      Bytes input = iv;
      input.insert(input.end(), ct.begin(), ct.end());
      input.insert(input.end(), tag.begin(), tag.end());
      Result<SecretBytes> plain = (*aead)->Decrypt(input, aad);
      if (valid) {
        ASSERT_TRUE(plain.ok()) << "Aead::Decrypt: " << plain.status();
        EXPECT_EQ(HexEncode(plain->RevealSecret()), HexEncode(msg));
      } else {
        EXPECT_EQ(plain.status(), DecryptionFailed())
            << "Aead::Decrypt accepted or misreported an invalid vector";
      }
    }
  }

  Report("aes_gcm_total", total);
  Report("aes_gcm_run", run);
  Report("aes_gcm_run_valid", run_valid);
  Report("aes_gcm_run_invalid", run_invalid);
  Report("aes_gcm_skipped_non_256_bit_key", skipped_key_size);
  Report("aes_gcm_skipped_non_96_bit_iv", skipped_iv_size);
  EXPECT_GT(run, 0);
  EXPECT_EQ(run, expected);
  EXPECT_EQ(run + skipped_key_size + skipped_iv_size, total);
}

// Runs one RSA-OAEP file; every test must run.
void RunOaepFile(const std::string& file, RsaPadding padding,
                 const std::string& sha) {
  json doc;
  ASSERT_TRUE(LoadVectors(file, &doc));
  const int total = CountTests(doc);
  ASSERT_EQ(total, doc["numberOfTests"].get<int>());
  int run = 0;
  for (const json& group : doc["testGroups"]) {
    ASSERT_EQ(group["sha"], sha);
    ASSERT_EQ(group["mgf"], "MGF1");
    ASSERT_EQ(group["mgfSha"], sha);
    Bytes der;
    ASSERT_TRUE(HexDecode(group["privateKeyPkcs8"].get<std::string>(), &der));
    Result<RsaPrivateKey> key = RsaPrivateKey::FromPkcs8Der(der);
    ASSERT_TRUE(key.ok()) << key.status();
    ASSERT_EQ(key->bits(), group["keySize"].get<int>());
    for (const json& test : group["tests"]) {
      SCOPED_TRACE(Describe(test));
      const Bytes ct = Hex(test, "ct");
      const Bytes label = Hex(test, "label");
      Result<SecretBytes> plain = key->Decrypt(padding, ct, label);
      ++run;
      if (IsValid(test)) {
        ASSERT_TRUE(plain.ok()) << plain.status();
        EXPECT_EQ(HexEncode(plain->RevealSecret()),
                  test["msg"].get<std::string>());
      } else {
        EXPECT_EQ(plain.status(), DecryptionFailed());
      }
    }
  }
  Report("rsa_oaep_" + sha + "_run", run);
  EXPECT_EQ(run, total) << "every test must run";
  EXPECT_GT(run, 0);
}

TEST(WycheproofTest, RsaOaepSha1) {
  RunOaepFile("rsa_oaep_2048_sha1_mgf1sha1_test.json", RsaPadding::kOaepSha1,
              "SHA-1");
}

TEST(WycheproofTest, RsaOaepSha256) {
  RunOaepFile("rsa_oaep_2048_sha256_mgf1sha256_test.json",
              RsaPadding::kOaepSha256, "SHA-256");
}

// PKCS#1 v1.5: valid ciphertexts decrypt; every invalid one fails with the
// identical Status, so that padding errors cannot be told apart
// (Bleichenbacher). OpenSSL 3.0 reports these as errors; 3.2 and later would
// need implicit rejection taken into account.
TEST(WycheproofTest, RsaPkcs1) {
  json doc;
  ASSERT_TRUE(LoadVectors("rsa_pkcs1_2048_test.json", &doc));
  const int total = CountTests(doc);
  ASSERT_EQ(total, doc["numberOfTests"].get<int>());
  int run = 0;
  int invalid = 0;
  std::set<std::string> invalid_statuses;
  for (const json& group : doc["testGroups"]) {
    Bytes der;
    ASSERT_TRUE(HexDecode(group["privateKeyPkcs8"].get<std::string>(), &der));
    Result<RsaPrivateKey> key = RsaPrivateKey::FromPkcs8Der(der);
    ASSERT_TRUE(key.ok()) << key.status();
    ASSERT_EQ(key->bits(), group["keySize"].get<int>());
    for (const json& test : group["tests"]) {
      SCOPED_TRACE(Describe(test));
      const Bytes ct = Hex(test, "ct");
      Result<SecretBytes> plain = key->Decrypt(RsaPadding::kPkcs1v15, ct);
      ++run;
      if (IsValid(test)) {
        ASSERT_TRUE(plain.ok()) << plain.status();
        EXPECT_EQ(HexEncode(plain->RevealSecret()),
                  test["msg"].get<std::string>());
      } else {
        ++invalid;
        EXPECT_EQ(plain.status(), DecryptionFailed());
        invalid_statuses.insert(plain.status().ToString());
      }
    }
  }
  Report("rsa_pkcs1_run", run);
  EXPECT_EQ(run, total) << "every test must run";
  EXPECT_GT(invalid, 0);
  EXPECT_EQ(invalid_statuses.size(), 1u)
      << "invalid ciphertexts must all fail with the same Status";
}

TEST(WycheproofTest, HkdfSha256) {
  json doc;
  ASSERT_TRUE(LoadVectors("hkdf_sha256_test.json", &doc));
  const int total = CountTests(doc);
  ASSERT_EQ(total, doc["numberOfTests"].get<int>());
  int run = 0;
  for (const json& group : doc["testGroups"]) {
    for (const json& test : group["tests"]) {
      SCOPED_TRACE(Describe(test));
      const size_t size = test["size"].get<size_t>();
      Result<SecretBytes> okm = HkdfSha256(Hex(test, "ikm"), Hex(test, "salt"),
                                           Hex(test, "info"), size);
      ++run;
      if (IsValid(test)) {
        ASSERT_TRUE(okm.ok()) << okm.status();
        EXPECT_EQ(okm->size(), size);
        EXPECT_EQ(HexEncode(okm->RevealSecret()),
                  test["okm"].get<std::string>());
      } else {
        EXPECT_GT(size, 255u * 32u);
        EXPECT_EQ(okm.status().code(), StatusCode::kInvalidArgument)
            << okm.status();
      }
    }
  }
  Report("hkdf_sha256_run", run);
  EXPECT_EQ(run, total) << "every test must run";
  EXPECT_GT(run, 0);
}

}  // namespace
}  // namespace atrest::crypto
