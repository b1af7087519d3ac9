// Byte layout of atrest's segmented AES-256-GCM stream, version 1.
// docs/format.md is the specification; this header holds its constants and
// must change only together with it.
//
//   stream  := header || segment_0 || ... || segment_{n-1}         (n >= 1)
//   header  := magic "ATRS" (4) || version 0x01 (1) || suite 0x01 (1)
//              || reserved 0x0000 (2) || segment_size uint32 BE (4)
//              || salt (16) || nonce_prefix (7) || reserved 0x00 (1)
//              || commitment (32)                          = 68 bytes
//   okm     := HKDF-SHA256(ikm = data key, salt = salt,
//                          info = "atrest stream v1" || header[0..36)
//                                 || associated data, L = 64)
//   segment_key = okm[0..32), commitment = okm[32..64)
//   segment_i := AES-256-GCM(segment_key, nonce_i, aad = "", plaintext_i)
//                = ciphertext_i || tag_i (16)
//   nonce_i := nonce_prefix (7) || uint32 BE i (4) || last (1: 0x01 on the
//              final segment, else 0x00)
//
// Every segment but the last holds exactly segment_size plaintext bytes; the
// last holds 1..segment_size, or 0 when the whole plaintext is empty.
#ifndef ATREST_CRYPTO_STREAM_FORMAT_H_
#define ATREST_CRYPTO_STREAM_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace atrest::crypto::stream_format {

inline constexpr uint8_t kMagic[4] = {'A', 'T', 'R', 'S'};
inline constexpr uint8_t kVersion = 1;
inline constexpr uint8_t kSuiteAes256GcmHkdfSha256 = 1;
inline constexpr std::string_view kInfoLabel = "atrest stream v1";

inline constexpr size_t kMagicOffset = 0;
inline constexpr size_t kVersionOffset = 4;
inline constexpr size_t kSuiteOffset = 5;
inline constexpr size_t kReserved1Offset = 6;  // 2 bytes, zero
inline constexpr size_t kSegmentSizeOffset = 8;
inline constexpr size_t kSaltOffset = 12;
inline constexpr size_t kSaltSize = 16;
inline constexpr size_t kNoncePrefixOffset = 28;
inline constexpr size_t kNoncePrefixSize = 7;
inline constexpr size_t kReserved2Offset = 35;  // 1 byte, zero
inline constexpr size_t kBoundHeaderSize = 36;  // Bytes fed to HKDF info.
inline constexpr size_t kCommitmentOffset = 36;
inline constexpr size_t kCommitmentSize = 32;
inline constexpr size_t kHeaderSize = 68;

inline constexpr size_t kTagSize = 16;
inline constexpr size_t kNonceSize = 12;

// Plaintext bytes per segment accepted by readers and writers.
inline constexpr uint32_t kMinSegmentSize = 16;
inline constexpr uint32_t kMaxSegmentSize = 16u << 20;
// Chosen with bench/stream_bench.cc; see docs/format.md "Segment size".
inline constexpr uint32_t kDefaultSegmentSize = 64u << 10;

// A stream has at most 2^32 segments (the counter is 32 bits).
inline constexpr uint64_t kMaxSegments = uint64_t{1} << 32;

}  // namespace atrest::crypto::stream_format

#endif  // ATREST_CRYPTO_STREAM_FORMAT_H_
