// Pieces of generating a reply that do not depend on the model: the seeded
// random numbers of sampling and the handling of stop sequences.
//
// Thread safety: values; one generation uses its own.
#ifndef ATREST_TRAINING_DECODING_H_
#define ATREST_TRAINING_DECODING_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "training/wiping_allocator.h"

namespace atrest::training {

// splitmix64: small, fast, and the same sequence on every platform for a
// seed, so that a seed reproduces a sampled reply.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n); n > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

// Draws a token id from `dist` (probabilities by id, not necessarily
// summing to 1; overwritten), sharpened or flattened by `temperature` > 0
// (p^(1/temperature)) and cut to the smallest set of most probable tokens
// whose probability reaches `top_p` (all when top_p >= 1; the most probable
// one when top_p is 0). Ties are ordered by id; `order` is scratch space.
uint32_t SampleToken(std::span<double> dist, double temperature, double top_p,
                     Rng& rng, WipedVector<uint32_t>* order);

// Collects generated text and finds the first occurrence of any stop
// sequence in it. Text is released (for streaming) only once it can no
// longer turn out to be the start of a stop sequence, so that released
// pieces concatenate to the final text.
class StopScanner {
 public:
  // `stops` must outlive the scanner; empty strings are ignored.
  explicit StopScanner(std::span<const std::string> stops) : stops_(stops) {}

  // Appends a generated piece. Returns the text that became safe to
  // release (valid until the next call); sets *stopped when a stop sequence
  // is now complete, in which case the text ends before it and nothing
  // more may be appended.
  std::string_view Append(std::string_view piece, bool* stopped);
  // At the end of generation without a stop sequence: the rest.
  std::string_view Flush();
  // All text so far (up to the stop sequence once one was found).
  std::string_view text() const { return text_; }

 private:
  std::span<const std::string> stops_;
  WipedString text_;
  size_t released_ = 0;
};

}  // namespace atrest::training

#endif  // ATREST_TRAINING_DECODING_H_
