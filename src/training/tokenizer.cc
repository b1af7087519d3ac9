#include "training/tokenizer.h"

namespace atrest::training {

bool IsTokenSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

bool IsWordByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
         (u >= '0' && u <= '9') || u == '_' || u >= 0x80;
}

std::vector<std::string_view> Tokenize(std::string_view text) {
  std::vector<std::string_view> tokens;
  ForEachToken(text, [&](std::string_view t) { tokens.push_back(t); });
  return tokens;
}

size_t CountTokens(std::string_view text) {
  size_t n = 0;
  ForEachToken(text, [&](std::string_view) { ++n; });
  return n;
}

bool IsSingleToken(std::string_view token) {
  size_t n = 0;
  bool whole = false;
  ForEachToken(token, [&](std::string_view t) {
    ++n;
    whole = t.size() == token.size();
  });
  return n == 1 && whole;
}

bool TermOf(std::string_view token, WipedString* term) {
  size_t i = 0;
  while (i < token.size() && IsTokenSpace(token[i])) ++i;
  if (i == token.size() || !IsWordByte(token[i])) return false;
  term->assign(token.substr(i));
  for (char& c : *term) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return true;
}

bool IsTerm(std::string_view term) {
  if (term.empty()) return false;
  for (char c : term) {
    if (!IsWordByte(c) || (c >= 'A' && c <= 'Z')) return false;
  }
  return true;
}

}  // namespace atrest::training
