// The input format of stream_decrypt_fuzzer, shared with make_corpus.cc so
// that the seed corpus holds streams the fuzzer can open.
//
//   input   := control (10 bytes) || stream
//   control := chunk_base (1) || chunk_step (1)
//              || read_offset_seed uint32 BE (4) || read_length_seed uint32 BE
//
// The stream is decrypted under the fixed kKey and kAssociatedData below.
// StreamDecrypter is fed it in chunks of ChunkSize(control, 0), (control, 1),
// ...; RandomAccessDecrypter reads the range that ReadRange() derives from the
// seeds. Valid streams are what make_corpus.cc writes.
#ifndef ATREST_FUZZ_STREAM_FUZZ_INPUT_H_
#define ATREST_FUZZ_STREAM_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/bytes.h"

namespace atrest::fuzz {

inline constexpr size_t kControlSize = 10;
// Inputs longer than this are ignored; scripts/fuzz.sh passes it as -max_len.
inline constexpr size_t kMaxInputSize = 8192;

// A fixed, public test key: the fuzzer must be able to make valid streams.
inline constexpr uint8_t kKey[32] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
    0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
    0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
inline constexpr std::string_view kAssociatedData =
    "atrest fuzz: account/container/object v1";

// Size of the k-th chunk: 0 to 96 bytes times 1 to 8. The step is 1 to 96
// and 97 is prime, so every residue, zero (an empty Update) included, comes
// round and the decrypter always makes progress.
inline size_t ChunkSize(const uint8_t* control, size_t k) {
  const size_t base = control[0];
  const size_t step = control[1] % 96 + 1;
  return ((base + k * step) % 97) * (1 + (base >> 5));
}

struct Range {
  uint64_t offset;
  uint64_t length;
};

// A range within [0, plaintext_size + 1], so that about one case in
// (plaintext_size + 2) runs past the end.
inline Range ReadRange(const uint8_t* control, uint64_t plaintext_size) {
  const uint64_t offset_seed = LoadBigEndian32(control + 2);
  const uint64_t length_seed = LoadBigEndian32(control + 6);
  return Range{offset_seed % (plaintext_size + 2),
               length_seed % (plaintext_size + 2)};
}

}  // namespace atrest::fuzz

#endif  // ATREST_FUZZ_STREAM_FUZZ_INPUT_H_
