// Tests against a real SoftHSM2 token that PrepareSoftHsm makes in a
// scratch directory. SoftHSM2 is a build dependency (scripts/install-deps.sh
// installs it): without it these tests fail, they do not skip.
#include "hsm/token.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "crypto/aead.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "crypto/rsa.h"
#include "env/env.h"
#include "env/testing.h"
#include "hsm/softhsm.h"

namespace atrest::hsm {
namespace {

using crypto::RsaPadding;
using crypto::RsaSignatureAlgorithm;

constexpr char kLabel[] = "atrest-test";
constexpr RsaPadding kAllPaddings[] = {
    RsaPadding::kOaepSha1, RsaPadding::kOaepSha256, RsaPadding::kPkcs1v15};

std::string Name(RsaPadding padding) {
  return std::string(crypto::RsaPaddingName(padding));
}

Bytes RandomData(size_t size) {
  Bytes out(size);
  crypto::RandomBytes(out);
  return out;
}

Bytes DigestFor(RsaSignatureAlgorithm alg, ByteView message) {
  switch (crypto::DigestSize(alg)) {
    case 32:
      return crypto::Sha256(message);
    case 48:
      return crypto::Sha384(message);
    default:
      return crypto::Sha512(message);
  }
}

int FileMode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

class TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::string> module = FindSoftHsmModule();
    ASSERT_TRUE(module.ok())
        << "SoftHSM2 is required for the hsm tests and is missing; run "
           "scripts/install-deps.sh (Debian package softhsm2): "
        << module.status();
    Result<env::ScopedTempDir> dir = env::ScopedTempDir::Create();
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_.emplace(std::move(dir).value());
    ASSERT_NO_FATAL_FAILURE(Reopen());
  }

  std::string HsmDir() const { return dir_->Join("hsm"); }

  Result<TokenOptions> Prepare() {
    return PrepareSoftHsm(env::Env::Default(), HsmDir(), kLabel);
  }

  // Closes the token (if open) and opens it again the way a restart does.
  void Reopen(ImportMethod method = ImportMethod::kAuto,
              size_t max_sessions = 8) {
    token_.reset();
    Result<TokenOptions> options = Prepare();
    ASSERT_TRUE(options.ok()) << options.status();
    options->import_method = method;
    options->max_sessions = max_sessions;
    Result<std::unique_ptr<Token>> token = Token::Open(*options);
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = std::move(token).value();
  }

  std::string Generate(int bits) {
    Result<std::string> handle = token_->GenerateRsa(bits);
    EXPECT_TRUE(handle.ok()) << handle.status();
    return handle.ok() ? *handle : std::string();
  }

  crypto::RsaPublicKey Public(const std::string& handle) {
    Result<crypto::RsaPublicKey> key = token_->PublicKey(handle);
    EXPECT_TRUE(key.ok()) << key.status();
    return std::move(key).value();
  }

  // Encrypts on the host and decrypts in the token.
  void ExpectRoundTrip(const std::string& handle, RsaPadding padding,
                       size_t size) {
    SCOPED_TRACE(Name(padding) + ", " + std::to_string(size) + " bytes");
    const Bytes plaintext = RandomData(size);
    Result<Bytes> ciphertext = Public(handle).Encrypt(padding, plaintext);
    ASSERT_TRUE(ciphertext.ok()) << ciphertext.status();
    Result<crypto::SecretBytes> decrypted =
        token_->Decrypt(handle, padding, *ciphertext);
    ASSERT_TRUE(decrypted.ok()) << decrypted.status();
    EXPECT_EQ(Bytes(decrypted->RevealSecret().begin(),
                    decrypted->RevealSecret().end()),
              plaintext);
  }

  void ExpectSignatureVerifies(const std::string& handle,
                               const crypto::RsaPublicKey& key,
                               RsaSignatureAlgorithm alg) {
    SCOPED_TRACE(std::string(crypto::RsaSignatureAlgorithmName(alg)));
    const Bytes digest = DigestFor(alg, AsBytes("message to sign"));
    Result<Bytes> signature = token_->Sign(handle, alg, digest);
    ASSERT_TRUE(signature.ok()) << signature.status();
    EXPECT_TRUE(key.Verify(alg, digest, *signature).ok());
    const Bytes other = DigestFor(alg, AsBytes("another message"));
    EXPECT_EQ(key.Verify(alg, other, *signature).code(),
              StatusCode::kPermissionDenied);
  }

  std::optional<env::ScopedTempDir> dir_;
  std::unique_ptr<Token> token_;  // Destroyed before dir_.
};

