// PromptIndex: how the n-gram chat model (training/ngram_model.h) tells
// which training examples a conversation resembles. Each example ("entry")
// keeps the term counts of the conversation before its reply (prompt terms:
// training/tokenizer.h); a query is compared with every entry by the cosine
// of their TF-IDF vectors, with term weight (1 + ln tf) * idf and
// idf = ln((1 + N) / (1 + df)) + 1 over the N entries.
//
// Terms a query has but the index does not know weigh in the query's norm
// (with df = 0), so that a conversation about something else resembles
// every entry less.
//
// Thread safety: const methods may run concurrently; the others need
// exclusive access.
#ifndef ATREST_TRAINING_PROMPT_INDEX_H_
#define ATREST_TRAINING_PROMPT_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "training/chat.h"
#include "training/string_table.h"
#include "training/wiping_allocator.h"

namespace atrest::training {

struct TermCount {
  uint32_t term = 0;
  uint32_t count = 0;
  friend bool operator==(const TermCount&, const TermCount&) = default;
};
// Sorted by term, each term once, counts >= 1.
using TermVector = WipedVector<TermCount>;

// A conversation's terms as a query.
struct PromptQuery {
  TermVector known;
  // Counts of the distinct terms the index does not know.
  WipedVector<uint32_t> unknown_counts;
};

class PromptIndex {
 public:
  // The terms of `messages`, adding new ones to the term table.
  TermVector Intern(std::span<const ChatMessage> messages);
  // The terms of `messages`, without changing the index.
  PromptQuery Query(std::span<const ChatMessage> messages) const;

  // Adds an entry (numbered from 0 in order) and its terms, which must be
  // a valid TermVector of known terms. Call Reweight() before the next
  // Similarities().
  void AddEntry(std::span<const TermCount> terms);
  // Recomputes idf, entry norms and the inverted index.
  void Reweight();

  // out[e] = cosine of the query and entry e, in [0, 1], for every entry.
  // Precondition: out.size() == entries().
  void Similarities(const PromptQuery& q, std::span<double> out) const;

  // For the terms' own table (Parse adds terms before entries).
  StringTable& terms() { return terms_; }
  const StringTable& terms() const { return terms_; }
  uint32_t entries() const {
    return static_cast<uint32_t>(entry_begin_.size() - 1);
  }
  std::span<const TermCount> EntryTerms(uint32_t e) const {
    return std::span<const TermCount>(entry_terms_)
        .subspan(entry_begin_[e], entry_begin_[e + 1] - entry_begin_[e]);
  }

  size_t memory_bytes() const;

 private:
  double Idf(uint32_t df) const;

  StringTable terms_;
  WipedVector<uint32_t> df_;  // Entries that have the term, by term.
  WipedVector<TermCount> entry_terms_;
  WipedVector<uint64_t> entry_begin_ = WipedVector<uint64_t>(1, 0);
  // Derived by Reweight(): idf by term; postings of each term (entries and
  // their normalized weights, by entry).
  WipedVector<double> idf_;
  WipedVector<uint64_t> post_begin_;
  WipedVector<uint32_t> post_entry_;
  WipedVector<double> post_weight_;
};

}  // namespace atrest::training

#endif  // ATREST_TRAINING_PROMPT_INDEX_H_
