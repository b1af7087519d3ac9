// MultipartParser: a push parser for multipart/form-data request bodies
// (RFC 7578 over the multipart syntax of RFC 2046), for uploads of any size.
//
// The caller feeds the body in chunks of any size as they arrive; the parser
// calls back when a part begins (with its headers), with the part's bytes as
// soon as they are known not to be part of a boundary line, and when the part
// ends. It never buffers a part: besides one part's header block (at most
// MultipartLimits::max_header_bytes) it holds back at most max_held_back()
// bytes, the longest proper prefix of a boundary line.
//
//   ASSIGN_OR_RETURN(std::string boundary, MultipartBoundary(content_type));
//   ASSIGN_OR_RETURN(std::unique_ptr<MultipartParser> parser,
//                    MultipartParser::Create(boundary, callbacks));
//   for each chunk of the body: RETURN_IF_ERROR(parser->Feed(chunk));
//   RETURN_IF_ERROR(parser->Finish());
//
// What is accepted:
//  - A boundary line is CRLF "--" boundary, then at most
//    kMaxTransportPadding spaces or tabs, then CRLF; the closing one is CRLF
//    "--" boundary "--". The CRLF belongs to the boundary line, not to the
//    data before it. The body may start with the first boundary line without
//    its CRLF. CRLF "--" boundary followed by anything else is part data.
//    Line ends are CRLF only: a body using bare LF has no boundary lines.
//  - The preamble (before the first boundary line) and the epilogue (after the
//    closing one) are ignored.
//  - A part's headers are "Name: value" lines ending in CRLF, then an empty
//    line; names compare case-insensitively; no folded lines; the block must
//    be UTF-8 without control characters other than tab.
//    Content-Disposition is required: type form-data (case-insensitive) with
//    a name parameter; filename, or filename*=UTF-8''percent-encoded (which
//    wins over filename), is optional. Values may be tokens or quoted strings
//    with backslash escapes. Content-Type is optional. Content-Transfer-
//    Encoding other than 7bit, 8bit or binary is refused. Other headers are
//    ignored.
//
// Errors are InvalidArgument with a message saying what is wrong with the
// body; messages never quote part contents.
//
// Thread safety: a MultipartParser is used by one thread at a time. The
// callbacks run on the thread calling Feed() and must not call into the
// parser. MultipartBoundary is a pure function.
#ifndef ATREST_HTTP_MULTIPART_H_
#define ATREST_HTTP_MULTIPART_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace atrest::http {

// The boundary parameter of a Content-Type header value such as
// `multipart/form-data; boundary="----x"`. The media type and parameter names
// compare case-insensitively; the value may be a token or a quoted string.
// InvalidArgument when the media type is not multipart/form-data, or the
// boundary is missing, repeated, or not 1 to 70 characters that RFC 2046
// allows (letters, digits, '()+_,-./:=? and space, not last).
Result<std::string> MultipartBoundary(std::string_view content_type);

// What the headers of one part say. Every string is UTF-8 without control
// characters other than tab.
struct MultipartPartHeaders {
  std::string name;                     // Content-Disposition name.
  std::optional<std::string> filename;  // filename or decoded filename*.
  std::string content_type;             // Content-Type as sent; may be empty.
};

// The parser's calls to its owner, in body order: for each part
// on_part_begin, zero or more on_part_data, on_part_end. A non-OK Status
// from any of them stops the parser: Feed() returns that Status unchanged,
// and so does every later Feed() and Finish().
struct MultipartCallbacks {
  std::function<Status(const MultipartPartHeaders& headers)> on_part_begin;
  // The next bytes of the current part, never empty; `data` is valid only
  // during the call. A part arrives in any number of calls, depending on how
  // the body was chunked.
  std::function<Status(ByteView data)> on_part_data;
  // The current part's boundary line has been seen: the part is complete.
  std::function<Status()> on_part_end;
};

struct MultipartLimits {
  // One part's header block, from after its boundary line to the end of the
  // empty line, CRLFs included.
  size_t max_header_bytes = 16 * 1024;
  // Parts in the body; the next boundary line is an error.
  size_t max_parts = 16;
};

class MultipartParser {
 public:
  using Callbacks = MultipartCallbacks;
  using Limits = MultipartLimits;

  // The most spaces and tabs accepted between a boundary and its CRLF.
  static constexpr size_t kMaxTransportPadding = 128;

  // A parser for a body delimited by `boundary` (as MultipartBoundary returns
  // it). InvalidArgument if the boundary is not valid per RFC 2046, a
  // callback is missing or a limit is zero.
  static Result<std::unique_ptr<MultipartParser>> Create(std::string boundary,
                                                         Callbacks callbacks,
                                                         Limits limits = {});

  MultipartParser(const MultipartParser&) = delete;
  MultipartParser& operator=(const MultipartParser&) = delete;

  // Parses the next bytes of the body, which may be split anywhere (even one
  // byte per call), calling back as parts begin, carry data and end. Returns
  // the first error (a malformed body or a callback's Status); it is
  // permanent: every later call returns it. Bytes after the closing boundary
  // are ignored. FailedPrecondition after Finish().
  Status Feed(ByteView chunk);

  // The body has ended. OK when the closing boundary line was seen;
  // InvalidArgument when the body was truncated before it (the owner must
  // then discard any part it began); the permanent error if Feed() failed.
  Status Finish();

  // The most bytes of a part the parser holds back across Feed() calls while
  // it cannot yet tell data from a boundary line: boundary size + 133.
  size_t max_held_back() const { return max_line_ - 1; }

 private:
  enum class State { kPreamble, kHeaders, kData, kEpilogue, kFinished };
  enum class LineKind { kNone, kPrefix, kPart, kClose };
  struct LineMatch {
    LineKind kind;
    size_t length;  // Of the boundary line, for kPart and kClose.
  };

  MultipartParser(std::string boundary, Callbacks callbacks, Limits limits);

  // Each consumes a non-empty prefix of a non-empty `chunk`, calling back as
  // it goes, and returns its length.
  Result<size_t> ScanBody(ByteView chunk);
  Result<size_t> ScanHeaders(ByteView chunk);

  // Whether `s`, which starts with CR, starts with a boundary line.
  LineMatch MatchLine(std::string_view s) const;
  // Preamble bytes are dropped, part bytes go to on_part_data.
  Status Deliver(ByteView data);
  Status OnBoundaryLine(LineKind kind);
  Status BeginPart(std::string_view header_lines);

  const std::string delimiter_;  // CRLF "--" boundary.
  const size_t max_line_;        // Longest boundary line.
  const Callbacks callbacks_;
  const Limits limits_;

  State state_ = State::kPreamble;
  // In kPreamble and kData: a proper prefix of a boundary line, held from
  // earlier chunks (starts as the CRLF the first boundary line may omit).
  std::string held_;
  // In kHeaders: CRLF, then the header bytes seen so far.
  std::string header_block_;
  size_t parts_ = 0;
  Status error_;
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_MULTIPART_H_
