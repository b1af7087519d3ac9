#include "crypto/streaming_aead.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "crypto/aead.h"
#include "crypto/hkdf.h"
#include "crypto/openssl_util.h"
#include "crypto/random.h"

namespace atrest::crypto {
namespace {

namespace sf = stream_format;
using internal::CipherCtxPtr;

// A buffer of one segment, allocated without zero-filling (it is always
// written before it is read) and wiped once when the stream ends, not after
// every segment: per-segment wiping cost 10-15% of decrypt throughput
// (docs/benchmarks.md), and the plaintext it held has already gone to the
// sink by then.
class SegmentBuffer {
 public:
  SegmentBuffer() = default;
  explicit SegmentBuffer(size_t size) : data_(new uint8_t[size]), size_(size) {}
  SegmentBuffer(SegmentBuffer&&) noexcept = default;
  SegmentBuffer& operator=(SegmentBuffer&& other) noexcept {
    Wipe();
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }
  ~SegmentBuffer() { Wipe(); }
  uint8_t* data() { return data_.get(); }

 private:
  void Wipe() {
    if (data_) OPENSSL_cleanse(data_.get(), size_);
  }
  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

struct Header {
  uint32_t segment_size = 0;
  uint8_t bound[sf::kBoundHeaderSize] = {};  // Header bytes fed to HKDF.
};

// The per-stream key schedule: AES-256-GCM keyed once, nonce set per segment.
class SegmentCipher {
 public:
  static Result<SegmentCipher> Create(const SecretBytes& segment_key,
                                      const uint8_t* nonce_prefix,
                                      bool encrypt) {
    SegmentCipher c;
    c.ctx_.reset(EVP_CIPHER_CTX_new());
    if (!c.ctx_ || EVP_CipherInit_ex2(c.ctx_.get(), internal::Aes256Gcm(),
                                      segment_key.RevealSecret().data(),
                                      nullptr, encrypt ? 1 : 0, nullptr) != 1) {
      return internal::OpenSslError("initialising the segment cipher");
    }
    std::memcpy(c.nonce_, nonce_prefix, sf::kNoncePrefixSize);
    return c;
  }

  // Writes plaintext.size() + 16 bytes to `out`.
  Status Seal(uint64_t index, bool last, ByteView plaintext, uint8_t* out) {
    SetNonce(index, last);
    int len = 0;
    if (EVP_EncryptInit_ex2(ctx_.get(), nullptr, nullptr, nonce_, nullptr) !=
            1 ||
        EVP_EncryptUpdate(ctx_.get(), out, &len, plaintext.data(),
                          static_cast<int>(plaintext.size())) != 1 ||
        EVP_EncryptFinal_ex(ctx_.get(), out + len, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_GCM_GET_TAG, sf::kTagSize,
                            out + plaintext.size()) != 1) {
      return internal::OpenSslError("sealing a segment");
    }
    return Status::Ok();
  }

  // Writes segment.size() - 16 bytes to `out`; false if it does not verify.
  bool Open(uint64_t index, bool last, ByteView segment, uint8_t* out) {
    if (segment.size() < sf::kTagSize) return false;
    const size_t body = segment.size() - sf::kTagSize;
    SetNonce(index, last);
    int len = 0;
    bool ok =
        EVP_DecryptInit_ex2(ctx_.get(), nullptr, nullptr, nonce_, nullptr) ==
            1 &&
        EVP_DecryptUpdate(ctx_.get(), out, &len, segment.data(),
                          static_cast<int>(body)) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_GCM_SET_TAG, sf::kTagSize,
                            const_cast<uint8_t*>(segment.data() + body)) == 1 &&
        EVP_DecryptFinal_ex(ctx_.get(), out + len, &len) == 1;
    if (!ok) {
      internal::ClearOpenSslErrors();
      OPENSSL_cleanse(out, body);
    }
    return ok;
  }

