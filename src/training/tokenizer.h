// The word-level tokenizer of the n-gram chat model (training/ngram_model.h).
//
// A token is an optional run of whitespace followed by either a run of word
// bytes (ASCII letters, digits, '_' and every byte >= 0x80, so that UTF-8
// sequences stay whole) or one other byte (punctuation, symbols, controls);
// whitespace at the very end of a text is a token of its own. Tokenizing is
// reversible: the tokens of a text, concatenated, are the text, byte for
// byte. Tokens of valid UTF-8 are valid UTF-8.
//
// Prompt terms (what the model compares conversations by) are the word runs
// of the tokens, lower-cased (ASCII only).
//
// Thread safety: pure functions.
#ifndef ATREST_TRAINING_TOKENIZER_H_
#define ATREST_TRAINING_TOKENIZER_H_

#include <string_view>
#include <vector>

#include "training/wiping_allocator.h"

namespace atrest::training {

bool IsTokenSpace(char c);
bool IsWordByte(char c);

// Calls f(token) for each token of `text`, in order; the views point into
// `text`.
template <typename F>
void ForEachToken(std::string_view text, F&& f) {
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && IsTokenSpace(text[i])) ++i;
    if (i < text.size()) {
      if (IsWordByte(text[i])) {
        while (i < text.size() && IsWordByte(text[i])) ++i;
      } else {
        ++i;
      }
    }
    f(text.substr(start, i - start));
  }
}

std::vector<std::string_view> Tokenize(std::string_view text);
size_t CountTokens(std::string_view text);

// True when `token` is exactly one token (Tokenize(token) == {token}).
bool IsSingleToken(std::string_view token);

// The prompt term of `token` (its word run, lower-cased) in *term, or false
// when the token is punctuation or whitespace. *term is overwritten.
bool TermOf(std::string_view token, WipedString* term);

// True when `term` could be a TermOf() result: a non-empty word run without
// upper-case ASCII letters.
bool IsTerm(std::string_view term);

}  // namespace atrest::training

#endif  // ATREST_TRAINING_TOKENIZER_H_
