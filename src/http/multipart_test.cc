#include "http/multipart.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace atrest::http {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kBoundary = "AaB03x";

// What a parse produced, as one comparable string: a line per part with its
// headers, data and whether it ended, then the statuses.
struct Outcome {
  std::string parts;
  Status feed;    // The first failed Feed(), or OK.
  Status finish;  // Finish(), called only when every Feed() succeeded.
};

std::string Describe(const Outcome& o) {
  return o.parts + "feed=" + o.feed.ToString() +
         " finish=" + o.finish.ToString();
}

// Records the callbacks; each may be told to fail once it has run `n` times.
class Recorder {
 public:
  MultipartCallbacks Callbacks() {
    return {
        .on_part_begin =
            [this](const MultipartPartHeaders& h) {
              parts_ +=
                  "[name=" + h.name + " filename=" +
                  (h.filename ? "'" + *h.filename + "'" : std::string("-")) +
                  " type=" + h.content_type + "] ";
              return Status::Ok();
            },
        .on_part_data =
            [this](ByteView data) {
              EXPECT_FALSE(data.empty());
              parts_.append(AsString(data));
              return Status::Ok();
            },
        .on_part_end =
            [this] {
              parts_ += " <end>\n";
              return Status::Ok();
            },
    };
  }
  const std::string& parts() const { return parts_; }

 private:
  std::string parts_;
};

// Parses `body` fed as the pieces that `cuts` (ascending offsets) split it
// into.
Outcome ParseCut(std::string_view body, const std::vector<size_t>& cuts,
                 MultipartLimits limits = {},
                 std::string_view boundary = kBoundary) {
  Recorder recorder;
  auto parser = MultipartParser::Create(std::string(boundary),
                                        recorder.Callbacks(), limits);
  EXPECT_TRUE(parser.ok()) << parser.status();
  Outcome out;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(body.size());
  for (size_t to : ends) {
    out.feed = (*parser)->Feed(AsBytes(body.substr(from, to - from)));
    from = to;
    if (!out.feed.ok()) break;
  }
  if (out.feed.ok()) out.finish = (*parser)->Finish();
  out.parts = recorder.parts();
  return out;
}

Outcome Parse(std::string_view body, MultipartLimits limits = {}) {
  return ParseCut(body, {}, limits);
}

Outcome ParseBytewise(std::string_view body) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < body.size(); ++i) cuts.push_back(i);
  return ParseCut(body, cuts);
}

// A body with one part whose header lines are `headers` and data "x".
std::string OnePart(std::string_view headers) {
  return "--AaB03x\r\n" + std::string(headers) + "\r\n\r\nx\r\n--AaB03x--";
}

void ExpectInvalid(const Outcome& o, std::string_view message_part) {
  const Status& s = o.feed.ok() ? o.finish : o.feed;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << Describe(o);
  EXPECT_THAT(s.message(), HasSubstr(std::string(message_part)));
}

TEST(MultipartBoundaryTest, ParsesTokenAndQuotedValues) {
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; boundary=AaB03x"),
            "AaB03x");
  EXPECT_EQ(*MultipartBoundary("Multipart/Form-Data ; BOUNDARY=\"a b\\c\""),
            "a bc");
  EXPECT_EQ(*MultipartBoundary("multipart/form-data;boundary=----formdata-"
                               "undici-0123456789"),
            "----formdata-undici-0123456789");
  EXPECT_EQ(*MultipartBoundary(
                "multipart/form-data; charset=utf-8; boundary==_Part_1?x ;"),
            "=_Part_1?x");
  const std::string max(70, 'b');
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; boundary=" + max), max);
}

TEST(MultipartBoundaryTest, RejectsOtherTypesAndBadBoundaries) {
  for (std::string_view bad : {
           "",
           "text/plain; boundary=x",
           "multipart/mixed; boundary=x",
           "multipart/form-data",
           "multipart/form-data; boundary=",
           "multipart/form-data; boundary=\"\"",
           "multipart/form-data; boundary=\"ends with space \"",
           "multipart/form-data; boundary=a; boundary=b",
           "multipart/form-data; boundary=\"unterminated",
           "multipart/form-data; boundary=a{b}",
           "multipart/form-data; boundary=abc extra",
           "multipart/form-data; boundary",
       }) {
    Result<std::string> b = MultipartBoundary(bad);
    EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(
      MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'b'))
          .ok());
}