 private:
  void SetNonce(uint64_t index, bool last) {
    StoreBigEndian32(static_cast<uint32_t>(index),
                     nonce_ + sf::kNoncePrefixSize);
    nonce_[sf::kNonceSize - 1] = last ? 1 : 0;
  }

  CipherCtxPtr ctx_;
  uint8_t nonce_[sf::kNonceSize] = {};
};

struct StreamKeys {
  SecretBytes segment_key;
  SecretBytes commitment;
};

Result<StreamKeys> DeriveKeys(const SecretBytes& data_key, const Header& h,
                              ByteView associated_data) {
  if (data_key.size() != kAes256KeySize) {
    return InvalidArgumentError("stream data key must be 32 bytes");
  }
  Bytes info(sf::kInfoLabel.begin(), sf::kInfoLabel.end());
  info.insert(info.end(), h.bound, h.bound + sf::kBoundHeaderSize);
  info.insert(info.end(), associated_data.begin(), associated_data.end());
  ASSIGN_OR_RETURN(
      SecretBytes okm,
      HkdfSha256(data_key.RevealSecret(),
                 ByteView(h.bound + sf::kSaltOffset, sf::kSaltSize), info,
                 2 * kAes256KeySize));
  ByteView all = okm.RevealSecret();
  return StreamKeys{SecretBytes::CopyFrom(all.first(kAes256KeySize)),
                    SecretBytes::CopyFrom(all.subspan(kAes256KeySize))};
}

Header NewHeader(uint32_t segment_size) {
  Header h;
  std::memcpy(h.bound + sf::kMagicOffset, sf::kMagic, sizeof(sf::kMagic));
  h.bound[sf::kVersionOffset] = sf::kVersion;
  h.bound[sf::kSuiteOffset] = sf::kSuiteAes256GcmHkdfSha256;
  StoreBigEndian32(segment_size, h.bound + sf::kSegmentSizeOffset);
  RandomBytes(MutableByteView(h.bound + sf::kSaltOffset,
                              sf::kSaltSize + sf::kNoncePrefixSize));
  h.segment_size = segment_size;
  return h;
}

// A header that passed its commitment check.
struct OpenedHeader {
  uint32_t segment_size = 0;
  uint8_t nonce_prefix[sf::kNoncePrefixSize] = {};
  SecretBytes segment_key;

  Result<SegmentCipher> NewCipher() const {
    return SegmentCipher::Create(segment_key, nonce_prefix, /*encrypt=*/false);
  }
};

// Parses and authenticates a header; DecryptionFailed() for anything wrong.
Result<OpenedHeader> OpenHeader(const SecretBytes& data_key,
                                ByteView associated_data, ByteView bytes) {
  if (bytes.size() < sf::kHeaderSize) return DecryptionFailed();
  Header h;
  std::memcpy(h.bound, bytes.data(), sf::kBoundHeaderSize);
  h.segment_size = LoadBigEndian32(h.bound + sf::kSegmentSizeOffset);
  if (std::memcmp(h.bound, sf::kMagic, sizeof(sf::kMagic)) != 0 ||
      h.bound[sf::kVersionOffset] != sf::kVersion ||
      h.bound[sf::kSuiteOffset] != sf::kSuiteAes256GcmHkdfSha256 ||
      h.bound[sf::kReserved1Offset] != 0 ||
      h.bound[sf::kReserved1Offset + 1] != 0 ||
      h.bound[sf::kReserved2Offset] != 0 ||
      h.segment_size < sf::kMinSegmentSize ||
      h.segment_size > sf::kMaxSegmentSize) {
    return DecryptionFailed();
  }
  ASSIGN_OR_RETURN(StreamKeys keys, DeriveKeys(data_key, h, associated_data));
  if (CRYPTO_memcmp(keys.commitment.RevealSecret().data(),
                    bytes.data() + sf::kCommitmentOffset,
                    sf::kCommitmentSize) != 0) {
    return DecryptionFailed();
  }
  OpenedHeader opened;
  opened.segment_size = h.segment_size;
  std::memcpy(opened.nonce_prefix, h.bound + sf::kNoncePrefixOffset,
              sf::kNoncePrefixSize);
  opened.segment_key = std::move(keys.segment_key);
  return opened;
}

}  // namespace

// ---------------------------------------------------------------------------
// StreamEncrypter

struct StreamEncrypter::State {
  Sink sink;
  SegmentCipher cipher;
  uint8_t header[sf::kHeaderSize] = {};
  uint32_t segment_size = 0;
  Bytes pending;      // Plaintext not yet sealed (< one segment).
  SegmentBuffer out;  // One sealed segment.
  uint64_t next_index = 0;
  bool header_written = false;
  bool finished = false;
  Status status;

