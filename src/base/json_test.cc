#include "base/json.h"

#include <gtest/gtest.h>

#include <string>

#include "base/status_testing.h"

namespace atrest {
namespace {

using nlohmann::json;

constexpr JsonLimits kSmall{.max_bytes = 1000, .max_depth = 3, .max_values = 5};

std::string Nested(int depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string MessageOf(std::string_view text, const JsonLimits& limits) {
  Result<json> r = ParseJson(text, limits);
  EXPECT_FALSE(r.ok()) << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().reason(), "");
  return r.status().message();
}

TEST(ParseJsonTest, DepthExactlyAtTheBoundParsesOneMoreIsRefused) {
  EXPECT_OK(ParseJson(Nested(3), kSmall));
  EXPECT_EQ(MessageOf(Nested(4), kSmall), "JSON nested deeper than 3 levels");
  // Objects and arrays count alike.
  EXPECT_OK(ParseJson(R"({"a":{"b":[1]}})", kSmall));
  EXPECT_EQ(MessageOf(R"({"a":{"b":[[1]]}})", kSmall),
            "JSON nested deeper than 3 levels");
  // Siblings do not add up: depth is nesting, not the number of brackets.
  EXPECT_OK(ParseJson("[[],[[]],[]]",
                      {.max_bytes = 100, .max_depth = 3, .max_values = 100}));
}

TEST(ParseJsonTest, RequestLimitsHoldTheDepthsOfRealBodies) {
  EXPECT_OK(ParseJson(Nested(64), kRequestJsonLimits));
  EXPECT_EQ(MessageOf(Nested(65), kRequestJsonLimits),
            "JSON nested deeper than 64 levels");
  // What crashed the server: hundreds of thousands of '[' in one body. It
  // is refused by the scan, before anything is built.
  EXPECT_EQ(MessageOf(std::string(400000, '['), kRequestJsonLimits),
            "JSON nested deeper than 64 levels");
  EXPECT_EQ(MessageOf(R"({"alg":)" + std::string(120000, '[') +
                          std::string(120000, ']') + R"(,"value":"AA"})",
                      kRequestJsonLimits),
            "JSON nested deeper than 64 levels");
}

TEST(ParseJsonTest, BoundsTheNumberOfValues) {
  // [1,2,3,4] counts 1 + '[' + 3 commas = 5.
  EXPECT_OK(ParseJson("[1,2,3,4]", kSmall));
  EXPECT_EQ(MessageOf("[1,2,3,4,5]", kSmall), "JSON has more than 5 values");
  EXPECT_EQ(MessageOf("[[],[],[]]", kSmall), "JSON has more than 5 values");
}

TEST(ParseJsonTest, BoundsTheSize) {
  const std::string at = "\"" + std::string(998, 'a') + "\"";
  ASSERT_EQ(at.size(), 1000u);
  EXPECT_OK(ParseJson(at, kSmall));
  EXPECT_EQ(MessageOf(at + " ", kSmall), "JSON larger than 1000 bytes");
}

TEST(ParseJsonTest, BracketsCommasAndQuotesInsideStringsDoNotCount) {
  Result<json> r = ParseJson(R"({"a":"[[[[,,,,{{{{\"[[[[\\"})", kSmall);
  ASSERT_OK(r);
  EXPECT_EQ((*r)["a"], "[[[[,,,,{{{{\"[[[[\\");
  // An escaped backslash ends before the closing quote; what follows is
  // outside the string again and counts.
  EXPECT_EQ(MessageOf(R"(["\\",[[[1]]]])", kSmall),
            "JSON nested deeper than 3 levels");
}

TEST(ParseJsonTest, RefusesWhatIsNotJson) {
  for (const char* text :
       {"", "{", "[1,]", "{\"a\":1} x", "1e999", "]", "]]]][[[[", "nul",
        "{\"a\":\"\xff\"}", "\"\xc0\xaf\""}) {
    EXPECT_EQ(MessageOf(text, kRequestJsonLimits), "not valid JSON") << text;
  }
}

// nlohmann's lexer reads a NUL as the end of the input, which would make
// "1\0<anything>" parse as 1; no JSON text holds a raw NUL.
TEST(ParseJsonTest, RefusesNulBytesWhereverTheyAre) {
  for (const std::string_view text :
       {std::string_view("1\0x", 3), std::string_view("{\"a\":1}\0]]]", 11),
        std::string_view("[\"a\0\"]", 6), std::string_view("\0", 1)}) {
    EXPECT_EQ(MessageOf(text, kRequestJsonLimits), "not valid JSON");
  }
  EXPECT_OK(ParseJson(R"(["a\u0000"])", kRequestJsonLimits));  // Escaped.
}

TEST(ParseJsonTest, ObjectsOnlyWhenAsked) {
  EXPECT_OK(ParseJson("[1]", kSmall));
  Result<json> r = ParseJsonObject("[1]", kSmall);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "not a JSON object");
  EXPECT_OK(ParseJsonObject(R"({"a":1})", kSmall));
  EXPECT_EQ(ParseJsonObject("{", kSmall).status().message(), "not valid JSON");
}

TEST(DumpJsonTest, NeverThrowsOnInvalidUtf8) {
  json j = {{"name", std::string("k\xff\xfe-1")}, {"ok", "caf\xc3\xa9"}};
  EXPECT_THROW((void)j.dump(), json::type_error);  // What nlohmann does.
  std::string text;
  EXPECT_NO_THROW(text = DumpJson(j));
  EXPECT_EQ(text,
            "{\"name\":\"k\xef\xbf\xbd\xef\xbf\xbd-1\","
            "\"ok\":\"caf\xc3\xa9\"}");
  // What it writes is valid JSON again.
  EXPECT_OK(ParseJson(text, kRequestJsonLimits));
  EXPECT_EQ(DumpJson(json{{"a", 1}}, 2), "{\n  \"a\": 1\n}");
}

}  // namespace
}  // namespace atrest
