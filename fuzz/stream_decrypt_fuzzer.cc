// Fuzzes the two stream decrypters of crypto/streaming_aead.h with untrusted
// ciphertext (input layout: fuzz/stream_fuzz_input.h).
//
// Invariants, each checked with abort():
//  - every failure is exactly DecryptionFailed() (OutOfRange for a Read
//    range past the end), and a failed StreamDecrypter stays failed;
//  - the result does not depend on how the stream is chunked;
//  - StreamDecrypter succeeds only on a canonical stream: re-encrypting its
//    output under the stream's own header, with an independent
//    implementation of docs/format.md written here against OpenSSL,
//    reproduces the input byte for byte. So no truncated, extended,
//    reordered or tampered stream is ever accepted;
//  - RandomAccessDecrypter agrees: it opens every stream StreamDecrypter
//    accepts, with the same plaintext size and bytes; and when it can read
//    the whole plaintext of a stream, StreamDecrypter accepted that stream.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/secret_bytes.h"
#include "crypto/stream_format.h"
#include "crypto/streaming_aead.h"
#include "env/env.h"
#include "fuzz_check.h"
#include "stream_fuzz_input.h"

namespace atrest::fuzz {
namespace {

namespace sf = crypto::stream_format;

const crypto::SecretBytes& Key() {
  static const crypto::SecretBytes key = crypto::SecretBytes::CopyFrom(kKey);
  return key;
}

ByteView AssociatedData() { return AsBytes(kAssociatedData); }

bool IsDecryptionFailed(const Status& s) {
  return s == crypto::DecryptionFailed();
}

// A read-only file over a buffer the caller keeps alive.
class MemoryFile : public env::RandomAccessFile {
 public:
  explicit MemoryFile(ByteView data) : data_(data) {}

  Result<size_t> ReadAt(uint64_t offset, MutableByteView out) const override {
    if (offset >= data_.size()) return size_t{0};
    const size_t n = std::min<uint64_t>(out.size(), data_.size() - offset);
    std::memcpy(out.data(), data_.data() + offset, n);
    return n;
  }
  uint64_t Size() const override { return data_.size(); }

 private:
  ByteView data_;
};

// StreamDecrypter over `stream`, fed in chunks of chunk(0), chunk(1), ...
// Returns the plaintext, or nullopt after checking how it failed.
std::optional<Bytes> DecryptStreaming(
    ByteView stream, const std::function<size_t(size_t)>& chunk) {
  Bytes plaintext;
  auto dec = crypto::StreamDecrypter::Create(
      Key(), AssociatedData(), [&plaintext](ByteView b) {
        plaintext.insert(plaintext.end(), b.begin(), b.end());
        return Status::Ok();
      });
  FUZZ_CHECK(dec.ok());
  Status st;
  for (size_t k = 0, pos = 0; st.ok() && pos < stream.size(); ++k) {
    const size_t n = std::min(chunk(k), stream.size() - pos);
    st = (*dec)->Update(stream.subspan(pos, n));
    pos += n;
  }
  if (st.ok()) st = (*dec)->Finish();
  if (st.ok()) {
    // Finished means closed.
    FUZZ_CHECK((*dec)->Finish().code() == StatusCode::kFailedPrecondition);
    return plaintext;
  }
  FUZZ_CHECK(IsDecryptionFailed(st));
  // Errors are permanent.
  FUZZ_CHECK((*dec)->Update(stream.first(std::min<size_t>(1, stream.size()))) ==
             st);
  FUZZ_CHECK((*dec)->Finish() == st);
  return std::nullopt;
}

// The HKDF label of docs/format.md, spelled out again here rather than taken
// from crypto/stream_format.h: this is the independent implementation.
constexpr std::string_view kInfoLabel = "atrest stream v1";
static_assert(kInfoLabel == sf::kInfoLabel);

// HKDF-SHA256 straight from OpenSSL, not through crypto/hkdf.h.
bool Hkdf(ByteView ikm, ByteView salt, ByteView info, uint8_t* out,
          size_t len) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* ctx = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info.data()), info.size()),
      OSSL_PARAM_construct_end()};
  const bool ok = ctx && EVP_KDF_derive(ctx, out, len, params) == 1;
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
  return ok;
}

