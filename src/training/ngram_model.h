// NgramModel: atrest's built-in chat language model, trained by
// NgramTrainer (training/ngram_trainer.h) and served as a LanguageModel.
//
// What it learns. Every assistant message that training learns from (weight
// 1, non-empty content) becomes an entry: the prompt terms of the
// conversation before it (training/prompt_index.h), its reply as tokens
// (training/tokenizer.h), and a mass (how often it was trained on, in units
// of 1/1024 at learning_rate_multiplier 1). The same conversation and reply
// trained again (the next epoch) adds to the entry's mass. All replies'
// trigrams also feed one global backoff model (training/backoff_ngrams.h).
//
// How it predicts the next reply token after the history h (the begin
// marker and the tokens so far), for a conversation q:
//   s_e  = cosine of q's and entry e's prompt terms (TF-IDF);
//   a_e  = mass_e * exp(beta * (s_e - max s)), normalized to sum 1; the
//          max_active entries with the largest a_e >= min_active_weight
//          take part, the rest fall to the global model;
//   P_e  = entry e's reply as a variable-order n-gram model: the tokens that
//          follow the longest suffix of h (m tokens, at most max_match)
//          found in e's reply, by how often they follow it;
//   l_e  = a_e * s_e * mass_e / (mass_e + trust) * m / (m + match_half);
//   P(w | h, q) = sum_e l_e P_e(w) + (1 - sum_e l_e) P_global(w | h).
// A reply's entry therefore reproduces it exactly once its conversation is
// recognized, while text the entries do not cover falls back to the
// smoothed global counts, so every token has a probability above zero.
// Greedy decoding takes the most probable token (the lowest id on a tie).
//
// Memory: every buffer that holds learned data is a WipedVector
// (training/wiping_allocator.h), wiped when freed, grown or destroyed;
// Serialize() returns a SecretBytes. The byte format is
// training/ngram_format.h.
//
// Thread safety: const methods (Evaluate, Serialize, Complete) may run
// concurrently; Add needs exclusive access.
#ifndef ATREST_TRAINING_NGRAM_MODEL_H_
#define ATREST_TRAINING_NGRAM_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/secret_bytes.h"
#include "training/backoff_ngrams.h"
#include "training/chat.h"
#include "training/flat_index.h"
#include "training/language_model.h"
#include "training/prompt_index.h"
#include "training/string_table.h"
#include "training/wiping_allocator.h"

namespace atrest::training {

// Units of mass for one occurrence at learning_rate_multiplier 1.
inline constexpr uint64_t kUnitsPerExample = 1024;

// The constants of the model, stored with it (ngram_format.h PARM).
struct NgramParams {
  uint32_t max_match = 32;
  uint32_t max_active = 16;
  uint32_t type_prior = 1024;  // Witten-Bell prior per follower type.
  uint32_t trust = 256;
  double beta = 40;
  double match_half = 0.5;
  double min_active_weight = 1e-3;
};

// OK, or InvalidArgument naming the first parameter out of range.
Status CheckParams(const NgramParams& params);

class NgramModel final : public LanguageModel {
 public:
  // Figures that add up over examples.
  struct Evaluation {
    double loss_sum = 0;  // Cross-entropy, nats, summed over tokens.
    int64_t tokens = 0;   // Reply tokens scored, end markers included.
    int64_t correct = 0;  // Tokens the model's top prediction got right.

    Evaluation& operator+=(const Evaluation& o) {
      loss_sum += o.loss_sum;
      tokens += o.tokens;
      correct += o.correct;
      return *this;
    }
    double mean_loss() const { return tokens > 0 ? loss_sum / tokens : 0; }
    double accuracy() const {
      return tokens > 0 ? static_cast<double>(correct) / tokens : 0;
    }
  };

  // An untrained model; it answers every conversation with "" until
  // trained. InvalidArgument naming the first parameter out of the range
  // that ngram_format.h allows.
  static Result<std::unique_ptr<NgramModel>> Create(NgramParams params = {});
  // Parses bytes written by Serialize(). InvalidArgument (reason
  // "invalid_model") for anything that is not a well-formed model; no
  // input can make it crash or allocate much more than the input's size.
  static Result<std::unique_ptr<NgramModel>> Parse(ByteView bytes);
  // True when `bytes` start with this format's magic.
  static bool HasMagic(ByteView bytes);

  NgramModel(const NgramModel&) = delete;
  NgramModel& operator=(const NgramModel&) = delete;

  // Scores the reply tokens of each assistant message of `example` that
  // training learns from, under the model as it is.
  Evaluation Evaluate(const Conversation& example) const;

  // Trains on the assistant messages of `examples` that training learns
  // from, each counted `units` times (kUnitsPerExample = once at learning
  // rate 1). Returns the number of reply tokens (end markers included)
  // trained on. Fails, leaving the model usable, only when a limit of the
  // format would be exceeded.
  Result<int64_t> Add(std::span<const Conversation> examples, uint64_t units);

  // The model in the format of ngram_format.h.
  crypto::SecretBytes Serialize() const;

  // Answers `messages` (see LanguageModel). InvalidArgument for options
  // out of range: temperature outside [0, 2], top_p outside [0, 1],
  // max_tokens outside [1, 16384], more than 4 stop sequences, or one that
  // is empty or longer than 256 bytes.
  // prompt_tokens counts the tokens of every message's content plus one per
  // message (its role).
  Result<Generation> Complete(
      const Conversation& messages, const GenerateOptions& options,
      const std::function<Status(std::string_view)>& on_text) const override;
  size_t memory_bytes() const override;

  uint32_t entries() const { return prompts_.entries(); }
  const NgramParams& params() const { return params_; }

 private:
  class Predictor;
  struct Active {
    uint32_t entry;
    double coef;  // a_e * s_e * mass_e / (mass_e + trust).
  };

  explicit NgramModel(NgramParams params);

  std::span<const uint32_t> Reply(uint32_t e) const {
    return std::span<const uint32_t>(reply_tokens_)
        .subspan(reply_begin_[e], reply_begin_[e + 1] - reply_begin_[e]);
  }
  // The entry with these terms and reply, or FlatIndex::kNone.
  uint32_t FindEntry(std::span<const TermCount> terms,
                     std::span<const uint32_t> reply) const;
  // Appends entry (terms, reply) with `units` of mass, or adds the mass to
  // an equal entry; counts the reply in the global model. True when the
  // entry is new.
  bool AddEntry(std::span<const TermCount> terms,
                std::span<const uint32_t> reply, uint64_t units);
  // The entries that take part in predictions for the conversation q.
  WipedVector<Active> Activate(const PromptQuery& q) const;
  // Token ids of `text`; tokens outside the vocabulary are kUnknownToken.
  WipedVector<uint32_t> LookUpTokens(std::string_view text) const;

  const NgramParams params_;
  StringTable tokens_;  // Token id = index + kFirstWordToken.
  PromptIndex prompts_;
  WipedVector<uint64_t> reply_begin_ = WipedVector<uint64_t>(1, 0);
  WipedVector<uint32_t> reply_tokens_;
  WipedVector<uint64_t> mass_;
  FlatIndex entry_index_;  // By hash of (terms, reply).
  BackoffNgrams global_;
};

}  // namespace atrest::training

#endif  // ATREST_TRAINING_NGRAM_MODEL_H_
