#include "training/chat.h"

#include <gtest/gtest.h>

#include <string>

#include "base/status_testing.h"

namespace atrest::training {
namespace {

// A secret word that must never appear in an error message.
constexpr char kSecret[] = "Xylophone42";

std::string Line(const std::string& messages) {
  return "{\"messages\": [" + messages + "]}";
}

TEST(ParseExampleTest, ReadsRolesContentAndWeights) {
  ASSERT_OK_AND_ASSIGN(
      const Conversation c,
      ParseExample(Line(R"({"role": "system", "content": "Be brief."},
                          {"role": "user", "content": "Hi"},
                          {"role": "assistant", "content": "Draft", "weight": 0},
                          {"role": "user", "content": "Again"},
                          {"role": "assistant", "content": "Hello!", "weight": 1.0})")));
  ASSERT_EQ(c.size(), 5u);
  EXPECT_EQ(c[0].role, "system");
  EXPECT_EQ(c[0].content, "Be brief.");
  EXPECT_EQ(c[2].weight, 0);
  EXPECT_EQ(c[4].role, "assistant");
  EXPECT_EQ(c[4].content, "Hello!");
  EXPECT_EQ(c[4].weight, 1);
}

TEST(ParseExampleTest, JoinsTextPartsAndAllowsToolCallsWithoutContent) {
  ASSERT_OK_AND_ASSIGN(
      const Conversation c,
      ParseExample(Line(
          R"({"role": "user", "content": [{"type": "text", "text": "a "},
                                          {"type": "text", "text": "b"}]},
             {"role": "assistant", "tool_calls": [{"id": "1"}], "content": null},
             {"role": "tool", "content": "42", "tool_call_id": "1"},
             {"role": "assistant", "content": "It is 42."})")));
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].content, "a b");
  EXPECT_EQ(c[1].content, "");
  EXPECT_EQ(c[2].role, "tool");
}

TEST(ParseExampleTest, RejectsBadShapesWithoutQuotingContent) {
  const std::string s = kSecret;
  const std::vector<std::string> bad = {
      "not json " + s,
      "[\"" + s + "\"]",
      "{\"" + s + "\": 1}",
      "{\"messages\": \"" + s + "\"}",
      "{\"messages\": []}",
      Line("\"" + s + "\""),
      Line(R"({"content": ")" + s + "\"}"),
      Line(R"({"role": 5, "content": ")" + s + "\"}"),
      Line(R"({"role": ")" + s + R"(", "content": "x"})"),
      Line(R"({"role": "user"})"),
      Line(R"({"role": "user", "content": 7})"),
      Line(R"({"role": "user", "content": []})"),
      Line(R"({"role": "user", "content": [{"type": "image", "text": ")" + s +
           "\"}]}"),
      Line(R"({"role": "user", "content": [{"type": "text", "text": 3}]})"),
      Line(R"({"role": "assistant", "content": "x", "weight": 2})"),
      Line(R"({"role": "assistant", "content": "x", "weight": "1"})"),
      Line(R"({"role": "user", "content": "x", "weight": 1})"),
      Line(R"({"role": "assistant"})"),
      std::string(100, '[') + std::string(100, ']'),
  };
  for (const std::string& line : bad) {
    Result<Conversation> r = ParseExample(line);
    EXPECT_REFUSED(r, StatusCode::kInvalidArgument, "");
    EXPECT_EQ(r.status().message().find(kSecret), std::string::npos)
        << r.status();
  }
}

TEST(ParseExampleTest, NamesThePosition) {
  Result<Conversation> r =
      ParseExample(Line(R"({"role": "user", "content": "a"}, {"role": "x"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "messages[1] has an unrecognized role (allowed: system, user, "
            "assistant, tool, function)");
}

TEST(ParseExamplesTest, SkipsBomBlankLinesAndCarriageReturns) {
  const std::string one = Line(
      R"({"role": "user", "content": "q"}, {"role": "assistant", "content": "a"})");
  ASSERT_OK_AND_ASSIGN(
      const std::vector<Conversation> v,
      ParseExamples("\xEF\xBB\xBF" + one + "\r\n\n  \t\r\n" + one));
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1][1].content, "a");
  ASSERT_OK_AND_ASSIGN(const std::vector<Conversation> none, ParseExamples(""));
  EXPECT_TRUE(none.empty());
}

TEST(ParseExamplesTest, ErrorsNameTheOneBasedLine) {
  const std::string one = Line(R"({"role": "user", "content": "q"})");
  Result<std::vector<Conversation>> r =
      ParseExamples(one + "\n\n" + one + "\n{\"messages\": 1}\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "Line 4: 'messages' is not an array");
}

TEST(WipeConversationTest, EmptiesTheConversation) {
  Conversation c = {{.role = "user", .content = std::string(100, 'x')}};
  WipeConversation(c);
  EXPECT_TRUE(c.empty());
}

}  // namespace
}  // namespace atrest::training
