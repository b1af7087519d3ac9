#include "files/jsonl_validator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace atrest::files {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Options = FineTuneValidator::Options;

constexpr std::string_view kGood =
    R"({"messages": [{"role": "system", "content": "Be brief."}, )"
    R"({"role": "user", "content": "Capital of France?"}, )"
    R"({"role": "assistant", "content": "Paris."}]})";

std::string Lines(int n, std::string_view line = kGood,
                  std::string_view eol = "\n") {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += line;
    out += eol;
  }
  return out;
}

std::string WithMessage(std::string_view message) {
  return R"({"messages": [{"role": "user", "content": "Hi"}, )" +
         std::string(message) + "]}";
}

FineTuneValidator NewValidator(Options options = {}) {
  Result<FineTuneValidator> v = FineTuneValidator::Create(std::move(options));
  EXPECT_TRUE(v.ok()) << v.status();
  return std::move(v).value();
}

FineTuneFileReport Validate(std::string_view file, Options options = {}) {
  FineTuneValidator v = NewValidator(std::move(options));
  v.Update(AsBytes(file));
  return v.Finish();
}

// The problem reported for a file of `line` followed by ten good lines.
std::string ProblemWith(std::string_view line) {
  FineTuneFileReport r = Validate(std::string(line) + "\n" + Lines(10));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.examples, 10);
  EXPECT_THAT(r.bad_lines, ElementsAre(1));
  return r.status_details;
}

TEST(FineTuneValidatorTest, AcceptsTenExamples) {
  FineTuneFileReport r = Validate(Lines(10));
  EXPECT_TRUE(r.valid) << r.status_details;
  EXPECT_EQ(r.examples, 10);
  EXPECT_EQ(r.lines, 10);
  EXPECT_EQ(r.bad_line_count, 0);
  EXPECT_TRUE(r.bad_lines.empty());
  EXPECT_FALSE(r.too_large);
  EXPECT_EQ(r.status_details, "");
}

TEST(FineTuneValidatorTest, AcceptsByteOrderMarkAtStart) {
  FineTuneFileReport r = Validate("\xEF\xBB\xBF" + Lines(10));
  EXPECT_TRUE(r.valid) << r.status_details;
  EXPECT_EQ(r.examples, 10);
}

TEST(FineTuneValidatorTest, AcceptsCrlf) {
  FineTuneFileReport r = Validate(Lines(10, kGood, "\r\n"));
  EXPECT_TRUE(r.valid) << r.status_details;
  EXPECT_EQ(r.examples, 10);
  EXPECT_EQ(r.lines, 10);
}

TEST(FineTuneValidatorTest, AcceptsMissingFinalNewline) {
  std::string file = Lines(10);
  file.pop_back();
  FineTuneFileReport r = Validate(file);
  EXPECT_TRUE(r.valid) << r.status_details;
  EXPECT_EQ(r.examples, 10);
  EXPECT_EQ(r.lines, 10);
}

TEST(FineTuneValidatorTest, SkipsBlankLinesButCountsThem) {
  // A lone BOM line, blank lines with spaces, tabs and CRs, then a bad line:
  // its number counts the blank lines before it.
  std::string file = "\xEF\xBB\xBF\n \t\r\n\n" + Lines(10) + "\r\n  \nnope\n";
  FineTuneFileReport r = Validate(file);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.examples, 10);
  EXPECT_EQ(r.lines, 16);
  EXPECT_EQ(r.status_details, "Line 16: not valid JSON.");
}

TEST(FineTuneValidatorTest, RejectsByteOrderMarkElsewhere) {
  // A second BOM on line 1, and one starting line 3.
  std::string file = "\xEF\xBB\xBF\xEF\xBB\xBF" + std::string(kGood) + "\n" +
                     std::string(kGood) + "\n\xEF\xBB\xBF" + Lines(10);
  FineTuneFileReport r = Validate(file);
  EXPECT_FALSE(r.valid);
  EXPECT_THAT(r.bad_lines, ElementsAre(1, 3));
  EXPECT_EQ(r.examples, 10);
  EXPECT_THAT(r.status_details,
              HasSubstr("Line 3: byte order mark, which is allowed only at "
                        "the start of the file."));
}