TEST(MultipartParserTest, CreateRejectsBadArguments) {
  Recorder r;
  EXPECT_FALSE(MultipartParser::Create("", r.Callbacks()).ok());
  EXPECT_FALSE(MultipartParser::Create("a\r\nb", r.Callbacks()).ok());
  EXPECT_FALSE(
      MultipartParser::Create(std::string(71, 'a'), r.Callbacks()).ok());
  MultipartCallbacks missing = r.Callbacks();
  missing.on_part_end = nullptr;
  EXPECT_FALSE(MultipartParser::Create("b", missing).ok());
  EXPECT_FALSE(
      MultipartParser::Create("b", r.Callbacks(), {.max_header_bytes = 0})
          .ok());
  EXPECT_FALSE(
      MultipartParser::Create("b", r.Callbacks(), {.max_parts = 0}).ok());
  EXPECT_TRUE(MultipartParser::Create("b", r.Callbacks()).ok());
}

TEST(MultipartParserTest, SingleField) {
  Outcome o = Parse(
      "--AaB03x\r\n"
      "Content-Disposition: form-data; name=\"purpose\"\r\n"
      "\r\n"
      "fine-tune\r\n"
      "--AaB03x--\r\n");
  EXPECT_EQ(Describe(o),
            "[name=purpose filename=- type=] fine-tune <end>\n"
            "feed=OK finish=OK");
}

// As the npm openai client's files.create sends it (undici's FormData).
TEST(MultipartParserTest, FieldAndFile) {
  const std::string body =
      "------formdata-undici-032044524580\r\n"
      "Content-Disposition: form-data; name=\"purpose\"\r\n"
      "\r\n"
      "fine-tune\r\n"
      "------formdata-undici-032044524580\r\n"
      "Content-Disposition: form-data; name=\"file\"; "
      "filename=\"train.jsonl\"\r\n"
      "\r\n"
      "{\"messages\":[]}\n{\"messages\":[]}\n\r\n"
      "------formdata-undici-032044524580--";
  Outcome o = ParseCut(body, {}, {}, "----formdata-undici-032044524580");
  EXPECT_EQ(Describe(o),
            "[name=purpose filename=- type=] fine-tune <end>\n"
            "[name=file filename='train.jsonl' type=] "
            "{\"messages\":[]}\n{\"messages\":[]}\n <end>\n"
            "feed=OK finish=OK");
}

// File data full of things that look like boundary lines but are not.
const std::string kTrickyData =
    "--AaB03x\r\n"          // The boundary without its leading CRLF.
    "a\r\nb\r\n\r\n--\r\n"  // CRLFs and dashes.
    "\r\n--AaB\r\n"         // A partial boundary.
    "\r\n--AaB03\r"         // A partial boundary, then a lone CR.
    "\r\n--AaB03xY"         // The boundary, then a letter.
    "\r\n--AaB03x-z"        // The boundary, then one dash.
    "\r\n--AaB03x \tq"      // The boundary and padding, then a letter.
    "\r\n--AaB03x \r\r"     // The boundary and padding, CR, CR.
    "\n\r\n--AaB03x\r"      // The boundary line without its LF ...
    "\r";                   // ... and the data ends in CR.

std::string TrickyBody() {
  return "preamble --AaB03x\r\n"
         "\r\n--AaB03x\r\n"
         "Content-Disposition: form-data; name=\"purpose\"\r\n"
         "\r\n"
         "fine-tune\r\n"
         "--AaB03x  \r\n"
         "Content-Disposition: form-data; name=\"file\"; filename=\"t.bin\"\r\n"
         "Content-Type: application/octet-stream\r\n"
         "\r\n" +
         kTrickyData +
         "\r\n--AaB03x\r\n"
         "Content-Disposition: form-data; name=\"empty\"\r\n"
         "\r\n"
         "\r\n--AaB03x--  \r\n"
         "epilogue \r\n--AaB03x\r\ngarbage";
}

std::string TrickyWant() {
  return "[name=purpose filename=- type=] fine-tune <end>\n"
         "[name=file filename='t.bin' type=application/octet-stream] " +
         kTrickyData +
         " <end>\n"
         "[name=empty filename=- type=]  <end>\n"
         "feed=OK finish=OK";
}

TEST(MultipartParserTest, DataThatLooksLikeBoundaries) {
  EXPECT_EQ(Describe(Parse(TrickyBody())), TrickyWant());
}