// The stream docs/format.md defines for `plaintext` under the header that
// `stream` starts with (its salt, nonce prefix and segment size).
std::optional<Bytes> Reencrypt(ByteView stream, ByteView plaintext) {
  if (stream.size() < sf::kHeaderSize) return std::nullopt;
  const uint32_t seg = LoadBigEndian32(stream.data() + sf::kSegmentSizeOffset);
  if (seg < sf::kMinSegmentSize || seg > sf::kMaxSegmentSize) {
    return std::nullopt;
  }
  Bytes out(stream.begin(), stream.begin() + sf::kBoundHeaderSize);
  // The fields a writer sets to constants.
  std::memcpy(out.data() + sf::kMagicOffset, sf::kMagic, sizeof(sf::kMagic));
  out[sf::kVersionOffset] = sf::kVersion;
  out[sf::kSuiteOffset] = sf::kSuiteAes256GcmHkdfSha256;
  out[sf::kReserved1Offset] = out[sf::kReserved1Offset + 1] = 0;
  out[sf::kReserved2Offset] = 0;

  Bytes info(kInfoLabel.begin(), kInfoLabel.end());
  info.insert(info.end(), out.begin(), out.end());
  info.insert(info.end(), kAssociatedData.begin(), kAssociatedData.end());
  uint8_t okm[64];
  FUZZ_CHECK(Hkdf(kKey, ByteView(out).subspan(sf::kSaltOffset, sf::kSaltSize),
                  info, okm, sizeof(okm)));
  out.insert(out.end(), okm + 32, okm + 64);  // Commitment.

  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  FUZZ_CHECK(ctx != nullptr);
  const uint64_t n = plaintext.empty() ? 1 : (plaintext.size() + seg - 1) / seg;
  for (uint64_t i = 0; i < n; ++i) {
    uint8_t nonce[sf::kNonceSize];
    std::memcpy(nonce, out.data() + sf::kNoncePrefixOffset,
                sf::kNoncePrefixSize);
    StoreBigEndian32(static_cast<uint32_t>(i), nonce + sf::kNoncePrefixSize);
    nonce[sf::kNonceSize - 1] = i + 1 == n ? 1 : 0;
    ByteView pt = plaintext.subspan(
        i * seg, std::min<uint64_t>(seg, plaintext.size() - i * seg));
    const size_t at = out.size();
    out.resize(at + pt.size() + sf::kTagSize);
    int len = 0;
    FUZZ_CHECK(
        EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), okm, nonce, nullptr) == 1);
    FUZZ_CHECK(EVP_EncryptUpdate(ctx, out.data() + at, &len, pt.data(),
                                 static_cast<int>(pt.size())) == 1);
    FUZZ_CHECK(EVP_EncryptFinal_ex(ctx, out.data() + at + len, &len) == 1);
    FUZZ_CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, sf::kTagSize,
                                   out.data() + at + pt.size()) == 1);
  }
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

void CheckRandomAccess(const uint8_t* control, ByteView stream,
                       const std::optional<Bytes>& streamed) {
  MemoryFile file(stream);
  auto ra = crypto::RandomAccessDecrypter::Open(Key(), AssociatedData(), file);
  if (!ra.ok()) {
    FUZZ_CHECK(IsDecryptionFailed(ra.status()));
    FUZZ_CHECK(!streamed);  // It opens every valid stream.
    return;
  }
  const uint64_t size = (*ra)->plaintext_size();
  FUZZ_CHECK((*ra)->segment_size() ==
             LoadBigEndian32(stream.data() + sf::kSegmentSizeOffset));
  if (streamed) FUZZ_CHECK(size == streamed->size());

  auto read = [&](uint64_t offset, uint64_t length, Bytes& got) {
    got.clear();
    return (*ra)->Read(offset, length, [&got](ByteView b) {
      got.insert(got.end(), b.begin(), b.end());
      return Status::Ok();
    });
  };

  Bytes got;
  const Range r = ReadRange(control, size);
  Status st = read(r.offset, r.length, got);
  if (r.offset + r.length > size) {
    FUZZ_CHECK(st.code() == StatusCode::kOutOfRange);
    FUZZ_CHECK(got.empty());
  } else if (st.ok()) {
    FUZZ_CHECK(got.size() == r.length);
    if (streamed) {
      FUZZ_CHECK(
          std::equal(got.begin(), got.end(), streamed->begin() + r.offset));
    }
  } else {
    FUZZ_CHECK(IsDecryptionFailed(st));
    FUZZ_CHECK(!streamed);
  }

  // Reading everything verifies every segment: the two decrypters must
  // agree on whether the stream is valid.
  st = read(0, size, got);
  if (st.ok()) {
    FUZZ_CHECK(streamed.has_value());
    FUZZ_CHECK(got == *streamed);
  } else {
    FUZZ_CHECK(IsDecryptionFailed(st));
    FUZZ_CHECK(!streamed);
  }
}

int Run(const uint8_t* data, size_t size) {
  if (size < kControlSize || size > kMaxInputSize) return 0;
  const uint8_t* control = data;
  const ByteView stream(data + kControlSize, size - kControlSize);

  const std::optional<Bytes> chunked = DecryptStreaming(
      stream, [control](size_t k) { return ChunkSize(control, k); });
  const std::optional<Bytes> whole =
      DecryptStreaming(stream, [](size_t) { return SIZE_MAX; });
  FUZZ_CHECK(chunked == whole);

  if (chunked) {
    const std::optional<Bytes> expected = Reencrypt(stream, *chunked);
    FUZZ_CHECK(expected.has_value());
    FUZZ_CHECK(std::equal(expected->begin(), expected->end(), stream.begin(),
                          stream.end()));
  }
  CheckRandomAccess(control, stream, chunked);
  return 0;
}

}  // namespace
}  // namespace atrest::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return atrest::fuzz::Run(data, size);
}