TEST(FineTuneValidatorTest, RejectsTooFewExamples) {
  FineTuneFileReport r = Validate(Lines(9));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.examples, 9);
  EXPECT_EQ(r.bad_line_count, 0);
  EXPECT_EQ(r.status_details,
            "Training file has 9 example(s), but must have at least 10 "
            "examples.");

  r = Validate("", {.min_examples = 1, .file_kind = "Validation file"});
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.lines, 0);
  EXPECT_EQ(r.status_details,
            "Validation file has 0 example(s), but must have at least 1 "
            "examples.");
  EXPECT_TRUE(Validate("", {.min_examples = 0}).valid);
}

TEST(FineTuneValidatorTest, ListsProblemsThenTheCount) {
  std::string file = Lines(2) +
                     WithMessage(R"({"role": "robot", "content": "x"})") +
                     "\n" + Lines(3) + "{\"messages\": [\n" + Lines(1);
  FineTuneFileReport r = Validate(file);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.examples, 6);
  EXPECT_EQ(r.lines, 8);
  EXPECT_EQ(r.bad_line_count, 2);
  EXPECT_THAT(r.bad_lines, ElementsAre(3, 7));
  EXPECT_EQ(r.status_details,
            "Line 3: messages[1] has an unrecognized role (allowed: system, "
            "user, assistant, tool, function). Line 7: not "
            "valid JSON. Training file has 6 example(s), but must have at "
            "least 10 examples.");
}

TEST(FineTuneValidatorTest, RejectsWrongWeights) {
  EXPECT_EQ(ProblemWith(WithMessage(
                R"({"role": "assistant", "content": "x", "weight": 2})")),
            "Line 1: messages[1] has a 'weight' other than 0 or 1.");
  EXPECT_EQ(ProblemWith(WithMessage(
                R"({"role": "assistant", "content": "x", "weight": "1"})")),
            "Line 1: messages[1] has a 'weight' other than 0 or 1.");
  EXPECT_EQ(
      ProblemWith(
          R"({"messages": [{"role": "user", "content": "Hi", "weight": 1}, )"
          R"({"role": "assistant", "content": "x"}]})"),
      "Line 1: messages[0] has 'weight', which only assistant messages may "
      "have.");
  // 0 and 1, also written as 1.0, are fine.
  EXPECT_TRUE(
      ValidateChatExample(nlohmann::json::parse(WithMessage(
                              R"({"role": "assistant", "content": "x", )"
                              R"("weight": 1.0})")))
          .ok());
}

TEST(FineTuneValidatorTest, RejectsExamplesWithNothingToLearn) {
  const std::string want =
      "Line 1: example has no assistant message to learn from.";
  EXPECT_EQ(ProblemWith(R"({"messages": [{"role": "user", "content": "Hi"}]})"),
            want);
  EXPECT_EQ(ProblemWith(WithMessage(
                R"({"role": "assistant", "content": "x", "weight": 0})")),
            want);
}

TEST(FineTuneValidatorTest, RejectsLinesThatAreNotExamples) {
  EXPECT_EQ(ProblemWith("[1, 2]"), "Line 1: not a JSON object.");
  EXPECT_EQ(ProblemWith("\"text\""), "Line 1: not a JSON object.");
  EXPECT_EQ(ProblemWith("{}"), "Line 1: missing 'messages'.");
  EXPECT_EQ(ProblemWith(R"({"messages": []})"), "Line 1: 'messages' is empty.");
  EXPECT_EQ(ProblemWith(R"({"messages": {}})"),
            "Line 1: 'messages' is not an array.");
  EXPECT_EQ(ProblemWith(R"({"messages": [1]})"),
            "Line 1: messages[0] is not an object.");
  EXPECT_EQ(ProblemWith(R"({"prompt": "a", "completion": "b"})"),
            "Line 1: has an unrecognized top-level key (allowed: messages, "
            "tools, parallel_tool_calls, functions).");
  EXPECT_EQ(ProblemWith(R"({"messages": [{"content": "Hi"}]})"),
            "Line 1: messages[0] has no 'role'.");
  EXPECT_EQ(ProblemWith(R"({"messages": [{"role": 1, "content": "Hi"}]})"),
            "Line 1: messages[0] has a 'role' that is not a string.");
  EXPECT_EQ(ProblemWith(WithMessage(R"({"role": "assistant"})")),
            "Line 1: messages[1] has no 'content'.");
  EXPECT_EQ(ProblemWith(WithMessage(R"({"role": "assistant", "content": 5})")),
            "Line 1: messages[1] has a 'content' that is neither a string nor "
            "an array of text parts.");
  EXPECT_EQ(ProblemWith(WithMessage(
                R"({"role": "assistant", "content": "x", "audio": null})")),
            "Line 1: messages[1] has an unrecognized key (allowed: role, "
            "content, name, weight, tool_calls, function_call, refusal, "
            "tool_call_id).");
  EXPECT_EQ(ProblemWith(R"({"messages": [{"role": "user", "content": "Hi", )"
                        R"("tool_calls": [{}]}]})"),
            "Line 1: messages[0] has 'tool_calls', which only assistant "
            "messages may have.");
  EXPECT_EQ(ProblemWith(WithMessage(R"({"role": "assistant", "content": )"
                                    R"([{"type": "image_url"}]})")),
            "Line 1: messages[1].content[0] is not a text part {\"type\": "
            "\"text\", \"text\": \"...\"}.");
  EXPECT_EQ(
      ProblemWith(R"({"messages": [{"role": "user", "content": "Hi"}, )"
                  R"({"role": "assistant", "content": "x"}], "tools": {}})"),
      "Line 1: 'tools' is not an array.");
}