TEST(MultipartParserTest, EverySplitGivesTheSameResult) {
  const std::string body = TrickyBody();
  const std::string want = TrickyWant();
  for (size_t i = 0; i <= body.size(); ++i) {
    ASSERT_EQ(Describe(ParseCut(body, {i})), want) << "split at " << i;
  }
  for (size_t i = 0; i <= body.size(); i += 3) {
    for (size_t j = i; j <= body.size(); ++j) {
      ASSERT_EQ(Describe(ParseCut(body, {i, j})), want)
          << "split at " << i << " and " << j;
    }
  }
  EXPECT_EQ(Describe(ParseBytewise(body)), want);
}

TEST(MultipartParserTest, LargeFileStreamsWithBoundedHoldBack) {
  const std::string boundary = "----formdata-undici-0123456789";
  std::mt19937_64 rng(42);
  std::string file(5 * 1024 * 1024, '\0');
  for (char& c : file) c = static_cast<char>(rng());
  // Plant boundary look-alikes, some across chunk edges.
  for (size_t at = 1000; at + 100 < file.size(); at += 9973) {
    const std::string fake =
        "\r\n--" + boundary.substr(0, at % 31) + (at % 2 ? "x" : " \ry");
    file.replace(at, fake.size(), fake);
  }
  const std::string head = "--" + boundary +
                           "\r\nContent-Disposition: form-data; name=\"file\"; "
                           "filename=\"big.bin\"\r\n\r\n";
  const std::string body = head + file + "\r\n--" + boundary + "--\r\n";

  size_t delivered = 0;
  bool ended = false;
  auto parser = MultipartParser::Create(
      boundary,
      {
          .on_part_begin =
              [](const MultipartPartHeaders&) { return Status::Ok(); },
          .on_part_data =
              [&](ByteView data) {
                // Only file bytes, in order: never boundary bytes.
                EXPECT_LE(delivered + data.size(), file.size());
                EXPECT_EQ(AsString(data), std::string_view(file).substr(
                                              delivered, data.size()));
                delivered += data.size();
                return Status::Ok();
              },
          .on_part_end =
              [&] {
                ended = true;
                return Status::Ok();
              },
      });
  ASSERT_TRUE(parser.ok()) << parser.status();
  size_t fed = 0;
  while (fed < body.size()) {
    const size_t n = std::min<size_t>(body.size() - fed,
                                      1 + rng() % (rng() % 2 ? 70000 : 40));
    ASSERT_TRUE((*parser)->Feed(AsBytes(body).subspan(fed, n)).ok());
    fed += n;
    const size_t file_fed =
        std::min(file.size(), fed > head.size() ? fed - head.size() : 0);
    ASSERT_LE(delivered, file_fed);
    ASSERT_LE(file_fed - delivered, (*parser)->max_held_back());
  }
  EXPECT_TRUE((*parser)->Finish().ok());
  EXPECT_EQ(delivered, file.size());
  EXPECT_TRUE(ended);
}

TEST(MultipartParserTest, PreambleEpilogueAndPadding) {
  const std::string pad(MultipartParser::kMaxTransportPadding, ' ');
  Outcome o = Parse("x--AaB03x\r\n\r\n--AaB03x" + pad +
                    "\r\n"
                    "Content-Disposition: form-data; name=a\r\n\r\n"
                    "1\r\n--AaB03x \t\r\n"
                    "Content-Disposition: form-data; name=b\r\n\r\n"
                    "2\r\n--AaB03x--garbage\r\n--AaB03x\r\n");
  EXPECT_EQ(Describe(o),
            "[name=a filename=- type=] 1 <end>\n"
            "[name=b filename=- type=] 2 <end>\n"
            "feed=OK finish=OK");
  // One more space of padding and the line is not a boundary line: the
  // "part" is preamble.
  EXPECT_EQ(Describe(Parse("--AaB03x " + pad + "\r\n" +
                           "Content-Disposition: form-data; name=a\r\n\r\n"
                           "1\r\n--AaB03x--")),
            "feed=OK finish=OK");
}

TEST(MultipartParserTest, NoPartsAndEmptyParts) {
  EXPECT_EQ(Describe(Parse("--AaB03x--")), "feed=OK finish=OK");
  EXPECT_EQ(Describe(Parse("--AaB03x\r\n"
                           "Content-Disposition: form-data; name=a\r\n\r\n"
                           "\r\n--AaB03x--")),
            "[name=a filename=- type=]  <end>\nfeed=OK finish=OK");
}

