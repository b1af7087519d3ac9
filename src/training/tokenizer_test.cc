#include "training/tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "training/decoding.h"

namespace atrest::training {
namespace {

using Tokens = std::vector<std::string_view>;

std::string Join(const Tokens& tokens) {
  std::string out;
  for (std::string_view t : tokens) out += t;
  return out;
}

TEST(TokenizerTest, SplitsWordsPunctuationAndWhitespace) {
  EXPECT_EQ(Tokenize("Hello, world!\n"),
            (Tokens{"Hello", ",", " world", "!", "\n"}));
  EXPECT_EQ(Tokenize("  two  spaces"), (Tokens{"  two", "  spaces"}));
  EXPECT_EQ(Tokenize("don't stop_now 3.14"),
            (Tokens{"don", "'", "t", " stop_now", " 3", ".", "14"}));
  EXPECT_EQ(Tokenize("a\r\n\tb"), (Tokens{"a", "\r\n\tb"}));
  EXPECT_EQ(Tokenize(" ->"), (Tokens{" -", ">"}));
  EXPECT_EQ(Tokenize(""), Tokens{});
  EXPECT_EQ(Tokenize("   "), Tokens{"   "});
}

TEST(TokenizerTest, KeepsUtf8SequencesWhole) {
  EXPECT_EQ(Tokenize("naïve café 東京!"),
            (Tokens{"naïve", " café", " 東京", "!"}));
}

TEST(TokenizerTest, RoundTripsArbitraryBytes) {
  const std::vector<std::string> texts = {"Plain text.",
                                          "Trailing space ",
                                          "\n\nLeading newlines",
                                          "Tabs\tand\rreturns\r\n",
                                          "emoji 🙂 and ümlauts",
                                          "(a+b)*c=[d]{e}"};
  for (const std::string& t : texts) EXPECT_EQ(Join(Tokenize(t)), t);
  Rng rng(7);
  for (int i = 0; i < 500; ++i) {
    std::string s(rng.Below(64), '\0');
    for (char& c : s) c = static_cast<char>(rng.Next());
    const Tokens tokens = Tokenize(s);
    EXPECT_EQ(Join(tokens), s);
    EXPECT_EQ(CountTokens(s), tokens.size());
    for (std::string_view t : tokens) EXPECT_TRUE(IsSingleToken(t));
  }
}

TEST(TokenizerTest, SingleTokens) {
  EXPECT_TRUE(IsSingleToken(" word"));
  EXPECT_TRUE(IsSingleToken("\n"));
  EXPECT_TRUE(IsSingleToken(" ."));
  EXPECT_FALSE(IsSingleToken(""));
  EXPECT_FALSE(IsSingleToken("two words"));
  EXPECT_FALSE(IsSingleToken("word "));
  EXPECT_FALSE(IsSingleToken(".."));
}

TEST(TokenizerTest, TermsAreLowerCasedWordRuns) {
  WipedString term;
  ASSERT_TRUE(TermOf("  Hello", &term));
  EXPECT_EQ(term, "hello");
  ASSERT_TRUE(TermOf("ÉCOLE", &term));
  EXPECT_EQ(term, "École");  // ASCII only is lower-cased.
  EXPECT_FALSE(TermOf(" ,", &term));
  EXPECT_FALSE(TermOf("  ", &term));
  EXPECT_TRUE(IsTerm("hello_2"));
  EXPECT_FALSE(IsTerm("Hello"));
  EXPECT_FALSE(IsTerm(""));
  EXPECT_FALSE(IsTerm(" hello"));
}

}  // namespace
}  // namespace atrest::training