TEST(FineTuneValidatorTest, RejectsOverlongLinesWithoutLosingTheNext) {
  const Options tight = {.max_line_bytes = 200};
  const std::string fits =
      std::string(kGood) + std::string(200 - kGood.size(), ' ');
  const std::string too_long = fits + " ";
  // At the limit: fine, also with CRLF and with a BOM before line 1.
  EXPECT_TRUE(Validate("\xEF\xBB\xBF" + Lines(10, fits, "\r\n"), tight).valid);
  FineTuneFileReport r =
      Validate(too_long + "\n" + Lines(10) + std::string(100000, 'x'), tight);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.examples, 10);
  EXPECT_EQ(r.lines, 12);
  EXPECT_THAT(r.bad_lines, ElementsAre(1, 12));
  EXPECT_EQ(r.status_details,
            "Line 1: line is longer than 200 bytes. Line 12: line is longer "
            "than 200 bytes.");
}

TEST(FineTuneValidatorTest, RejectsInvalidUtf8) {
  const std::string want = "Line 1: not valid UTF-8.";
  // A lone continuation byte, an overlong '/', a surrogate, past U+10FFFF,
  // and a sequence cut short at the end of the line.
  for (std::string bad :
       {"\x80", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82"}) {
    EXPECT_EQ(ProblemWith(WithMessage(R"({"role": "assistant", "content": ")" +
                                      bad + "\"}")),
              want)
        << testing::PrintToString(bad);
  }
  // Multi-byte text is fine.
  EXPECT_TRUE(
      Validate(Lines(10, WithMessage(R"({"role": "assistant", )"
                                     R"("content": "d\u00e9j\u00e0 )"
                                     "\xE2\x82\xAC \xF0\x9F\x98\x80\"}")))
          .valid);
}

TEST(FineTuneValidatorTest, RejectsLinesTooCostlyToParse) {
  std::string deep =
      WithMessage(R"({"role": "assistant", "content": "x", )"
                  R"("tool_calls": [)" +
                  std::string(70, '[') + std::string(70, ']') + "]}");
  EXPECT_EQ(ProblemWith(deep), "Line 1: JSON nested deeper than 64 levels.");
  // Brackets inside strings do not count.
  std::string in_string = WithMessage(R"({"role": "assistant", "content": ")" +
                                      std::string(100, '[') + "\\\"\"}");
  EXPECT_TRUE(Validate(Lines(10, in_string)).valid);

  // n values: the object, "messages", two messages, their four strings,
  // "tools", and n - 9 zeros in "tools".
  auto with_values = [](int64_t n) {
    std::string zeros = "0";
    for (int64_t i = 1; i < n - 9; ++i) zeros += ",0";
    return R"({"messages": [{"role": "user", "content": "Hi"}, )"
           R"({"role": "assistant", "content": "x"}], "tools": [)" +
           zeros + "]}";
  };
  EXPECT_TRUE(Validate(Lines(10, with_values(kMaxJsonValues))).valid);
  EXPECT_EQ(ProblemWith(with_values(kMaxJsonValues + 1)),
            "Line 1: JSON has more than 100000 values.");
}