TEST(MultipartParserTest, LfLineEndsAreNotBoundaryLines) {
  ExpectInvalid(Parse("--AaB03x\n"
                      "Content-Disposition: form-data; name=a\n\n"
                      "1\n--AaB03x--\n"),
                "no boundary line");
}

TEST(MultipartParserTest, TruncatedBodyFailsFinish) {
  const std::string body = OnePart("Content-Disposition: form-data; name=a");
  for (size_t n = 0; n < body.size(); ++n) {
    Outcome o = Parse(std::string_view(body).substr(0, n));
    EXPECT_TRUE(o.feed.ok()) << n;
    EXPECT_EQ(o.finish.code(), StatusCode::kInvalidArgument) << n;
  }
  ExpectInvalid(Parse(""), "no boundary line");
  ExpectInvalid(Parse("--AaB03x\r\nContent-Disp"), "inside a part's headers");
  ExpectInvalid(Parse(body.substr(0, body.size() - 1)),
                "ends before its closing boundary");
  EXPECT_TRUE(Parse(body).finish.ok());
}

TEST(MultipartParserTest, TooManyParts) {
  const std::string part =
      "--AaB03x\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n";
  EXPECT_TRUE(Parse(part + part + "--AaB03x--", {.max_parts = 2}).finish.ok());
  Outcome o = Parse(part + part + part + "--AaB03x--", {.max_parts = 2});
  ExpectInvalid(o, "more than 2 parts");
  EXPECT_EQ(o.parts,
            "[name=a filename=- type=] x <end>\n"
            "[name=a filename=- type=] x <end>\n");
}

TEST(MultipartParserTest, TooLargeHeaders) {
  const std::string lines =
      "Content-Disposition: form-data; name=a\r\nContent-Type: text/plain";
  const size_t block = lines.size() + 4;  // Two CRLFs end the block.
  EXPECT_TRUE(Parse(OnePart(lines), {.max_header_bytes = block}).finish.ok());
  ExpectInvalid(Parse(OnePart(lines), {.max_header_bytes = block - 1}),
                "headers exceed");
  // Without an end of the headers in sight.
  ExpectInvalid(Parse("--AaB03x\r\n" + std::string(20000, 'h')),
                "headers exceed 16384 bytes");
}

TEST(MultipartParserTest, MissingDispositionOrName) {
  ExpectInvalid(Parse(OnePart("Content-Type: text/plain")),
                "no Content-Disposition");
  ExpectInvalid(Parse("--AaB03x\r\n\r\nx\r\n--AaB03x--"),
                "no Content-Disposition");
  ExpectInvalid(Parse(OnePart("Content-Disposition: form-data")),
                "no name parameter");
  ExpectInvalid(Parse(OnePart("Content-Disposition: form-data; filename=a")),
                "no name parameter");
  ExpectInvalid(Parse(OnePart("Content-Disposition: attachment; name=a")),
                "not form-data");
}

TEST(MultipartParserTest, MalformedHeaders) {
  for (std::string_view lines : {
           "Content-Disposition form-data; name=a",
           "Content-Disposition: form-data; name=a\r\n folded: x",
           "Bad Name: form-data; name=a",
           ": x",
           "Content-Disposition: form-data; name=\"a",
           "Content-Disposition: form-data; name",
           "Content-Disposition: form-data; name=",
           "Content-Disposition: form-data; name=a b",
           "Content-Disposition: form-data; name=a; NAME=b",
           "Content-Disposition: form-data; name=a; filename=x; filename=y",
           "Content-Disposition: form-data; name=a\r\n"
           "Content-Disposition: form-data; name=b",
           "Content-Disposition: form-data; name=a\r\n"
           "Content-Type: a\r\nContent-Type: b",
           "Content-Disposition: form-data; name=a\r\nX: \x01",
           "Content-Disposition: form-data; name=\"\xff\"",
           "Content-Disposition: form-data; name=\"\xc0\xaf\"",
           "Content-Disposition: form-data; name=a\r",
           "Content-Disposition: form-data; name=a\r\n"
           "Content-Transfer-Encoding: base64",
           "Content-Disposition: form-data; name=a; filename*=latin1''x",
           "Content-Disposition: form-data; name=a; filename*=UTF-8''%zz",
           "Content-Disposition: form-data; name=a; filename*=UTF-8''%00",
           "Content-Disposition: form-data; name=a; filename*=UTF-8''%ff",
           "Content-Disposition: form-data; name=a; filename*=x",
       }) {
    Outcome o = Parse(OnePart(lines));
    EXPECT_EQ(o.feed.code(), StatusCode::kInvalidArgument)
        << lines << ": " << Describe(o);
    EXPECT_EQ(o.parts, "") << lines;
  }
}

