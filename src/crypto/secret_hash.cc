#include "crypto/secret_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <charconv>
#include <vector>

#include "base/base64.h"
#include "crypto/random.h"

namespace atrest::crypto {
namespace {

constexpr std::string_view kScheme = "pbkdf2-sha256";
constexpr size_t kSaltSize = 16;
constexpr size_t kHashSize = 32;
constexpr int kMaxIterations = 10'000'000;

bool Derive(std::string_view secret, ByteView salt, int iterations,
            uint8_t* out) {
  return PKCS5_PBKDF2_HMAC(secret.data(), static_cast<int>(secret.size()),
                           salt.data(), static_cast<int>(salt.size()),
                           iterations, EVP_sha256(), kHashSize, out) == 1;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

}  // namespace

Result<std::string> HashSecret(std::string_view secret, int iterations) {
  if (iterations < 1 || iterations > kMaxIterations) {
    return InvalidArgumentError("iterations out of range");
  }
  uint8_t salt[kSaltSize];
  RandomBytes(salt);
  uint8_t hash[kHashSize];
  if (!Derive(secret, salt, iterations, hash)) {
    return InternalError("PBKDF2 failed");
  }
  // Appended piece by piece: g++ 12 at -O3 warns falsely (-Wrestrict) on
  // one long chain of operator+.
  std::string out(kScheme);
  out += '$';
  out += std::to_string(iterations);
  out += '$';
  out += Base64UrlEncode(salt);
  out += '$';
  out += Base64UrlEncode(hash);
  OPENSSL_cleanse(hash, sizeof(hash));
  return out;
}

bool VerifySecret(std::string_view secret, std::string_view encoded) {
  std::vector<std::string_view> parts = Split(encoded, '$');
  if (parts.size() != 4 || parts[0] != kScheme) return false;
  int iterations = 0;
  auto [end, ec] = std::from_chars(
      parts[1].data(), parts[1].data() + parts[1].size(), iterations);
  if (ec != std::errc() || end != parts[1].data() + parts[1].size() ||
      iterations < 1 || iterations > kMaxIterations) {
    return false;
  }
  Result<Bytes> salt = Base64UrlDecode(parts[2]);
  Result<Bytes> want = Base64UrlDecode(parts[3]);
  if (!salt.ok() || !want.ok() || want->size() != kHashSize) return false;
  uint8_t got[kHashSize];
  bool ok = Derive(secret, *salt, iterations, got) &&
            CRYPTO_memcmp(got, want->data(), kHashSize) == 0;
  OPENSSL_cleanse(got, sizeof(got));
  return ok;
}

}  // namespace atrest::crypto