TEST(FineTuneValidatorTest, RejectsFilesLargerThanMaxBytes) {
  const std::string file = Lines(20);
  const auto exact = static_cast<int64_t>(file.size());
  EXPECT_TRUE(Validate(file, {.max_bytes = exact}).valid);
  // The limit cuts line 11: lines 1-10 are read, the rest is not.
  FineTuneFileReport r = Validate(
      file, {.max_bytes = static_cast<int64_t>(kGood.size() + 1) * 10 + 5});
  EXPECT_FALSE(r.valid);
  EXPECT_TRUE(r.too_large);
  EXPECT_EQ(r.examples, 10);
  EXPECT_EQ(r.lines, 10);
  EXPECT_EQ(r.status_details, "File is larger than " +
                                  std::to_string((kGood.size() + 1) * 10 + 5) +
                                  " bytes.");
  EXPECT_EQ(Validate(file, {.max_bytes = exact - 1}).status_details,
            "File is larger than " + std::to_string(exact - 1) + " bytes.");
}

TEST(FineTuneValidatorTest, CapsStatusDetails) {
  std::string file;
  for (int i = 0; i < 25; ++i) file += "oops\n" + std::string(kGood) + "\n";
  FineTuneFileReport r = Validate(file);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.examples, 25);
  EXPECT_EQ(r.bad_line_count, 25);
  EXPECT_THAT(r.bad_lines, ElementsAre(1, 3, 5, 7, 9, 11, 13, 15, 17, 19));
  EXPECT_EQ(r.status_details,
            "Line 1: not valid JSON. Line 3: not valid JSON. Line 5: not "
            "valid JSON. Line 7: not valid JSON. Line 9: not valid JSON. Line "
            "11: not valid JSON. Line 13: not valid JSON. Line 15: not valid "
            "JSON. Line 17: not valid JSON. Line 19: not valid JSON. And 15 "
            "more invalid line(s).");

  r = Validate(file, {.max_reported_lines = 2});
  EXPECT_EQ(r.status_details,
            "Line 1: not valid JSON. Line 3: not valid JSON. And 23 more "
            "invalid line(s).");
}

TEST(FineTuneValidatorTest, ProblemsNeverQuoteTheFile) {
  // status_details is stored unencrypted: no value or key from the file may
  // appear in it.
  const std::string report = ProblemWith(WithMessage(
      R"({"role": "ssn-078-05-1120", "content": "x", "secret-key-77": 1})"));
  EXPECT_EQ(report.find("ssn-078"), std::string::npos) << report;
  EXPECT_EQ(report.find("secret-key-77"), std::string::npos) << report;
  EXPECT_NE(report.find("messages[1] has an unrecognized role"),
            std::string::npos)
      << report;
}

TEST(FineTuneValidatorTest, SameReportForAnyChunking) {
  // BOM, CRLF, blank lines, a bad role, invalid UTF-8, an overlong line, a
  // BOM in the middle, no final newline; max_line_bytes makes kGood lines
  // fit and the overlong line not.
  const std::string file =
      "\xEF\xBB\xBF" + Lines(3, kGood, "\r\n") + "\n  \r\n" +
      WithMessage(R"({"role": "robot", "content": "x"})") + "\n" +
      WithMessage(R"({"role": "assistant", "content": "\xE2\x82"})") + "\n" +
      std::string(300, 'x') + "\r\n\xEF\xBB\xBF" + std::string(kGood) + "\n" +
      Lines(2) + std::string(kGood);
  for (int64_t max_bytes : {int64_t{1} << 20, int64_t{700}}) {
    const Options options = {.max_line_bytes = 200, .max_bytes = max_bytes};
    const FineTuneFileReport whole = Validate(file, options);
    EXPECT_FALSE(whole.valid);
    EXPECT_EQ(whole.too_large, max_bytes == 700);
    for (size_t cut = 0; cut <= file.size(); ++cut) {
      FineTuneValidator v = NewValidator(options);
      v.Update(AsBytes(std::string_view(file).substr(0, cut)));
      v.Update(ByteView());
      v.Update(AsBytes(std::string_view(file).substr(cut)));
      ASSERT_EQ(v.Finish(), whole) << "cut at " << cut;
    }
    FineTuneValidator bytewise = NewValidator(options);
    for (char c : file) bytewise.Update(AsBytes(std::string_view(&c, 1)));
    FineTuneFileReport r = bytewise.Finish();
    EXPECT_EQ(r, whole);
    EXPECT_EQ(bytewise.Finish(), whole);  // Finish() again: same report.
  }
  FineTuneFileReport whole = Validate(file, {.max_line_bytes = 200});
  EXPECT_EQ(whole.examples, 6);
  EXPECT_EQ(whole.lines, 12);
  EXPECT_THAT(whole.bad_lines, ElementsAre(6, 7, 8, 9));
}

