#include "training/backoff_ngrams.h"

#include <algorithm>

namespace atrest::training {
namespace {

constexpr uint64_t kTrigramBit = uint64_t{1} << 63;

uint64_t BigramKey(uint32_t v) { return v; }
uint64_t TrigramKey(uint32_t u, uint32_t v) {
  return kTrigramBit | (uint64_t{u} << 31) | v;
}
uint64_t EntryHash(uint32_t ctx, uint32_t token) {
  return Mix64((uint64_t{ctx} << 32) | token);
}

}  // namespace

BackoffNgrams::BackoffNgrams(uint64_t type_prior) : type_prior_(type_prior) {
  SetVocabSize(kFirstWordToken);
}

void BackoffNgrams::SetVocabSize(uint32_t vocab_size) {
  if (vocab_size > uni_.size()) uni_.resize(vocab_size, 0);
}

uint32_t BackoffNgrams::FindContext(uint64_t key) const {
  return ctx_index_.Find(Mix64(key),
                         [&](uint32_t id) { return ctx_key_[id] == key; });
}

uint32_t BackoffNgrams::FindEntry(uint32_t ctx, uint32_t token) const {
  return ent_index_.Find(EntryHash(ctx, token), [&](uint32_t id) {
    return ent_ctx_[id] == ctx && ent_token_[id] == token;
  });
}

void BackoffNgrams::Count(uint64_t key, uint32_t token, uint64_t units) {
  uint32_t ctx = FindContext(key);
  if (ctx == FlatIndex::kNone) {
    ctx = static_cast<uint32_t>(ctx_key_.size());
    ctx_key_.push_back(key);
    ctx_total_.push_back(0);
    ctx_types_.push_back(0);
    ctx_head_.push_back(FlatIndex::kNone);
    ctx_index_.Insert(Mix64(key), ctx);
  }
  uint32_t e = FindEntry(ctx, token);
  if (e == FlatIndex::kNone) {
    e = static_cast<uint32_t>(ent_ctx_.size());
    ent_ctx_.push_back(ctx);
    ent_token_.push_back(token);
    ent_count_.push_back(0);
    ent_next_.push_back(ctx_head_[ctx]);
    ctx_head_[ctx] = e;
    ++ctx_types_[ctx];
    ent_index_.Insert(EntryHash(ctx, token), e);
  }
  ent_count_[e] += units;
  ctx_total_[ctx] += units;
}

void BackoffNgrams::AddReply(std::span<const uint32_t> reply, uint64_t units) {
  uint32_t u = kBos;
  uint32_t v = kBos;
  for (size_t i = 0; i <= reply.size(); ++i) {
    const uint32_t w = i < reply.size() ? reply[i] : kEos;
    Count(TrigramKey(u, v), w, units);
    Count(BigramKey(v), w, units);
    if (uni_[w] == 0) ++uni_types_;
    uni_[w] += units;
    uni_total_ += units;
    if (uni_[w] > uni_[uni_top_] ||
        (uni_[w] == uni_[uni_top_] && w < uni_top_)) {
      uni_top_ = w;
    }
    u = v;
    v = w;
  }
}

BackoffNgrams::Context BackoffNgrams::At(uint32_t u, uint32_t v) const {
  Context c;
  auto level = [&](uint32_t ctx, double* d, double* g) {
    if (ctx == FlatIndex::kNone) return;
    const double b =
        static_cast<double>(ctx_types_[ctx]) * static_cast<double>(type_prior_);
    *d = static_cast<double>(ctx_total_[ctx]) + b;
    *g = b / *d;
  };
  if (v != kUnknownToken) {
    if (u != kUnknownToken) c.ctx3 = FindContext(TrigramKey(u, v));
    c.ctx2 = FindContext(BigramKey(v));
  }
  level(c.ctx3, &c.d3, &c.g3);
  level(c.ctx2, &c.d2, &c.g2);
  return c;
}

double BackoffNgrams::Unigram(uint32_t w) const {
  const double p0 = 1.0 / static_cast<double>(uni_.size());
  if (uni_total_ == 0) return p0;
  const double b =
      static_cast<double>(uni_types_) * static_cast<double>(type_prior_);
  const double d = static_cast<double>(uni_total_) + b;
  const uint64_t count = w < uni_.size() ? uni_[w] : 0;
  return static_cast<double>(count) / d + (b / d) * p0;
}

double BackoffNgrams::Bigram(const Context& c, uint32_t w) const {
  uint64_t count = 0;
  if (c.ctx2 != FlatIndex::kNone) {
    const uint32_t e = FindEntry(c.ctx2, w);
    if (e != FlatIndex::kNone) count = ent_count_[e];
  }
  return static_cast<double>(count) / c.d2 + c.g2 * Unigram(w);
}

double BackoffNgrams::Probability(const Context& c, uint32_t w) const {
  uint64_t count = 0;
  if (c.ctx3 != FlatIndex::kNone) {
    const uint32_t e = FindEntry(c.ctx3, w);
    if (e != FlatIndex::kNone) count = ent_count_[e];
  }
  return static_cast<double>(count) / c.d3 + c.g3 * Bigram(c, w);
}

void BackoffNgrams::Distribution(const Context& c,
                                 std::span<double> out) const {
  const size_t n = std::min(out.size(), uni_.size());
  for (size_t w = 0; w < n; ++w) {
    out[w] = 0.0 + c.g2 * Unigram(static_cast<uint32_t>(w));
  }
  if (c.ctx2 != FlatIndex::kNone) {
    for (uint32_t e = ctx_head_[c.ctx2]; e != FlatIndex::kNone;
         e = ent_next_[e]) {
      const uint32_t w = ent_token_[e];
      if (w < n) {
        out[w] = static_cast<double>(ent_count_[e]) / c.d2 + c.g2 * Unigram(w);
      }
    }
  }
  for (size_t w = 0; w < n; ++w) out[w] = 0.0 + c.g3 * out[w];
  if (c.ctx3 != FlatIndex::kNone) {
    for (uint32_t e = ctx_head_[c.ctx3]; e != FlatIndex::kNone;
         e = ent_next_[e]) {
      const uint32_t w = ent_token_[e];
      if (w < n) {
        out[w] =
            static_cast<double>(ent_count_[e]) / c.d3 + c.g3 * Bigram(c, w);
      }
    }
  }
  if (n > 0) out[kBos] = 0;
}

size_t BackoffNgrams::memory_bytes() const {
  return HeapBytes(ctx_key_) + HeapBytes(ctx_total_) + HeapBytes(ctx_types_) +
         HeapBytes(ctx_head_) + ctx_index_.memory_bytes() +
         HeapBytes(ent_ctx_) + HeapBytes(ent_token_) + HeapBytes(ent_count_) +
         HeapBytes(ent_next_) + ent_index_.memory_bytes() + HeapBytes(uni_);
}

}  // namespace atrest::training
