// Tests of the segmented stream format (docs/format.md): round trips, range
// reads, a reference decoder written from the spec, and the tamper matrix.
#include "crypto/streaming_aead.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "crypto/aead.h"
#include "crypto/hkdf.h"
#include "crypto/random.h"

namespace atrest::crypto {
namespace {

namespace sf = stream_format;

constexpr uint32_t kSegmentSizes[] = {16, 64, 1000, 4096};

Bytes Pattern(size_t n, uint32_t seed = 1) {
  Bytes b(n);
  std::mt19937 rng(seed);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// An in-memory file that counts the bytes read through it.
class MemoryFile : public env::RandomAccessFile {
 public:
  explicit MemoryFile(Bytes data) : data_(std::move(data)) {}
  Result<size_t> ReadAt(uint64_t offset, MutableByteView out) const override {
    if (offset >= data_.size()) return size_t{0};
    size_t n = std::min<uint64_t>(out.size(), data_.size() - offset);
    std::memcpy(out.data(), data_.data() + offset, n);
    bytes_read_ += n;
    return n;
  }
  uint64_t Size() const override { return data_.size(); }
  uint64_t bytes_read() const { return bytes_read_; }
  void reset_count() { bytes_read_ = 0; }

 private:
  Bytes data_;
  mutable uint64_t bytes_read_ = 0;
};

struct Collected {
  Bytes data;
  size_t calls = 0;
  size_t largest = 0;
  Sink sink() {
    return [this](ByteView b) {
      data.insert(data.end(), b.begin(), b.end());
      ++calls;
      largest = std::max(largest, b.size());
      return Status::Ok();
    };
  }
};

class StreamTest : public ::testing::Test {
 protected:
  SecretBytes key_ = NewAes256Key();
  Bytes ad_ = ToBytes("account=a1;object=file-1");

  Bytes Encrypt(ByteView pt, uint32_t segment_size) {
    Result<Bytes> ct =
        EncryptAll(key_, ad_, pt, {.segment_size = segment_size});
    EXPECT_TRUE(ct.ok()) << ct.status();
    return ct.ok() ? *ct : Bytes();
  }

  // Decrypts through the streaming decrypter, feeding `chunk` bytes at a
  // time; returns the status and what the sink received.
  Status StreamDecrypt(ByteView ct, size_t chunk, Collected* out,
                       ByteView ad = {}) {
    if (ad.empty()) ad = ad_;
    auto dec = StreamDecrypter::Create(key_, ad, out->sink());
    if (!dec.ok()) return dec.status();
    for (size_t i = 0; i < ct.size(); i += chunk) {
      RETURN_IF_ERROR(
          (*dec)->Update(ct.subspan(i, std::min(chunk, ct.size() - i))));
    }
    return (*dec)->Finish();
  }
};

// --- Round trips ------------------------------------------------------------

TEST_F(StreamTest, RoundTripsAtEverySizeEdge) {
  for (uint32_t s : kSegmentSizes) {
    for (size_t n :
         {size_t{0}, size_t{1}, size_t{s} - 1, size_t{s}, size_t{s} + 1,
          2 * size_t{s}, 2 * size_t{s} + 1, 7 * size_t{s} + 3}) {
      SCOPED_TRACE("segment " + std::to_string(s) + " size " +
                   std::to_string(n));
      Bytes pt = Pattern(n, s + n);
      Bytes ct = Encrypt(pt, s);
      EXPECT_EQ(ct.size(), StreamEncrypter::CiphertextSize(n, s));
      Result<Bytes> back = DecryptAll(key_, ad_, ct);
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(*back, pt);

      MemoryFile file(ct);
      auto ra = RandomAccessDecrypter::Open(key_, ad_, file);
      ASSERT_TRUE(ra.ok()) << ra.status();
      EXPECT_EQ((*ra)->plaintext_size(), n);
      Collected all;
      ASSERT_TRUE((*ra)->Read(0, n, all.sink()).ok());
      EXPECT_EQ(all.data, pt);
    }
  }
}

TEST_F(StreamTest, ChunkingOfInputAndOutputDoesNotMatter) {
  const uint32_t s = 64;
  Bytes pt = Pattern(20 * s + 17);
  Bytes reference = Encrypt(pt, s);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    Collected ct;
    auto enc =
        StreamEncrypter::Create(key_, ad_, ct.sink(), {.segment_size = s});
    ASSERT_TRUE(enc.ok());
    for (size_t i = 0; i < pt.size();) {
      size_t n = std::min<size_t>(rng() % (3 * s), pt.size() - i);
      ASSERT_TRUE((*enc)->Update(ByteView(pt).subspan(i, n)).ok());
      i += n;
    }
    ASSERT_TRUE((*enc)->Finish().ok());
    // Output arrives one header or one segment at a time.
    EXPECT_LE(ct.largest, size_t{sf::kHeaderSize} + 0 + s + sf::kTagSize);
    EXPECT_EQ(ct.data.size(), reference.size());

    Collected back;
    ASSERT_TRUE(StreamDecrypt(ct.data, 1 + rng() % 200, &back).ok());
    EXPECT_EQ(back.data, pt);
    EXPECT_LE(back.largest, s);
  }
}

TEST_F(StreamTest, OneByteAtATime) {
  Bytes pt = Pattern(300);
  Bytes ct = Encrypt(pt, 16);
  Collected back;
  ASSERT_TRUE(StreamDecrypt(ct, 1, &back).ok());
  EXPECT_EQ(back.data, pt);
}

TEST_F(StreamTest, SameInputEncryptsDifferently) {
  Bytes pt = Pattern(100);
  EXPECT_NE(Encrypt(pt, 64), Encrypt(pt, 64));
}

TEST_F(StreamTest, RejectsBadParameters) {
  Collected c;
  EXPECT_EQ(StreamEncrypter::Create(key_, ad_, c.sink(), {.segment_size = 15})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(StreamEncrypter::Create(key_, ad_, c.sink(),
                                    {.segment_size = sf::kMaxSegmentSize + 1})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  SecretBytes short_key(16);
  EXPECT_EQ(StreamEncrypter::Create(short_key, ad_, c.sink()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(StreamDecrypter::Create(short_key, ad_, c.sink()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(StreamTest, SinkErrorsStopTheStreamAndStick) {
  int calls = 0;
  auto enc = StreamEncrypter::Create(
      key_, ad_,
      [&calls](ByteView) {
        return ++calls == 2 ? ResourceExhaustedError("disk full")
                            : Status::Ok();
      },
      {.segment_size = 16});
  ASSERT_TRUE(enc.ok());
  Status s = (*enc)->Update(Pattern(100));
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ((*enc)->Update(Pattern(1)).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ((*enc)->Finish().code(), StatusCode::kResourceExhausted);
}

TEST_F(StreamTest, UseAfterFinishIsRefused) {
  Collected c;
  auto enc = StreamEncrypter::Create(key_, ad_, c.sink());
  ASSERT_TRUE(enc.ok());
  ASSERT_TRUE((*enc)->Finish().ok());
  EXPECT_EQ((*enc)->Update(Pattern(1)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*enc)->Finish().code(), StatusCode::kFailedPrecondition);
}

// --- Byte ranges ------------------------------------------------------------

TEST_F(StreamTest, RangeReadsAtEverySegmentEdge) {
  for (uint32_t s : {16u, 64u, 1000u}) {
    const size_t n = 9 * size_t{s} + 5;
    Bytes pt = Pattern(n, s);
    MemoryFile file(Encrypt(pt, s));
    auto ra = RandomAccessDecrypter::Open(key_, ad_, file);
    ASSERT_TRUE(ra.ok());
    std::vector<uint64_t> points;
    for (uint64_t edge = 0; edge <= n; edge += s) {
      for (int64_t d : {-1, 0, 1}) {
        int64_t p = static_cast<int64_t>(edge) + d;
        if (p >= 0 && static_cast<uint64_t>(p) <= n) points.push_back(p);
      }
    }
    points.push_back(n);
    for (uint64_t from : points) {
      for (uint64_t to : points) {
        if (to < from) continue;
        Collected got;
        file.reset_count();
        ASSERT_TRUE((*ra)->Read(from, to - from, got.sink()).ok());
        ASSERT_EQ(got.data, Bytes(pt.begin() + from, pt.begin() + to))
            << "segment " << s << " range [" << from << ", " << to << ")";
        // Only the segments holding the range are read.
        uint64_t touched = to == from ? 0 : (to - 1) / s - from / s + 1;
        EXPECT_LE(file.bytes_read(), touched * (s + sf::kTagSize));
      }
    }
  }
}

TEST_F(StreamTest, RangePastTheEndIsOutOfRange) {
  MemoryFile file(Encrypt(Pattern(100), 64));
  auto ra = RandomAccessDecrypter::Open(key_, ad_, file);
  ASSERT_TRUE(ra.ok());
  Collected c;
  EXPECT_EQ((*ra)->Read(0, 101, c.sink()).code(), StatusCode::kOutOfRange);
  EXPECT_EQ((*ra)->Read(101, 0, c.sink()).code(), StatusCode::kOutOfRange);
  EXPECT_EQ((*ra)->Read(50, UINT64_MAX, c.sink()).code(),
            StatusCode::kOutOfRange);
  EXPECT_TRUE((*ra)->Read(100, 0, c.sink()).ok());
  EXPECT_TRUE(c.data.empty());
}

// --- The format as docs/format.md specifies it ------------------------------

// Decrypts a stream using only OpenSSL and the text of docs/format.md, so a
// change to the code that the spec does not describe fails here.
Result<Bytes> ReferenceDecrypt(const SecretBytes& key, ByteView ad,
                               ByteView ct) {
  if (ct.size() < 68 || std::memcmp(ct.data(), "ATRS", 4) != 0 || ct[4] != 1 ||
      ct[5] != 1) {
    return DecryptionFailed();
  }
  const uint32_t seg = LoadBigEndian32(ct.data() + 8);
  Bytes info = ToBytes("atrest stream v1");
  info.insert(info.end(), ct.begin(), ct.begin() + 36);
  info.insert(info.end(), ad.begin(), ad.end());
  ASSIGN_OR_RETURN(SecretBytes okm, HkdfSha256(key.RevealSecret(),
                                               ct.subspan(12, 16), info, 64));
  if (!std::equal(ct.begin() + 36, ct.begin() + 68,
                  okm.RevealSecret().begin() + 32)) {
    return DecryptionFailed();
  }
  Bytes out;
  ByteView body = ct.subspan(68);
  for (uint32_t i = 0; !body.empty(); ++i) {
    const size_t n = std::min<size_t>(body.size(), seg + 16);
    const bool last = n == body.size();
    uint8_t nonce[12];
    std::memcpy(nonce, ct.data() + 28, 7);
    StoreBigEndian32(i, nonce + 7);
    nonce[11] = last ? 1 : 0;
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    Bytes pt(n - 16);
    int len = 0;
    bool ok =
        EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr,
                           okm.RevealSecret().data(), nonce) == 1 &&
        EVP_DecryptUpdate(ctx, pt.data(), &len, body.data(), n - 16) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16,
                            const_cast<uint8_t*>(body.data() + n - 16)) == 1 &&
        EVP_DecryptFinal_ex(ctx, pt.data() + len, &len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) return DecryptionFailed();
    out.insert(out.end(), pt.begin(), pt.end());
    body = body.subspan(n);
  }
  return out;
}

TEST_F(StreamTest, MatchesTheWrittenSpecification) {
  for (size_t n : {0, 1, 4095, 4096, 4097, 20000}) {
    Bytes pt = Pattern(n);
    Bytes ct = Encrypt(pt, 4096);
    EXPECT_EQ(AsString(ByteView(ct).first(4)), "ATRS");
    EXPECT_EQ(LoadBigEndian32(ct.data() + 8), 4096u);
    EXPECT_EQ(ct[6] | ct[7] | ct[35], 0);
    Result<Bytes> back = ReferenceDecrypt(key_, ad_, ct);
    ASSERT_TRUE(back.ok()) << "size " << n;
    EXPECT_EQ(*back, pt);
  }
}

TEST_F(StreamTest, DefaultSegmentSizeIsWrittenInTheHeader) {
  Bytes ct = *EncryptAll(key_, ad_, Pattern(10));
  EXPECT_EQ(LoadBigEndian32(ct.data() + 8), sf::kDefaultSegmentSize);
}

// --- Tamper matrix ----------------------------------------------------------
//
// Every case must fail with exactly DecryptionFailed(), through all three
// decoders, and the streaming decoder may only ever have released an
// authentic prefix of the plaintext that ends before the damaged segment.

class TamperTest : public StreamTest {
 protected:
  static constexpr uint32_t kSeg = 64;
  Bytes pt_ = Pattern(5 * kSeg + 9);  // Six segments, the last partial.
  Bytes ct_ = Encrypt(pt_, kSeg);

  size_t SegmentOffset(size_t i) const { return 68 + i * (kSeg + 16); }
  size_t Segments() const { return 6; }
  ByteView Segment(const Bytes& ct, size_t i) const {
    size_t off = SegmentOffset(i);
    return ByteView(ct).subspan(off,
                                std::min<size_t>(kSeg + 16, ct.size() - off));
  }

  // `released_limit`: plaintext bytes the streaming decoder may release.
  void ExpectRejected(const Bytes& bad, size_t released_limit,
                      const std::string& what, ByteView ad = {}) {
    SCOPED_TRACE(what);
    if (ad.empty()) ad = ad_;
    Result<Bytes> all = DecryptAll(key_, ad, bad);
    ASSERT_FALSE(all.ok());
    EXPECT_EQ(all.status(), DecryptionFailed());

    for (size_t chunk : {size_t{1}, size_t{37}, bad.size() + 1}) {
      Collected got;
      Status s = StreamDecrypt(bad, chunk, &got, ad);
      EXPECT_EQ(s, DecryptionFailed()) << "chunk " << chunk;
      EXPECT_LE(got.data.size(), released_limit);
      EXPECT_TRUE(std::equal(got.data.begin(), got.data.end(), pt_.begin()))
          << "released bytes that are not the original plaintext";
    }

    MemoryFile file(bad);
    auto ra = RandomAccessDecrypter::Open(key_, ad, file);
    if (ra.ok()) {
      // Open verified header and last segment; a damaged middle segment is
      // caught when read.
      Collected got;
      Status s = (*ra)->Read(0, (*ra)->plaintext_size(), got.sink());
      EXPECT_EQ(s, DecryptionFailed());
      EXPECT_LE(got.data.size(), released_limit);
    } else {
      EXPECT_EQ(ra.status(), DecryptionFailed());
    }
  }
};

TEST_F(TamperTest, EveryHeaderByteFlipped) {
  for (size_t i = 0; i < sf::kHeaderSize; ++i) {
    for (uint8_t mask : {0x01, 0x80}) {
      Bytes bad = ct_;
      bad[i] ^= mask;
      ExpectRejected(bad, 0, "header byte " + std::to_string(i));
    }
  }
}

TEST_F(TamperTest, BytesInEverySegmentFlipped) {
  for (size_t seg = 0; seg < Segments(); ++seg) {
    const size_t off = SegmentOffset(seg);
    const size_t len = Segment(ct_, seg).size();
    for (size_t pos : {size_t{0}, len / 2, len - 17, len - 16, len - 1}) {
      Bytes bad = ct_;
      bad[off + pos] ^= 0x04;
      ExpectRejected(
          bad, seg * kSeg,
          "segment " + std::to_string(seg) + " byte " + std::to_string(pos));
    }
  }
}

TEST_F(TamperTest, TruncatedAnywhere) {
  std::vector<size_t> cuts = {0, 1, 40, 67, 68, 69};
  for (size_t seg = 1; seg <= Segments(); ++seg) {
    size_t boundary = std::min(SegmentOffset(seg), ct_.size());
    cuts.push_back(boundary);             // At a segment boundary.
    cuts.push_back(boundary - 1);         // Inside the tag.
    cuts.push_back(boundary - kSeg / 2);  // Mid-segment.
  }
  for (size_t cut : cuts) {
    if (cut >= ct_.size()) continue;
    Bytes bad(ct_.begin(), ct_.begin() + cut);
    ExpectRejected(bad, pt_.size(), "cut at " + std::to_string(cut));
  }
}

TEST_F(TamperTest, ExtendedWithTrailingBytes) {
  Bytes bad = ct_;
  bad.push_back(0);
  ExpectRejected(bad, pt_.size(), "one trailing byte");
  bad = ct_;
  ByteView first = Segment(ct_, 0);
  bad.insert(bad.end(), first.begin(), first.end());
  ExpectRejected(bad, pt_.size(), "segment 0 appended");
}

TEST_F(TamperTest, SegmentsDroppedDuplicatedOrReordered) {
  auto rebuild = [&](const std::vector<size_t>& order) {
    Bytes out(ct_.begin(), ct_.begin() + 68);
    for (size_t i : order) {
      ByteView s = Segment(ct_, i);
      out.insert(out.end(), s.begin(), s.end());
    }
    return out;
  };
  for (size_t drop = 0; drop < Segments(); ++drop) {
    std::vector<size_t> order;
    for (size_t i = 0; i < Segments(); ++i) {
      if (i != drop) order.push_back(i);
    }
    ExpectRejected(rebuild(order), drop * kSeg, "drop " + std::to_string(drop));
  }
  for (size_t dup = 0; dup + 1 < Segments(); ++dup) {
    std::vector<size_t> order;
    for (size_t i = 0; i < Segments(); ++i) {
      order.push_back(i);
      if (i == dup) order.push_back(i);
    }
    ExpectRejected(rebuild(order), (dup + 1) * kSeg,
                   "duplicate " + std::to_string(dup));
  }
  for (size_t a = 0; a + 1 < Segments(); ++a) {
    std::vector<size_t> order;
    for (size_t i = 0; i < Segments(); ++i) order.push_back(i);
    std::swap(order[a], order[a + 1]);
    ExpectRejected(rebuild(order), a * kSeg, "swap " + std::to_string(a));
  }
}

TEST_F(TamperTest, SegmentSplicedFromAnotherObjectUnderTheSameKey) {
  // Same data key, same associated data, same plaintext: only the per-stream
  // salt and nonce prefix differ, and that must be enough.
  Bytes other = Encrypt(pt_, kSeg);
  for (size_t seg = 0; seg < Segments(); ++seg) {
    Bytes bad = ct_;
    ByteView donor = Segment(other, seg);
    std::copy(donor.begin(), donor.end(), bad.begin() + SegmentOffset(seg));
    ExpectRejected(bad, seg * kSeg, "spliced segment " + std::to_string(seg));
  }
  Bytes bad = ct_;
  std::copy(other.begin(), other.begin() + 68, bad.begin());
  ExpectRejected(bad, 0, "spliced header");
}

TEST_F(TamperTest, OtherAssociatedDataOrKey) {
  ExpectRejected(ct_, 0, "other associated data",
                 AsBytes("account=a1;object=file-2"));
  SecretBytes other_key = NewAes256Key();
  Result<Bytes> r = DecryptAll(other_key, ad_, ct_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status(), DecryptionFailed());
}

}  // namespace
}  // namespace atrest::crypto
