#include "training/prompt_index.h"

#include <algorithm>
#include <cmath>

#include "training/flat_index.h"
#include "training/tokenizer.h"

namespace atrest::training {
namespace {

double TfWeight(uint32_t tf) { return 1.0 + std::log(static_cast<double>(tf)); }

// Sorts `ids` and counts runs of equal ones into (id, count) pairs.
template <typename Id, typename Out>
void CountRuns(WipedVector<Id>& ids, Out&& out) {
  std::sort(ids.begin(), ids.end());
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j < ids.size() && ids[j] == ids[i]) ++j;
    out(ids[i], static_cast<uint32_t>(j - i));
    i = j;
  }
}

// Calls f(term) for every prompt term of every message.
template <typename F>
void ForEachTerm(std::span<const ChatMessage> messages, F&& f) {
  WipedString term;
  for (const ChatMessage& m : messages) {
    ForEachToken(m.content, [&](std::string_view token) {
      if (TermOf(token, &term)) f(std::string_view(term));
    });
  }
}

}  // namespace

TermVector PromptIndex::Intern(std::span<const ChatMessage> messages) {
  WipedVector<uint32_t> ids;
  ForEachTerm(messages,
              [&](std::string_view t) { ids.push_back(terms_.Add(t)); });
  if (df_.size() < terms_.size()) df_.resize(terms_.size(), 0);
  TermVector v;
  CountRuns(ids, [&](uint32_t id, uint32_t n) { v.push_back({id, n}); });
  return v;
}

PromptQuery PromptIndex::Query(std::span<const ChatMessage> messages) const {
  WipedVector<uint32_t> ids;
  WipedVector<uint64_t> unknown;  // By hash: a collision merges two terms.
  ForEachTerm(messages, [&](std::string_view t) {
    const uint32_t id = terms_.Find(t);
    if (id == StringTable::kNotFound) {
      unknown.push_back(HashBytes(t));
    } else {
      ids.push_back(id);
    }
  });
  PromptQuery q;
  CountRuns(ids, [&](uint32_t id, uint32_t n) { q.known.push_back({id, n}); });
  CountRuns(unknown,
            [&](uint64_t, uint32_t n) { q.unknown_counts.push_back(n); });
  return q;
}

void PromptIndex::AddEntry(std::span<const TermCount> terms) {
  if (df_.size() < terms_.size()) df_.resize(terms_.size(), 0);
  for (const TermCount& t : terms) {
    entry_terms_.push_back(t);
    ++df_[t.term];
  }
  entry_begin_.push_back(entry_terms_.size());
}

double PromptIndex::Idf(uint32_t df) const {
  return std::log((1.0 + entries()) / (1.0 + df)) + 1.0;
}

void PromptIndex::Reweight() {
  const uint32_t n_terms = terms_.size();
  if (df_.size() < n_terms) df_.resize(n_terms, 0);
  idf_.assign(n_terms, 0);
  for (uint32_t t = 0; t < n_terms; ++t) idf_[t] = Idf(df_[t]);
  // Postings in CSR form: counts, prefix sums, then entries in order.
  post_begin_.assign(size_t{n_terms} + 1, 0);
  for (const TermCount& t : entry_terms_) ++post_begin_[t.term + 1];
  for (uint32_t t = 0; t < n_terms; ++t) post_begin_[t + 1] += post_begin_[t];
  post_entry_.assign(entry_terms_.size(), 0);
  post_weight_.assign(entry_terms_.size(), 0);
  WipedVector<uint64_t> fill(post_begin_.begin(), post_begin_.end() - 1);
  for (uint32_t e = 0; e < entries(); ++e) {
    double norm2 = 0;
    for (const TermCount& t : EntryTerms(e)) {
      const double w = TfWeight(t.count) * idf_[t.term];
      norm2 += w * w;
    }
    const double inv = norm2 > 0 ? 1.0 / std::sqrt(norm2) : 0.0;
    for (const TermCount& t : EntryTerms(e)) {
      const uint64_t at = fill[t.term]++;
      post_entry_[at] = e;
      post_weight_[at] = TfWeight(t.count) * idf_[t.term] * inv;
    }
  }
}

void PromptIndex::Similarities(const PromptQuery& q,
                               std::span<double> out) const {
  std::fill(out.begin(), out.end(), 0.0);
  // Terms added since the last Reweight() count as unknown.
  const double unknown_idf = Idf(0);
  auto idf = [&](uint32_t term) {
    return term < idf_.size() ? idf_[term] : unknown_idf;
  };
  double norm2 = 0;
  for (const TermCount& t : q.known) {
    const double w = TfWeight(t.count) * idf(t.term);
    norm2 += w * w;
  }
  for (uint32_t n : q.unknown_counts) {
    const double w = TfWeight(n) * unknown_idf;
    norm2 += w * w;
  }
  if (norm2 <= 0) return;
  const double inv = 1.0 / std::sqrt(norm2);
  for (const TermCount& t : q.known) {
    if (t.term >= idf_.size()) continue;
    const double w = TfWeight(t.count) * idf_[t.term] * inv;
    for (uint64_t i = post_begin_[t.term]; i < post_begin_[t.term + 1]; ++i) {
      out[post_entry_[i]] += w * post_weight_[i];
    }
  }
  for (double& s : out) s = std::clamp(s, 0.0, 1.0);
}

size_t PromptIndex::memory_bytes() const {
  return terms_.memory_bytes() + HeapBytes(df_) + HeapBytes(entry_terms_) +
         HeapBytes(entry_begin_) + HeapBytes(idf_) + HeapBytes(post_begin_) +
         HeapBytes(post_entry_) + HeapBytes(post_weight_);
}

}  // namespace atrest::training