TEST(FineTuneValidatorTest, CreateRejectsBadOptions) {
  EXPECT_EQ(FineTuneValidator::Create({.max_line_bytes = 0}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(
      FineTuneValidator::Create({.max_line_bytes = int64_t{1} << 31}).ok());
  EXPECT_FALSE(FineTuneValidator::Create({.max_bytes = 0}).ok());
  EXPECT_FALSE(FineTuneValidator::Create({.min_examples = -1}).ok());
  EXPECT_FALSE(FineTuneValidator::Create({.max_reported_lines = 0}).ok());
  EXPECT_FALSE(FineTuneValidator::Create({.max_reported_lines = 101}).ok());
  EXPECT_FALSE(FineTuneValidator::Create({.file_kind = ""}).ok());
  EXPECT_TRUE(FineTuneValidator::Create({}).ok());
}

TEST(ValidateChatExampleTest, AcceptsToolsFunctionsAndContentParts) {
  for (
      std::string_view line : {
          // Tool calls with null or no content, then the tool's answer.
          R"({"messages": [{"role": "user", "content": "Weather?"}, )"
          R"({"role": "assistant", "content": null, "tool_calls": [{"id": )"
          R"("c1", "type": "function", "function": {"name": "w", )"
          R"("arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "c1", )"
          R"("content": "sunny"}, {"role": "assistant", "content": "Sunny."}], )"
          R"("tools": [{"type": "function", "function": {"name": "w"}}], )"
          R"("parallel_tool_calls": false})",
          // Legacy functions.
          R"({"messages": [{"role": "user", "content": "Hi"}, )"
          R"({"role": "assistant", "function_call": {"name": "f", )"
          R"("arguments": "{}"}}, {"role": "function", "name": "f", )"
          R"("content": "1"}, {"role": "assistant", "content": "One."}], )"
          R"("functions": [{"name": "f"}]})",
          // Text parts, names, weights, nulls from SDK dumps.
          R"({"messages": [{"role": "system", "content": [{"type": "text", )"
          R"("text": "Be brief."}]}, {"role": "user", "name": "ann", )"
          R"("content": "Hi"}, {"role": "assistant", "content": "Hey", )"
          R"("weight": 0, "tool_calls": null, "function_call": null, )"
          R"("refusal": null}, {"role": "user", "content": "Bye"}, )"
          R"({"role": "assistant", "content": "", "weight": 1}]})",
      }) {
    Status s = ValidateChatExample(nlohmann::json::parse(line));
    EXPECT_TRUE(s.ok()) << s << "\n" << line;
  }
}

TEST(ValidateChatExampleTest, RejectsMisplacedToolFields) {
  auto check = [](std::string_view message) {
    return ValidateChatExample(nlohmann::json::parse(WithMessage(message)))
        .message();
  };
  EXPECT_EQ(check(R"({"role": "assistant", "tool_calls": []})"),
            "messages[1] has a 'tool_calls' that is not a non-empty array");
  EXPECT_EQ(check(R"({"role": "assistant", "function_call": "f"})"),
            "messages[1] has a 'function_call' that is not an object");
  EXPECT_EQ(check(R"({"role": "assistant", "content": "x", "name": 1})"),
            "messages[1] has a 'name' that is not a string");
  EXPECT_EQ(
      check(R"({"role": "assistant", "content": "x", "tool_call_id": "c"})"),
      "messages[1] has 'tool_call_id', which only tool messages may "
      "have");
  EXPECT_EQ(check(R"({"role": "tool", "content": "x", "tool_call_id": 3})"),
            "messages[1] has a 'tool_call_id' that is not a string");
  EXPECT_EQ(check(R"({"role": "assistant", "content": "x", "refusal": 3})"),
            "messages[1] has a 'refusal' that is not a string");
  EXPECT_EQ(check(R"({"role": "tool", "tool_call_id": "c"})"),
            "messages[1] has no 'content'");
  EXPECT_EQ(check(R"({"role": "assistant", "content": []})"),
            "messages[1] has an empty 'content' array");
  EXPECT_EQ(
      ValidateChatExample(nlohmann::json::parse(
                              R"({"messages": [{"role": "user", )"
                              R"("content": "x"}], "parallel_tool_calls": 1})"))
          .code(),
      StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace atrest::files
