// The byte format of a serialized n-gram chat model (training/ngram_model.h),
// version 1. All integers are big-endian; f64 is an IEEE 754 double's bits
// as a u64.
//
//   magic    8 bytes  "ATRNGRM1"
//   version  u32      1
//   then four sections, in this order, each exactly once:
//     tag     u32     kTagParams, kTagTokens, kTagTerms, kTagExamples
//     length  u64     bytes of the payload that follows
//     payload         exactly `length` bytes, as below
//   and nothing after the last one.
//
//   PARM  u32 max_match        1..kMaxMatchLimit
//         u32 max_active       1..kMaxActiveLimit
//         u32 type_prior       1..kMaxUnitsParam (units)
//         u32 trust            1..kMaxUnitsParam (units)
//         f64 beta             (0, kMaxBeta]
//         f64 match_half       (0, kMaxMatchHalf]
//         f64 min_active_weight [0, 1)
//   TOKS  u32 count, then count times: u32 length, bytes. Token i has id
//         i + 2 (0 and 1 are the begin and end markers). Each is one token
//         of training/tokenizer.h, and no two are equal.
//   TERM  u32 count, then count times: u32 length, bytes. Term i has id i.
//         Each is a prompt term (tokenizer.h IsTerm), and no two are equal.
//   EXMP  u32 count, then count examples:
//           u64 mass     1..kMaxMass units (1024 per epoch at
//                        learning_rate_multiplier 1)
//           u32 n_terms, then n_terms times: u32 term id, u32 count >= 1,
//               term ids strictly increasing and below TERM's count
//           u32 n_reply, then n_reply token ids, each in [2, 2 + TOKS count)
//
// Everything else a model holds (global n-gram counts, idf, norms, hash
// indexes) is derived from these sections when the model is loaded, so the
// loaded model is exactly the one that was saved. A reader rejects any
// deviation: wrong magic or version, a section out of order, a length that
// disagrees with its payload, a value out of its range, bytes left over.
#ifndef ATREST_TRAINING_NGRAM_FORMAT_H_
#define ATREST_TRAINING_NGRAM_FORMAT_H_

#include <cstdint>
#include <string_view>

namespace atrest::training::ngram_format {

inline constexpr std::string_view kMagic = "ATRNGRM1";
inline constexpr uint32_t kVersion = 1;

inline constexpr uint32_t kTagParams = 0x5041524D;    // "PARM"
inline constexpr uint32_t kTagTokens = 0x544F4B53;    // "TOKS"
inline constexpr uint32_t kTagTerms = 0x5445524D;     // "TERM"
inline constexpr uint32_t kTagExamples = 0x45584D50;  // "EXMP"

inline constexpr uint32_t kMaxMatchLimit = 64;
inline constexpr uint32_t kMaxActiveLimit = 64;
inline constexpr uint32_t kMaxUnitsParam = 1u << 20;
inline constexpr double kMaxBeta = 1000;
inline constexpr double kMaxMatchHalf = 100;
inline constexpr uint64_t kMaxMass = uint64_t{1} << 32;
// Token ids stay below kUnknownToken (backoff_ngrams.h).
inline constexpr uint32_t kMaxTokens = (1u << 30);

}  // namespace atrest::training::ngram_format

#endif  // ATREST_TRAINING_NGRAM_FORMAT_H_