TEST_F(TokenTest, GeneratesKeysOfEachSizeWithExponentF4) {
  for (int bits : {2048, 3072}) {
    SCOPED_TRACE(bits);
    const std::string handle = Generate(bits);
    EXPECT_EQ(handle.size(), 32u);
    crypto::RsaPublicKey key = Public(handle);
    EXPECT_EQ(key.bits(), bits);
    EXPECT_EQ(key.public_exponent(), (Bytes{1, 0, 1}));
    // The public key round-trips through SPKI, as the vault serves it.
    Result<Bytes> spki = key.ToSpkiDer();
    ASSERT_TRUE(spki.ok()) << spki.status();
    Result<crypto::RsaPublicKey> parsed =
        crypto::RsaPublicKey::FromSpkiDer(*spki);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->modulus(), key.modulus());
    EXPECT_EQ(Public(handle).modulus(), key.modulus());
  }
  EXPECT_NE(Generate(2048), Generate(2048));
}

TEST_F(TokenTest, RejectsUnsupportedKeySizes) {
  for (int bits : {0, 1024, 2047, 8192}) {
    EXPECT_EQ(token_->GenerateRsa(bits).status().code(),
              StatusCode::kInvalidArgument)
        << bits;
  }
}

TEST_F(TokenTest, DecryptsEachPaddingInTheToken) {
  for (int bits : {2048, 3072}) {
    SCOPED_TRACE(bits);
    const std::string handle = Generate(bits);
    const size_t k = static_cast<size_t>(bits) / 8;
    for (RsaPadding padding : kAllPaddings) {
      const size_t max = padding == RsaPadding::kOaepSha1     ? k - 42
                         : padding == RsaPadding::kOaepSha256 ? k - 66
                                                              : k - 11;
      for (size_t size : {size_t{0}, size_t{32}, max}) {
        ExpectRoundTrip(handle, padding, size);
      }
    }
  }
}

TEST_F(TokenTest, TamperedCiphertextGivesTheGenericError) {
  const std::string handle = Generate(2048);
  crypto::RsaPublicKey key = Public(handle);
  for (RsaPadding padding : kAllPaddings) {
    SCOPED_TRACE(Name(padding));
    Result<Bytes> ciphertext = key.Encrypt(padding, RandomData(32));
    ASSERT_TRUE(ciphertext.ok()) << ciphertext.status();
    for (size_t pos : {size_t{0}, size_t{100}, ciphertext->size() - 1}) {
      Bytes tampered = *ciphertext;
      tampered[pos] ^= 0x01;
      EXPECT_EQ(token_->Decrypt(handle, padding, tampered).status(),
                crypto::DecryptionFailed())
          << "byte " << pos;
    }
    // Too short, too long, and a value not below the modulus.
    Bytes shorter(ciphertext->begin(), ciphertext->end() - 1);
    Bytes longer = *ciphertext;
    longer.push_back(0);
    Bytes too_big(ciphertext->size(), 0xff);
    for (const Bytes* bad : {&shorter, &longer, &too_big}) {
      EXPECT_EQ(token_->Decrypt(handle, padding, *bad).status(),
                crypto::DecryptionFailed());
    }
    // Ciphertext for another key.
    Result<crypto::RsaPrivateKey> other = crypto::RsaPrivateKey::Generate(2048);
    ASSERT_TRUE(other.ok());
    Result<Bytes> foreign = other->PublicKey().Encrypt(padding, RandomData(32));
    ASSERT_TRUE(foreign.ok());
    EXPECT_EQ(token_->Decrypt(handle, padding, *foreign).status(),
              crypto::DecryptionFailed());
  }
}

