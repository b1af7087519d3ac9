#include "http/multipart.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace atrest::http {
namespace {

constexpr size_t kMaxBoundaryChars = 70;

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return LowerAscii(x) == LowerAscii(y);
         });
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

// RFC 9110 tchar.
bool IsTchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') ||
         (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

// RFC 2046 bchars.
bool IsBchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') ||
         (c != '\0' && std::strchr("'()+_,-./:=? ", c) != nullptr);
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

// Valid UTF-8 with no control characters but tab.
bool IsCleanText(std::string_view s) {
  static constexpr uint32_t kMinCodePoint[] = {0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
      ++i;
      continue;
    }
    size_t more;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      more = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      more = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      more = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= more) return false;
    for (size_t k = 1; k <= more; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < kMinCodePoint[more] || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += more + 1;
  }
  return true;
}

Status ValidateBoundary(std::string_view boundary) {
  if (boundary.empty() || boundary.size() > kMaxBoundaryChars) {
    return InvalidArgumentError(
        "multipart boundary must be 1 to 70 characters");
  }
  if (!std::all_of(boundary.begin(), boundary.end(), IsBchar)) {
    return InvalidArgumentError(
        "multipart boundary has a character that RFC 2046 does not allow");
  }
  if (boundary.back() == ' ') {
    return InvalidArgumentError("multipart boundary must not end with a space");
  }
  return Status::Ok();
}

// A header value "type; a=1; b="x y"": the type and the parameters, names
// lower-cased, quoted strings unescaped.
struct HeaderValue {
  std::string_view type;
  std::vector<std::pair<std::string, std::string>> params;
};

