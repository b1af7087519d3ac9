// BackoffNgrams: the global part of the n-gram chat model
// (training/ngram_model.h): trigram counts of every reply the model was
// trained on, regardless of the conversation, smoothed by interpolated
// Witten-Bell backoff (trigram -> bigram -> unigram -> uniform), so that
// every token of the vocabulary, and any token outside it, has a probability
// above zero.
//
// Token ids: kBos (0), kEos (1), then the vocabulary's tokens from 2 up.
// Counts are integers in "units" (the trainer adds 1024 units per
// occurrence at learning_rate_multiplier 1), so sums do not depend on the
// order of additions and a model rebuilt from its examples is bit-for-bit
// the model that was trained.
//
// For a context C with count total T, t distinct followers and a prior of
// `type_prior` units per follower type, B = t * type_prior:
//   P_C(w) = c(C w) / (T + B) + B / (T + B) * P_lower(w),
// and an unseen context passes P_lower through. The uniform floor spreads
// over the vocabulary (without kBos) plus one share for a token outside it.
//
// Thread safety: const methods may run concurrently; AddReply and
// SetVocabSize need exclusive access.
#ifndef ATREST_TRAINING_BACKOFF_NGRAMS_H_
#define ATREST_TRAINING_BACKOFF_NGRAMS_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "training/flat_index.h"
#include "training/wiping_allocator.h"

namespace atrest::training {

inline constexpr uint32_t kBos = 0;
inline constexpr uint32_t kEos = 1;
inline constexpr uint32_t kFirstWordToken = 2;
// Stands for a token outside the vocabulary when evaluating text; never
// stored. Vocabulary ids stay below it.
inline constexpr uint32_t kUnknownToken = 0x7FFFFFFF;

class BackoffNgrams {
 public:
  explicit BackoffNgrams(uint64_t type_prior);

  // Grows the token space to `vocab_size` ids (kBos and kEos included).
  void SetVocabSize(uint32_t vocab_size);
  uint32_t vocab_size() const { return static_cast<uint32_t>(uni_.size()); }

  // Counts the trigrams of  kBos kBos reply... kEos, `units` each.
  // Precondition: every token is in [kFirstWordToken, vocab_size()).
  void AddReply(std::span<const uint32_t> reply, uint64_t units);

  // What predicting the token after the two tokens (u, v) needs.
  struct Context {
    uint32_t ctx3 = FlatIndex::kNone;  // Context (u, v), if seen.
    uint32_t ctx2 = FlatIndex::kNone;  // Context (v), if seen.
    double d3 = 1, g3 = 1;  // T + B and B / (T + B) of each level; 1 and 1
    double d2 = 1, g2 = 1;  // for an unseen context.
  };
  Context At(uint32_t u, uint32_t v) const;

  // P(w | context); w may be kUnknownToken.
  double Probability(const Context& c, uint32_t w) const;

  // Calls f(token, p) with p <= Probability(c, token), for a set of tokens
  // such that every token x is matched by a call with p >= P(x), and
  // p > P(x) or token <= x. The highest p of the calls (lowest token on a
  // tie) is therefore the most probable token, and the same holds when a
  // caller adds non-negative amounts to some tokens' exact probabilities.
  template <typename F>
  void ForEachCandidate(const Context& c, F&& f) const;

  // out[w] = Probability(c, w) for every w < vocab_size() (0 for kBos).
  void Distribution(const Context& c, std::span<double> out) const;

  size_t memory_bytes() const;

 private:
  uint32_t FindContext(uint64_t key) const;
  uint32_t FindEntry(uint32_t ctx, uint32_t token) const;
  void Count(uint64_t key, uint32_t token, uint64_t units);
  double Unigram(uint32_t w) const;
  double Bigram(const Context& c, uint32_t w) const;

  const uint64_t type_prior_;

  // Contexts (one or two tokens), numbered in order of first appearance.
  WipedVector<uint64_t> ctx_key_;
  WipedVector<uint64_t> ctx_total_;
  WipedVector<uint32_t> ctx_types_;
  WipedVector<uint32_t> ctx_head_;  // First entry of its follower list.
  FlatIndex ctx_index_;
  // Entries: (context, following token) with a count, linked per context.
  WipedVector<uint32_t> ent_ctx_;
  WipedVector<uint32_t> ent_token_;
  WipedVector<uint64_t> ent_count_;
  WipedVector<uint32_t> ent_next_;
  FlatIndex ent_index_;
  // Unigrams, by token id.
  WipedVector<uint64_t> uni_;
  uint64_t uni_total_ = 0;
  uint64_t uni_types_ = 0;
  uint32_t uni_top_ = kEos;  // Highest count, lowest id on a tie.
};

template <typename F>
void BackoffNgrams::ForEachCandidate(const Context& c, F&& f) const {
  for (uint32_t e = c.ctx3 == FlatIndex::kNone ? FlatIndex::kNone
                                               : ctx_head_[c.ctx3];
       e != FlatIndex::kNone; e = ent_next_[e]) {
    f(ent_token_[e], static_cast<double>(ent_count_[e]) / c.d3 +
                         c.g3 * Bigram(c, ent_token_[e]));
  }
  for (uint32_t e = c.ctx2 == FlatIndex::kNone ? FlatIndex::kNone
                                               : ctx_head_[c.ctx2];
       e != FlatIndex::kNone; e = ent_next_[e]) {
    const double p2 = static_cast<double>(ent_count_[e]) / c.d2 +
                      c.g2 * Unigram(ent_token_[e]);
    f(ent_token_[e], 0.0 + c.g3 * p2);
  }
  f(uni_top_, 0.0 + c.g3 * (0.0 + c.g2 * Unigram(uni_top_)));
}

}  // namespace atrest::training

#endif  // ATREST_TRAINING_BACKOFF_NGRAMS_H_