TEST_F(TokenTest, SignaturesVerifyWithThePublicKey) {
  const std::string handle = Generate(2048);
  crypto::RsaPublicKey key = Public(handle);
  for (RsaSignatureAlgorithm alg :
       {RsaSignatureAlgorithm::kRs256, RsaSignatureAlgorithm::kPs256,
        RsaSignatureAlgorithm::kRs512, RsaSignatureAlgorithm::kRs384,
        RsaSignatureAlgorithm::kPs384, RsaSignatureAlgorithm::kPs512}) {
    ExpectSignatureVerifies(handle, key, alg);
  }
  // PSS is randomised; PKCS#1 v1.5 is not.
  const Bytes digest = crypto::Sha256(AsBytes("x"));
  EXPECT_NE(*token_->Sign(handle, RsaSignatureAlgorithm::kPs256, digest),
            *token_->Sign(handle, RsaSignatureAlgorithm::kPs256, digest));
  EXPECT_EQ(*token_->Sign(handle, RsaSignatureAlgorithm::kRs256, digest),
            *token_->Sign(handle, RsaSignatureAlgorithm::kRs256, digest));
  EXPECT_EQ(token_->Sign(handle, RsaSignatureAlgorithm::kRs512, digest)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST_F(TokenTest, ImportedKeyIsUsableAndNotExtractable) {
  for (ImportMethod method :
       {ImportMethod::kAuto, ImportMethod::kCreateObject}) {
    ASSERT_NO_FATAL_FAILURE(Reopen(method));
    // SoftHSM2 can unwrap with AES key wrap, so kAuto picks that.
    EXPECT_EQ(token_->import_method(), method == ImportMethod::kAuto
                                           ? ImportMethod::kUnwrap
                                           : ImportMethod::kCreateObject);
    SCOPED_TRACE(token_->import_method() == ImportMethod::kUnwrap
                     ? "unwrap"
                     : "create object");
    Result<crypto::RsaPrivateKey> software =
        crypto::RsaPrivateKey::Generate(2048);
    ASSERT_TRUE(software.ok()) << software.status();
    Result<std::string> handle = token_->ImportRsa(*software);
    ASSERT_TRUE(handle.ok()) << handle.status();

    EXPECT_EQ(Public(*handle).modulus(), software->PublicKey().modulus());
    for (RsaPadding padding : kAllPaddings) {
      ExpectRoundTrip(*handle, padding, 32);
    }
    // A signature made in the token verifies with the software public key.
    ExpectSignatureVerifies(*handle, software->PublicKey(),
                            RsaSignatureAlgorithm::kPs256);
    ExpectSignatureVerifies(*handle, software->PublicKey(),
                            RsaSignatureAlgorithm::kRs256);
    EXPECT_EQ(token_->TryExportPrivateKey(*handle).code(),
              StatusCode::kPermissionDenied);
  }
}

TEST_F(TokenTest, DestroyRemovesTheKey) {
  const std::string handle = Generate(2048);
  Result<Bytes> ciphertext =
      Public(handle).Encrypt(RsaPadding::kOaepSha256, RandomData(32));
  ASSERT_TRUE(ciphertext.ok());
  ASSERT_TRUE(token_->Destroy(handle).ok());
  EXPECT_EQ(token_->PublicKey(handle).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(token_->Decrypt(handle, RsaPadding::kOaepSha256, *ciphertext)
                .status()
                .code(),
            StatusCode::kNotFound);
  EXPECT_EQ(token_
                ->Sign(handle, RsaSignatureAlgorithm::kRs256,
                       crypto::Sha256(AsBytes("x")))
                .status()
                .code(),
            StatusCode::kNotFound);
  EXPECT_EQ(token_->Destroy(handle).code(), StatusCode::kNotFound);
  // Gone from the token itself, not only from the cache.
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(token_->PublicKey(handle).status().code(), StatusCode::kNotFound);
}

TEST_F(TokenTest, MalformedAndUnknownHandles) {
  for (const char* bad : {"", "xyz", "00112233445566778899aabbccddeeff00",
                          "0011223344556677889gaabbccddeeff"}) {
    EXPECT_EQ(token_->PublicKey(bad).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(token_->PublicKey(HexEncode(RandomData(16))).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(token_->TryExportPrivateKey(HexEncode(RandomData(16))).code(),
            StatusCode::kNotFound);
}

TEST_F(TokenTest, PrivateKeyCannotBeExported) {
  for (int bits : {2048, 3072}) {
    const std::string handle = Generate(bits);
    Status s = token_->TryExportPrivateKey(handle);
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s;
    EXPECT_NE(s.message().find("CKR_ATTRIBUTE_SENSITIVE"), std::string::npos)
        << s;
    EXPECT_NE(s.message().find("C_WrapKey: CKR_KEY_UNEXTRACTABLE"),
              std::string::npos)
        << s;
  }
}

TEST_F(TokenTest, PinFileIsPrivateAndRestartFindsTheKeys) {
  EXPECT_EQ(FileMode(HsmDir()), 0700);
  EXPECT_EQ(FileMode(HsmDir() + "/pin"), 0600);
  const std::string handle = Generate(2048);
  const Bytes modulus = Public(handle).modulus();
  Result<Bytes> ciphertext =
      Public(handle).Encrypt(RsaPadding::kOaepSha1, AsBytes("kept"));
  ASSERT_TRUE(ciphertext.ok());

  token_.reset();
  Result<TokenOptions> first = Prepare();
  Result<TokenOptions> second = Prepare();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(first->pin.Equals(second->pin));
  EXPECT_EQ(FileMode(HsmDir() + "/pin"), 0600);

  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(Public(handle).modulus(), modulus);
  Result<crypto::SecretBytes> plaintext =
      token_->Decrypt(handle, RsaPadding::kOaepSha1, *ciphertext);
  ASSERT_TRUE(plaintext.ok()) << plaintext.status();
  EXPECT_EQ(AsString(plaintext->RevealSecret()), "kept");
}

TEST_F(TokenTest, WrongPinAndUnknownLabelAreRefused) {
  token_.reset();
  Result<TokenOptions> options = Prepare();
  ASSERT_TRUE(options.ok()) << options.status();
  const std::string wrong = "wrong-pin-1234";
  TokenOptions bad_pin{options->module_path, options->token_label,
                       crypto::SecretBytes::CopyFrom(AsBytes(wrong))};
  Result<std::unique_ptr<Token>> token = Token::Open(bad_pin);
  EXPECT_EQ(token.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(token.status().message().find("CKR_PIN_INCORRECT"),
            std::string::npos)
      << token.status();
  EXPECT_EQ(token.status().message().find(wrong), std::string::npos);

  TokenOptions bad_label{options->module_path, "no-such-token",
                         options->pin.Clone()};
  EXPECT_EQ(Token::Open(bad_label).status().code(), StatusCode::kNotFound);
  TokenOptions bad_module{"/nonexistent/libpkcs11.so", kLabel,
                          options->pin.Clone()};
  EXPECT_EQ(Token::Open(bad_module).status().code(),
            StatusCode::kFailedPrecondition);
  // The right PIN still works afterwards.
  EXPECT_TRUE(Token::Open(*options).ok());
}

TEST_F(TokenTest, OneTokenPerProcess) {
  Result<TokenOptions> options = Prepare();
  EXPECT_EQ(options.status().code(), StatusCode::kFailedPrecondition)
      << options.status();
  token_.reset();
  options = Prepare();
  ASSERT_TRUE(options.ok()) << options.status();
  Result<std::unique_ptr<Token>> first = Token::Open(*options);
  ASSERT_TRUE(first.ok()) << first.status();
  Result<std::unique_ptr<Token>> second = Token::Open(*options);
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition)
      << second.status();
  // The failed second Open must leave the first one working.
  EXPECT_TRUE((*first)->GenerateRsa(2048).ok());
}

TEST_F(TokenTest, PrepareRefusesAPartialDirectory) {
  token_.reset();
  ASSERT_EQ(std::remove((HsmDir() + "/pin").c_str()), 0);
  Result<TokenOptions> options = Prepare();
  EXPECT_EQ(options.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(options.status().message().find("PIN file"), std::string::npos);

  // A PIN file without its token: a fresh directory with a PIN in it.
  const std::string other = dir_->Join("other");
  ASSERT_TRUE(env::Env::Default().fs().CreateDirs(other).ok());
  ASSERT_TRUE(env::WriteFileAtomically(env::Env::Default().fs(), other + "/pin",
                                       AsBytes("1234\n"))
                  .ok());
  options = PrepareSoftHsm(env::Env::Default(), other, kLabel);
  EXPECT_EQ(options.status().code(), StatusCode::kFailedPrecondition);
}

class ConcurrencyTest : public TokenTest,
                        public ::testing::WithParamInterface<size_t> {};

// Eight threads over as many sessions, and over two (most threads wait for
// a session).
INSTANTIATE_TEST_SUITE_P(Sessions, ConcurrencyTest, ::testing::Values(8, 2));

TEST_P(ConcurrencyTest, DecryptsFromEightThreads) {
  ASSERT_NO_FATAL_FAILURE(Reopen(ImportMethod::kAuto, GetParam()));
  const std::string handle = Generate(2048);
  crypto::RsaPublicKey key = Public(handle);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  struct Case {
    RsaPadding padding;
    Bytes plaintext;
    Bytes ciphertext;
  };
  std::vector<std::vector<Case>> cases(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      RsaPadding padding = kAllPaddings[(t + i) % 3];
      Bytes plaintext = RandomData(32);
      Result<Bytes> ciphertext = key.Encrypt(padding, plaintext);
      ASSERT_TRUE(ciphertext.ok());
      cases[t].push_back({padding, std::move(plaintext), *ciphertext});
    }
  }
  std::atomic<int> good{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const Case& c : cases[t]) {
        Result<crypto::SecretBytes> out =
            token_->Decrypt(handle, c.padding, c.ciphertext);
        const bool ok =
            out.ok() && Bytes(out->RevealSecret().begin(),
                              out->RevealSecret().end()) == c.plaintext;
        (ok ? good : bad).fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(good.load(), kThreads * kPerThread);
}

}  // namespace
}  // namespace atrest::hsm