Result<HeaderValue> ParseHeaderValue(std::string_view v,
                                     std::string_view header) {
  auto error = [header](std::string_view what) {
    return InvalidArgumentError(std::string(what) + " in " +
                                std::string(header));
  };
  HeaderValue out;
  size_t i = v.find(';');
  out.type = TrimOws(v.substr(0, i));
  if (out.type.empty()) return error("missing type");
  auto skip_ows = [&] {
    while (i < v.size() && IsOws(v[i])) ++i;
  };
  while (i < v.size()) {
    ++i;  // The ';'.
    skip_ows();
    if (i == v.size() || v[i] == ';') continue;  // Empty parameter.
    const size_t name_start = i;
    while (i < v.size() && IsTchar(v[i])) ++i;
    if (i == name_start) return error("malformed parameter");
    std::string name(v.substr(name_start, i - name_start));
    std::transform(name.begin(), name.end(), name.begin(), LowerAscii);
    skip_ows();
    if (i == v.size() || v[i] != '=') return error("parameter without value");
    ++i;
    skip_ows();
    std::string value;
    if (i < v.size() && v[i] == '"') {
      bool closed = false;
      for (++i; i < v.size();) {
        char c = v[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i == v.size()) break;
          c = v[i++];
        }
        value.push_back(c);
      }
      if (!closed) return error("unterminated quoted string");
    } else {
      const size_t value_start = i;
      while (i < v.size() && v[i] != ';' && v[i] != '"' && !IsOws(v[i])) ++i;
      if (i == value_start) return error("empty parameter value");
      value = v.substr(value_start, i - value_start);
    }
    skip_ows();
    if (i < v.size() && v[i] != ';') return error("malformed parameters");
    out.params.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

// The value of parameter `name` (lower case); InvalidArgument if repeated.
Result<std::optional<std::string>> UniqueParam(const HeaderValue& hv,
                                               std::string_view name,
                                               std::string_view header) {
  std::optional<std::string> found;
  for (const auto& [n, v] : hv.params) {
    if (n != name) continue;
    if (found) {
      return InvalidArgumentError("repeated " + std::string(name) +
                                  " parameter in " + std::string(header));
    }
    found = v;
  }
  return found;
}

// An RFC 8187 ext-value: UTF-8'language'percent-encoded.
Result<std::string> DecodeExtValue(std::string_view v) {
  const size_t q1 = v.find('\'');
  const size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) {
    return InvalidArgumentError("malformed filename* in Content-Disposition");
  }
  if (!IEquals(v.substr(0, q1), "utf-8")) {
    return InvalidArgumentError(
        "filename* in Content-Disposition must use the UTF-8 charset");
  }
  std::string out;
  for (size_t i = q2 + 1; i < v.size(); ++i) {
    if (v[i] != '%') {
      out.push_back(v[i]);
      continue;
    }
    const int hi = i + 2 < v.size() ? HexDigitValue(v[i + 1]) : -1;
    const int lo = i + 2 < v.size() ? HexDigitValue(v[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return InvalidArgumentError(
          "malformed percent-encoding in filename* in Content-Disposition");
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (!IsCleanText(out)) {
    return InvalidArgumentError(
        "filename* in Content-Disposition is not UTF-8 text without control "
        "characters");
  }
  return out;
}

Status ParseContentDisposition(std::string_view value,
                               MultipartPartHeaders* out) {
  constexpr std::string_view kHeader = "Content-Disposition";
  ASSIGN_OR_RETURN(HeaderValue hv, ParseHeaderValue(value, kHeader));
  if (!IEquals(hv.type, "form-data")) {
    return InvalidArgumentError(
        "multipart part's Content-Disposition is not form-data");
  }
  ASSIGN_OR_RETURN(std::optional<std::string> name,
                   UniqueParam(hv, "name", kHeader));
  if (!name) {
    return InvalidArgumentError(
        "multipart part's Content-Disposition has no name parameter");
  }
  out->name = *std::move(name);
  ASSIGN_OR_RETURN(out->filename, UniqueParam(hv, "filename", kHeader));
  ASSIGN_OR_RETURN(std::optional<std::string> ext,
                   UniqueParam(hv, "filename*", kHeader));
  if (ext) {
    ASSIGN_OR_RETURN(out->filename, DecodeExtValue(*ext));
  }
  return Status::Ok();
}

// `lines`: header lines, each ending in CRLF.
Result<MultipartPartHeaders> ParsePartHeaders(std::string_view lines) {
  MultipartPartHeaders headers;
  bool seen_disposition = false;
  bool seen_type = false;
  while (!lines.empty()) {
    const size_t eol = lines.find("\r\n");
    const std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol + 2);
    if (!IsCleanText(line)) {
      return InvalidArgumentError(
          "multipart part headers must be UTF-8 text without control "
          "characters");
    }
    if (IsOws(line.front())) {
      return InvalidArgumentError(
          "folded header lines are not supported in multipart parts");
    }
    const size_t colon = line.find(':');
    const std::string_view name = line.substr(0, colon);
    if (colon == std::string_view::npos || name.empty() ||
        !std::all_of(name.begin(), name.end(), IsTchar)) {
      return InvalidArgumentError("malformed header line in a multipart part");
    }
    const std::string_view value = TrimOws(line.substr(colon + 1));
    if (IEquals(name, "content-disposition")) {
      if (seen_disposition) {
        return InvalidArgumentError(
            "multipart part has more than one Content-Disposition header");
      }
      seen_disposition = true;
      RETURN_IF_ERROR(ParseContentDisposition(value, &headers));
    } else if (IEquals(name, "content-type")) {
      if (seen_type) {
        return InvalidArgumentError(
            "multipart part has more than one Content-Type header");
      }
      seen_type = true;
      headers.content_type = value;
    } else if (IEquals(name, "content-transfer-encoding")) {
      if (!IEquals(value, "binary") && !IEquals(value, "8bit") &&
          !IEquals(value, "7bit")) {
        return InvalidArgumentError(
            "multipart part has an unsupported Content-Transfer-Encoding");
      }
    }
  }
  if (!seen_disposition) {
    return InvalidArgumentError(
        "multipart part has no Content-Disposition header");
  }
  return headers;
}

}  // namespace

Result<std::string> MultipartBoundary(std::string_view content_type) {
  constexpr std::string_view kHeader = "Content-Type";
  ASSIGN_OR_RETURN(HeaderValue hv, ParseHeaderValue(content_type, kHeader));
  if (!IEquals(hv.type, "multipart/form-data")) {
    return InvalidArgumentError("Content-Type is not multipart/form-data");
  }
  ASSIGN_OR_RETURN(std::optional<std::string> boundary,
                   UniqueParam(hv, "boundary", kHeader));
  if (!boundary) {
    return InvalidArgumentError(
        "multipart/form-data Content-Type has no boundary parameter");
  }
  RETURN_IF_ERROR(ValidateBoundary(*boundary));
  return *std::move(boundary);
}

Result<std::unique_ptr<MultipartParser>> MultipartParser::Create(
    std::string boundary, Callbacks callbacks, Limits limits) {
  RETURN_IF_ERROR(ValidateBoundary(boundary));
  if (!callbacks.on_part_begin || !callbacks.on_part_data ||
      !callbacks.on_part_end) {
    return InvalidArgumentError("MultipartParser needs all three callbacks");
  }
  if (limits.max_header_bytes == 0 || limits.max_parts == 0) {
    return InvalidArgumentError("MultipartParser limits must not be zero");
  }
  return std::unique_ptr<MultipartParser>(
      new MultipartParser(std::move(boundary), std::move(callbacks), limits));
}

MultipartParser::MultipartParser(std::string boundary, Callbacks callbacks,
                                 Limits limits)
    : delimiter_("\r\n--" + boundary),
      max_line_(delimiter_.size() + kMaxTransportPadding + 2),
      callbacks_(std::move(callbacks)),
      limits_(limits),
      held_("\r\n") {}

Status MultipartParser::Feed(ByteView chunk) {
  if (!error_.ok()) return error_;
  if (state_ == State::kFinished) {
    return FailedPreconditionError("MultipartParser::Feed after Finish");
  }
  while (!chunk.empty() && state_ != State::kEpilogue) {
    Result<size_t> used =
        state_ == State::kHeaders ? ScanHeaders(chunk) : ScanBody(chunk);
    if (!used.ok()) {
      error_ = used.status();
      return error_;
    }
    chunk = chunk.subspan(*used);
  }
  return Status::Ok();
}

Status MultipartParser::Finish() {
  if (!error_.ok()) return error_;
  switch (state_) {
    case State::kEpilogue:
    case State::kFinished:
      state_ = State::kFinished;
      return Status::Ok();
    case State::kPreamble:
      error_ = InvalidArgumentError("multipart body has no boundary line");
      break;
    case State::kHeaders:
      error_ =
          InvalidArgumentError("multipart body ends inside a part's headers");
      break;
    case State::kData:
      error_ = InvalidArgumentError(
          "multipart body ends before its closing boundary");
      break;
  }
  return error_;
}

MultipartParser::LineMatch MultipartParser::MatchLine(
    std::string_view s) const {
  const size_t d = delimiter_.size();
  const size_t n = std::min(s.size(), d);
  if (s.substr(0, n) != std::string_view(delimiter_).substr(0, n)) {
    return {LineKind::kNone, 0};
  }
  if (s.size() == n) return {LineKind::kPrefix, 0};
  size_t i = d;
  if (s[i] == '-') {
    if (s.size() == i + 1) return {LineKind::kPrefix, 0};
    if (s[i + 1] == '-') return {LineKind::kClose, i + 2};
    return {LineKind::kNone, 0};
  }
  for (; i < s.size() && IsOws(s[i]); ++i) {
    if (i - d == kMaxTransportPadding) return {LineKind::kNone, 0};
  }
  if (i == s.size()) return {LineKind::kPrefix, 0};
  if (s[i] != '\r') return {LineKind::kNone, 0};
  if (i + 1 == s.size()) return {LineKind::kPrefix, 0};
  if (s[i + 1] != '\n') return {LineKind::kNone, 0};
  return {LineKind::kPart, i + 2};
}

Result<size_t> MultipartParser::ScanBody(ByteView chunk) {
  // First settle a boundary-line prefix held from earlier chunks: a line
  // fits in max_line_ bytes, so held_ plus that much of the chunk decides.
  if (!held_.empty()) {
    const size_t held = held_.size();
    const size_t take = std::min(chunk.size(), max_line_);
    std::string s = held_;
    s.append(AsString(chunk.first(take)));
    const LineMatch m = MatchLine(s);
    if (m.kind == LineKind::kPrefix) {  // Then take == chunk.size().
      held_ = std::move(s);
      return take;
    }
    if (m.kind != LineKind::kNone) {
      held_.clear();
      RETURN_IF_ERROR(OnBoundaryLine(m.kind));
      return m.length - held;
    }
    // Not a boundary line, and no byte of held_ starts one: CR is only the
    // first byte of a boundary line or the last before its LF, and the byte
    // after held_, which ended the match, is not that LF.
    RETURN_IF_ERROR(Deliver(AsBytes(held_)));
    held_.clear();
  }

  // Then scan the chunk in place: only a CR can start a boundary line.
  const auto* base = chunk.data();
  size_t run = 0;  // Start of the data not yet delivered.
  size_t pos = 0;  // Where to look for the next CR.
  while (true) {
    const void* cr = pos < chunk.size()
                         ? std::memchr(base + pos, '\r', chunk.size() - pos)
                         : nullptr;
    if (cr == nullptr) {
      RETURN_IF_ERROR(Deliver(chunk.subspan(run)));
      return chunk.size();
    }
    const size_t p = static_cast<const uint8_t*>(cr) - base;
    const LineMatch m = MatchLine(AsString(chunk.subspan(p)));
    if (m.kind == LineKind::kNone) {
      pos = p + 1;
      continue;
    }
    RETURN_IF_ERROR(Deliver(chunk.subspan(run, p - run)));
    if (m.kind == LineKind::kPrefix) {
      held_.assign(AsString(chunk.subspan(p)));
      return chunk.size();
    }
    RETURN_IF_ERROR(OnBoundaryLine(m.kind));
    return p + m.length;
  }
}

Result<size_t> MultipartParser::ScanHeaders(ByteView chunk) {
  // header_block_ is CRLF + the block, so "CRLF CRLF" ends it even when the
  // block has no lines; it holds at most max_header_bytes + 2 bytes.
  const size_t old = header_block_.size();
  const size_t take =
      std::min(chunk.size(), limits_.max_header_bytes + 2 - old);
  header_block_.append(AsString(chunk.first(take)));
  const size_t end = header_block_.find("\r\n\r\n", old < 3 ? 0 : old - 3);
  if (end == std::string::npos) {
    if (header_block_.size() == limits_.max_header_bytes + 2) {
      return InvalidArgumentError("multipart part headers exceed " +
                                  std::to_string(limits_.max_header_bytes) +
                                  " bytes");
    }
    return take;
  }
  const std::string block = std::move(header_block_);
  header_block_.clear();
  RETURN_IF_ERROR(BeginPart(std::string_view(block).substr(2, end)));
  return end + 4 - old;
}

Status MultipartParser::Deliver(ByteView data) {
  if (state_ != State::kData || data.empty()) return Status::Ok();
  return callbacks_.on_part_data(data);
}

Status MultipartParser::OnBoundaryLine(LineKind kind) {
  if (state_ == State::kData) RETURN_IF_ERROR(callbacks_.on_part_end());
  if (kind == LineKind::kClose) {
    state_ = State::kEpilogue;
    return Status::Ok();
  }
  if (parts_ == limits_.max_parts) {
    return InvalidArgumentError("multipart body has more than " +
                                std::to_string(limits_.max_parts) + " parts");
  }
  ++parts_;
  header_block_ = "\r\n";
  state_ = State::kHeaders;
  return Status::Ok();
}

Status MultipartParser::BeginPart(std::string_view header_lines) {
  ASSIGN_OR_RETURN(MultipartPartHeaders headers,
                   ParsePartHeaders(header_lines));
  RETURN_IF_ERROR(callbacks_.on_part_begin(headers));
  state_ = State::kData;
  return Status::Ok();
}

}  // namespace atrest::http
