// Writes the seed corpus of stream_decrypt_fuzzer: valid streams under the
// fuzzer's fixed key and associated data (fuzz/stream_fuzz_input.h), with
// several segment sizes, empty, one-segment and multi-segment, plus a few
// near misses (truncated, reordered, tampered, wrong associated data).
// Without valid seeds the fuzzer could not get past the key commitment.
//
//   stream_decrypt_corpus fuzz/corpus/stream_decrypt
//
// Streams draw a fresh salt and nonce prefix, so each run writes different
// bytes; commit one run's output.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/provider.h"
#include "crypto/secret_bytes.h"
#include "crypto/stream_format.h"
#include "crypto/streaming_aead.h"
#include "stream_fuzz_input.h"

namespace atrest::fuzz {
namespace {

namespace sf = crypto::stream_format;

class CorpusWriter {
 public:
  explicit CorpusWriter(std::string dir) : dir_(std::move(dir)) {}

  // Writes control || stream to dir/name; the control bytes vary from file
  // to file so that the seeds start with different chunkings and ranges.
  bool Write(const std::string& name, ByteView stream) {
    const uint32_t i = count_++;
    uint8_t control[kControlSize];
    control[0] = static_cast<uint8_t>(i * 37);
    control[1] = static_cast<uint8_t>(i * 11 + 1);
    StoreBigEndian32(i * 7919u, control + 2);
    StoreBigEndian32(i * 104729u + 3, control + 6);
    if (kControlSize + stream.size() > kMaxInputSize) {
      std::fprintf(stderr, "%s: too large for -max_len, skipped\n",
                   name.c_str());
      return true;
    }
    std::ofstream out(dir_ + "/" + name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(control), kControlSize);
    out.write(reinterpret_cast<const char*>(stream.data()),
              static_cast<std::streamsize>(stream.size()));
    return static_cast<bool>(out);
  }

 private:
  const std::string dir_;
  uint32_t count_ = 0;
};

Bytes Pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 31 + 7);
  return b;
}

Result<Bytes> Encrypt(size_t plaintext_size, uint32_t segment_size,
                      std::string_view associated_data = kAssociatedData) {
  static const crypto::SecretBytes key = crypto::SecretBytes::CopyFrom(kKey);
  return crypto::EncryptAll(key, AsBytes(associated_data),
                            Pattern(plaintext_size),
                            crypto::StreamParams{.segment_size = segment_size});
}

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output dir>\n", argv[0]);
    return 2;
  }
  if (Status st = crypto::InitializeCrypto({}); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  CorpusWriter w(argv[1]);
  bool ok = true;
  auto write = [&](const std::string& name, const Result<Bytes>& stream) {
    ok = ok && stream.ok() && w.Write(name, *stream);
  };

  // Valid streams: empty, partial, exact and multi-segment.
  for (uint32_t seg :
       {16u, 17u, 64u, 100u, 1000u, 4096u, sf::kDefaultSegmentSize}) {
    std::vector<size_t> sizes = {0, 1, seg - 1, seg, seg + 1, 2 * seg + 3};
    if (seg <= 100) sizes.push_back(7 * seg);
    for (size_t n : sizes) {
      if (crypto::StreamEncrypter::CiphertextSize(n, seg) + kControlSize >
          kMaxInputSize) {
        continue;
      }
      write("valid_seg" + std::to_string(seg) + "_pt" + std::to_string(n),
            Encrypt(n, seg));
    }
  }

  // Near misses, each of which must fail.
  Result<Bytes> multi = Encrypt(3 * 64 + 10, 64);  // 4 segments of 64 + 16.
  if (!multi.ok()) return 1;
  const size_t seg_ct = 64 + sf::kTagSize;
  Bytes b = *multi;
  b.resize(sf::kHeaderSize);
  write("bad_header_only", b);
  b = *multi;
  b.resize(sf::kHeaderSize + 3 * seg_ct);  // Ends on a segment boundary.
  write("bad_truncated_at_boundary", b);
  b = *multi;
  std::swap_ranges(b.begin() + sf::kHeaderSize,
                   b.begin() + sf::kHeaderSize + seg_ct,
                   b.begin() + sf::kHeaderSize + seg_ct);
  write("bad_segments_swapped", b);
  b = *multi;
  b.back() ^= 0x01;  // Last tag.
  write("bad_tag_flipped", b);
  b = *multi;
  b[sf::kCommitmentOffset] ^= 0x80;
  write("bad_commitment_flipped", b);
  write("bad_wrong_associated_data",
        Encrypt(100, 64, "another account/container/object"));
  write("bad_empty", Bytes());
  if (!ok) {
    std::fprintf(stderr, "writing the corpus failed\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace atrest::fuzz

int main(int argc, char** argv) { return atrest::fuzz::Main(argc, argv); }