TEST(MultipartParserTest, DispositionParameters) {
  struct Case {
    std::string_view lines;
    std::string_view want;
  };
  for (const Case& c : std::vector<Case>{
           {"Content-Disposition: form-data; name=\"file\"; "
            "filename=\"a \\\"b\\\" \\\\c;d.jsonl\"",
            "[name=file filename='a \"b\" \\c;d.jsonl' type=]"},
           {"content-disposition: FORM-DATA ; NAME=f ; FILENAME=p.txt ;\r\n"
            "CONTENT-TYPE:  text/plain; charset=utf-8 ",
            "[name=f filename='p.txt' type=text/plain; charset=utf-8]"},
           {"Content-Disposition: form-data; name=\"f\"; "
            "filename*=UTF-8''na%C3%AFve%20file.txt; filename=\"fallback\"",
            "[name=f filename='na\xc3\xafve file.txt' type=]"},
           {"Content-Disposition: form-data; name=f; filename*=utf-8'en'x.txt",
            "[name=f filename='x.txt' type=]"},
           {"Content-Disposition: form-data; name=\"\xe6\x97\xa5\"; "
            "filename=\"\xe6\x97\xa5\xe6\x9c\xac.txt\"",
            "[name=\xe6\x97\xa5 filename='\xe6\x97\xa5\xe6\x9c\xac.txt' "
            "type=]"},
           {"Content-Disposition: form-data; name=\"\"; filename=\"\"\r\n"
            "Content-Transfer-Encoding: BINARY\r\nX-Other: \t",
            "[name= filename='' type=]"},
       }) {
    EXPECT_EQ(Describe(Parse(OnePart(c.lines))),
              std::string(c.want) + " x <end>\nfeed=OK finish=OK")
        << c.lines;
  }
}

TEST(MultipartParserTest, CallbackErrorPropagatesAndSticks) {
  const std::string body =
      "--AaB03x\r\nContent-Disposition: form-data; name=a\r\n\r\n"
      "data\r\n--AaB03x--";
  const Status stop = PermissionDeniedError("stop");
  for (int failing = 0; failing < 3; ++failing) {
    int calls = 0;
    auto step = [&](int which) {
      ++calls;
      return which == failing ? stop : Status::Ok();
    };
    auto parser = MultipartParser::Create(
        "AaB03x", {
                      .on_part_begin =
                          [&](const MultipartPartHeaders&) { return step(0); },
                      .on_part_data = [&](ByteView) { return step(1); },
                      .on_part_end = [&] { return step(2); },
                  });
    ASSERT_TRUE(parser.ok());
    EXPECT_EQ((*parser)->Feed(AsBytes(body)), stop) << failing;
    EXPECT_EQ(calls, failing + 1);
    EXPECT_EQ((*parser)->Feed(AsBytes(body)), stop);
    EXPECT_EQ((*parser)->Finish(), stop);
    EXPECT_EQ(calls, failing + 1);
  }
}

TEST(MultipartParserTest, ErrorsAreStickyAndDoNotEchoData) {
  Recorder r;
  auto parser = MultipartParser::Create("AaB03x", r.Callbacks());
  ASSERT_TRUE(parser.ok());
  Status s = (*parser)->Feed(
      AsBytes("--AaB03x\r\nContent-Disposition: form-data; name=a\r\n\r\n"
              "SECRET-CONTENT"));
  EXPECT_TRUE(s.ok()) << s;
  s = (*parser)->Finish();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::Not(HasSubstr("SECRET")));
  EXPECT_EQ((*parser)->Feed(AsBytes("\r\n--AaB03x--")), s);
  EXPECT_EQ((*parser)->Finish(), s);
}

TEST(MultipartParserTest, FeedAfterFinishFails) {
  Recorder r;
  auto parser = MultipartParser::Create("AaB03x", r.Callbacks());
  ASSERT_TRUE(parser.ok());
  ASSERT_TRUE((*parser)->Feed(AsBytes("--AaB03x--")).ok());
  ASSERT_TRUE((*parser)->Finish().ok());
  EXPECT_TRUE((*parser)->Finish().ok());
  EXPECT_EQ((*parser)->Feed(AsBytes("x")).code(),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace atrest::http