  Status Fail(Status s) {
    if (!s.ok() && status.ok()) status = s;
    return s;
  }

  Status WriteHeader() {
    if (header_written) return Status::Ok();
    header_written = true;
    return sink(ByteView(header, sf::kHeaderSize));
  }

  Status Seal(ByteView plaintext, bool last) {
    if (next_index >= sf::kMaxSegments ||
        (!last && next_index == sf::kMaxSegments - 1)) {
      return OutOfRangeError("stream exceeds 2^32 segments");
    }
    RETURN_IF_ERROR(cipher.Seal(next_index, last, plaintext, out.data()));
    ++next_index;
    return sink(ByteView(out.data(), plaintext.size() + sf::kTagSize));
  }
};

Result<std::unique_ptr<StreamEncrypter>> StreamEncrypter::Create(
    const SecretBytes& data_key, ByteView associated_data, Sink sink,
    StreamParams params) {
  if (params.segment_size < sf::kMinSegmentSize ||
      params.segment_size > sf::kMaxSegmentSize) {
    return InvalidArgumentError("segment_size must be 16 bytes to 16 MiB");
  }
  if (!sink) return InvalidArgumentError("stream sink is empty");
  Header h = NewHeader(params.segment_size);
  ASSIGN_OR_RETURN(StreamKeys keys, DeriveKeys(data_key, h, associated_data));
  ASSIGN_OR_RETURN(
      SegmentCipher cipher,
      SegmentCipher::Create(keys.segment_key, h.bound + sf::kNoncePrefixOffset,
                            /*encrypt=*/true));
  auto state = std::make_unique<State>();
  state->sink = std::move(sink);
  state->cipher = std::move(cipher);
  state->segment_size = params.segment_size;
  state->out = SegmentBuffer(params.segment_size + sf::kTagSize);
  std::memcpy(state->header, h.bound, sf::kBoundHeaderSize);
  std::memcpy(state->header + sf::kCommitmentOffset,
              keys.commitment.RevealSecret().data(), sf::kCommitmentSize);
  state->pending.reserve(params.segment_size);
  return std::unique_ptr<StreamEncrypter>(
      new StreamEncrypter(std::move(state)));
}

StreamEncrypter::StreamEncrypter(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
StreamEncrypter::~StreamEncrypter() = default;

Status StreamEncrypter::Update(ByteView plaintext) {
  State& s = *state_;
  if (!s.status.ok()) return s.status;
  if (s.finished) return FailedPreconditionError("stream already finished");
  RETURN_IF_ERROR(s.Fail(s.WriteHeader()));
  const size_t seg = s.segment_size;
  // A full segment is sealed as non-final only once a byte after it is known
  // to exist; the segment that may be last waits in `pending`.
  while (s.pending.size() + plaintext.size() > seg) {
    ByteView segment;
    if (s.pending.empty()) {
      segment = plaintext.first(seg);
      plaintext = plaintext.subspan(seg);
    } else {
      const size_t need = seg - s.pending.size();
      s.pending.insert(s.pending.end(), plaintext.begin(),
                       plaintext.begin() + need);
      plaintext = plaintext.subspan(need);
      segment = s.pending;
    }
    RETURN_IF_ERROR(s.Fail(s.Seal(segment, /*last=*/false)));
    s.pending.clear();
  }
  s.pending.insert(s.pending.end(), plaintext.begin(), plaintext.end());
  return Status::Ok();
}

Status StreamEncrypter::Finish() {
  State& s = *state_;
  if (!s.status.ok()) return s.status;
  if (s.finished) return FailedPreconditionError("stream already finished");
  RETURN_IF_ERROR(s.Fail(s.WriteHeader()));
  RETURN_IF_ERROR(s.Fail(s.Seal(s.pending, /*last=*/true)));
  OPENSSL_cleanse(s.pending.data(), s.pending.size());
  s.pending.clear();
  s.finished = true;
  return Status::Ok();
}

uint64_t StreamEncrypter::CiphertextSize(uint64_t plaintext_size,
                                         uint32_t segment_size) {
  uint64_t segments = plaintext_size == 0
                          ? 1
                          : (plaintext_size + segment_size - 1) / segment_size;
  return sf::kHeaderSize + plaintext_size + segments * sf::kTagSize;
}

// ---------------------------------------------------------------------------
// StreamDecrypter

struct StreamDecrypter::State {
  SecretBytes data_key;  // Wiped once the header is open.
  Bytes associated_data;
  Sink sink;
  Bytes header;
  std::optional<SegmentCipher> cipher;
  uint32_t segment_size = 0;
  Bytes pending;  // Ciphertext of the segment that may be the last one.
  SegmentBuffer out;
  uint64_t next_index = 0;
  bool finished = false;
  Status status;

  Status Fail(Status s) {
    if (!s.ok() && status.ok()) status = s;
    return s;
  }

  Status Open(ByteView segment, bool last) {
    if (next_index >= sf::kMaxSegments) return DecryptionFailed();
    const size_t body = segment.size() - sf::kTagSize;
    if (last && body == 0 && next_index != 0) return DecryptionFailed();
    if (!cipher->Open(next_index, last, segment, out.data())) {
      return DecryptionFailed();
    }
    ++next_index;
    return sink(ByteView(out.data(), body));
  }
};

Result<std::unique_ptr<StreamDecrypter>> StreamDecrypter::Create(
    const SecretBytes& data_key, ByteView associated_data, Sink sink) {
  if (data_key.size() != kAes256KeySize) {
    return InvalidArgumentError("stream data key must be 32 bytes");
  }
  if (!sink) return InvalidArgumentError("stream sink is empty");
  auto state = std::make_unique<State>();
  state->data_key = data_key.Clone();
  state->associated_data.assign(associated_data.begin(), associated_data.end());
  state->sink = std::move(sink);
  state->header.reserve(sf::kHeaderSize);
  return std::unique_ptr<StreamDecrypter>(
      new StreamDecrypter(std::move(state)));
}

StreamDecrypter::StreamDecrypter(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
StreamDecrypter::~StreamDecrypter() = default;

Status StreamDecrypter::Update(ByteView ciphertext) {
  State& s = *state_;
  if (!s.status.ok()) return s.status;
  if (s.finished) return FailedPreconditionError("stream already finished");
  if (!s.cipher) {
    const size_t need =
        std::min(sf::kHeaderSize - s.header.size(), ciphertext.size());
    s.header.insert(s.header.end(), ciphertext.begin(),
                    ciphertext.begin() + need);
    ciphertext = ciphertext.subspan(need);
    if (s.header.size() < sf::kHeaderSize) return Status::Ok();
    Result<OpenedHeader> opened =
        OpenHeader(s.data_key, s.associated_data, s.header);
    s.data_key = SecretBytes();
    if (!opened.ok()) return s.Fail(opened.status());
    Result<SegmentCipher> cipher = opened->NewCipher();
    if (!cipher.ok()) return s.Fail(cipher.status());
    s.cipher.emplace(std::move(cipher).value());
    s.segment_size = opened->segment_size;
    s.pending.reserve(s.segment_size + sf::kTagSize);
    s.out = SegmentBuffer(s.segment_size);
  }
  const size_t seg = s.segment_size + sf::kTagSize;
  // As in the encrypter: a full segment is opened as non-final only when
  // more ciphertext follows it.
  while (s.pending.size() + ciphertext.size() > seg) {
    ByteView segment;
    if (s.pending.empty()) {
      segment = ciphertext.first(seg);
      ciphertext = ciphertext.subspan(seg);
    } else {
      const size_t need = seg - s.pending.size();
      s.pending.insert(s.pending.end(), ciphertext.begin(),
                       ciphertext.begin() + need);
      ciphertext = ciphertext.subspan(need);
      segment = s.pending;
    }
    RETURN_IF_ERROR(s.Fail(s.Open(segment, /*last=*/false)));
    s.pending.clear();
  }
  s.pending.insert(s.pending.end(), ciphertext.begin(), ciphertext.end());
  return Status::Ok();
}

Status StreamDecrypter::Finish() {
  State& s = *state_;
  if (!s.status.ok()) return s.status;
  if (s.finished) return FailedPreconditionError("stream already finished");
  if (!s.cipher || s.pending.size() < sf::kTagSize) {
    return s.Fail(DecryptionFailed());
  }
  RETURN_IF_ERROR(s.Fail(s.Open(s.pending, /*last=*/true)));
  s.finished = true;
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// RandomAccessDecrypter

struct RandomAccessDecrypter::State {
  const env::RandomAccessFile& file;
  SecretBytes segment_key;
  uint8_t nonce_prefix[sf::kNoncePrefixSize];
  uint32_t segment_size;
  uint64_t segments;
  uint64_t plaintext_size;

  uint64_t SegmentOffset(uint64_t i) const {
    return sf::kHeaderSize + i * (uint64_t{segment_size} + sf::kTagSize);
  }
  uint64_t SegmentCiphertextSize(uint64_t i) const {
    if (i + 1 < segments) return uint64_t{segment_size} + sf::kTagSize;
    return file.Size() - SegmentOffset(i);
  }

  // Reads and opens segment i into `pt`; returns its plaintext length.
  Result<size_t> ReadSegment(SegmentCipher& cipher, uint64_t i, Bytes& ct,
                             Bytes& pt) const {
    const size_t n = SegmentCiphertextSize(i);
    ct.resize(n);
    ASSIGN_OR_RETURN(size_t got, file.ReadAt(SegmentOffset(i), ct));
    if (got != n) return DecryptionFailed();  // The file shrank under us.
    pt.resize(n - sf::kTagSize);
    if (!cipher.Open(i, i + 1 == segments, ct, pt.data())) {
      return DecryptionFailed();
    }
    return n - sf::kTagSize;
  }
};

Result<std::unique_ptr<RandomAccessDecrypter>> RandomAccessDecrypter::Open(
    const SecretBytes& data_key, ByteView associated_data,
    const env::RandomAccessFile& file) {
  const uint64_t size = file.Size();
  if (size < sf::kHeaderSize + sf::kTagSize) return DecryptionFailed();
  uint8_t header[sf::kHeaderSize];
  ASSIGN_OR_RETURN(size_t got, file.ReadAt(0, header));
  if (got != sf::kHeaderSize) return DecryptionFailed();

  ASSIGN_OR_RETURN(OpenedHeader opened,
                   OpenHeader(data_key, associated_data, header));
  ASSIGN_OR_RETURN(SegmentCipher check, opened.NewCipher());
  const uint32_t segment_size = opened.segment_size;

  const uint64_t body = size - sf::kHeaderSize;
  const uint64_t seg = uint64_t{segment_size} + sf::kTagSize;
  const uint64_t segments = (body + seg - 1) / seg;
  const uint64_t last_size = body - (segments - 1) * seg;
  if (segments > sf::kMaxSegments || last_size < sf::kTagSize ||
      (segments > 1 && last_size == sf::kTagSize)) {
    return DecryptionFailed();
  }
  auto state = std::unique_ptr<State>(new State{
      .file = file,
      .segment_key = std::move(opened.segment_key),
      .nonce_prefix = {},
      .segment_size = segment_size,
      .segments = segments,
      .plaintext_size =
          (segments - 1) * uint64_t{segment_size} + last_size - sf::kTagSize,
  });
  std::memcpy(state->nonce_prefix, opened.nonce_prefix, sf::kNoncePrefixSize);
  // Authenticate the final segment so that the size is trustworthy.
  Bytes ct, pt;
  ASSIGN_OR_RETURN(size_t unused,
                   state->ReadSegment(check, segments - 1, ct, pt));
  (void)unused;
  OPENSSL_cleanse(pt.data(), pt.size());
  return std::unique_ptr<RandomAccessDecrypter>(
      new RandomAccessDecrypter(std::move(state)));
}

RandomAccessDecrypter::RandomAccessDecrypter(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
RandomAccessDecrypter::~RandomAccessDecrypter() = default;

uint64_t RandomAccessDecrypter::plaintext_size() const {
  return state_->plaintext_size;
}
uint32_t RandomAccessDecrypter::segment_size() const {
  return state_->segment_size;
}

Status RandomAccessDecrypter::Read(uint64_t offset, uint64_t length,
                                   const Sink& sink) const {
  const State& s = *state_;
  if (offset > s.plaintext_size || length > s.plaintext_size - offset) {
    return OutOfRangeError("range ends past the end of the object");
  }
  if (length == 0) return Status::Ok();
  ASSIGN_OR_RETURN(SegmentCipher cipher,
                   SegmentCipher::Create(s.segment_key, s.nonce_prefix,
                                         /*encrypt=*/false));
  Bytes ct, pt;
  struct WipeOnExit {
    Bytes& bytes;
    ~WipeOnExit() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
  } wipe{pt};
  const uint64_t first = offset / s.segment_size;
  const uint64_t last = (offset + length - 1) / s.segment_size;
  for (uint64_t i = first; i <= last; ++i) {
    ASSIGN_OR_RETURN(size_t n, s.ReadSegment(cipher, i, ct, pt));
    const uint64_t seg_start = i * s.segment_size;
    const uint64_t from = std::max(offset, seg_start) - seg_start;
    const uint64_t to =
        std::min<uint64_t>(offset + length, seg_start + n) - seg_start;
    RETURN_IF_ERROR(sink(ByteView(pt.data() + from, to - from)));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------

Result<Bytes> EncryptAll(const SecretBytes& data_key, ByteView associated_data,
                         ByteView plaintext, StreamParams params) {
  Bytes out;
  out.reserve(
      StreamEncrypter::CiphertextSize(plaintext.size(), params.segment_size));
  ASSIGN_OR_RETURN(auto enc, StreamEncrypter::Create(
                                 data_key, associated_data,
                                 [&out](ByteView b) {
                                   out.insert(out.end(), b.begin(), b.end());
                                   return Status::Ok();
                                 },
                                 params));
  RETURN_IF_ERROR(enc->Update(plaintext));
  RETURN_IF_ERROR(enc->Finish());
  return out;
}

Result<Bytes> DecryptAll(const SecretBytes& data_key, ByteView associated_data,
                         ByteView ciphertext) {
  Bytes out;
  ASSIGN_OR_RETURN(auto dec, StreamDecrypter::Create(
                                 data_key, associated_data, [&out](ByteView b) {
                                   out.insert(out.end(), b.begin(), b.end());
                                   return Status::Ok();
                                 }));
  Status st = dec->Update(ciphertext);
  if (st.ok()) st = dec->Finish();
  if (!st.ok()) {
    OPENSSL_cleanse(out.data(), out.size());
    return st;
  }
  return out;
}

}  // namespace atrest::crypto
