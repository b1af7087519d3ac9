// Fuzzes the request-head admission rules of http/query.h: the Host header,
// Transfer-Encoding, query strings and forms, percent-decoding and UTF-8.
//
// Input: one control byte, then the text. The control byte's low two bits
// pick the function under test (Host, Transfer-Encoding, query, UTF-8); for
// Transfer-Encoding the text is split at '\n' into field values.
//
// Invariants, each checked with abort():
//  - ParseHostHeader: a parsed host is non-empty, lower case, made only of
//    letters, digits, '-', '_', '.' (and ':' for an IPv6 address, which
//    then holds at least one ':'), never '@'; a port is 1-5 digits of at
//    most 65535, and is present only when the input has a ':' after the
//    host; writing host and port back out ("[v6]:port") parses to the
//    same; the input itself never holds '@', '/', '?', '#', '%' or a blank
//    when it parses;
//  - CheckTransferEncoding: OK exactly when the values, with blanks and
//    commas removed and lower-cased, spell "chunked" once (checked by a
//    tokenizer of the fuzzer's own);
//  - ParseQuery: every decoded name and value is valid UTF-8; the pairs,
//    percent-encoded again, parse back to the same pairs; without '%' and
//    '+' in the query every name and value is a piece of it;
//  - IsValidUtf8 agrees with a decoder written from the Unicode standard's
//    table of well-formed byte sequences (Table 3-7); PercentDecode never
//    makes its input longer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "fuzz_check.h"
#include "http/query.h"

namespace atrest::http {
namespace {

// Unicode 15, Table 3-7: the well-formed UTF-8 byte sequences.
bool ReferenceUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  const size_t n = s.size();
  auto in = [&](size_t k, unsigned lo, unsigned hi) {
    return i + k < n && p[i + k] >= lo && p[i + k] <= hi;
  };
  while (i < n) {
    const unsigned b = p[i];
    if (b <= 0x7f) {
      i += 1;
    } else if (b >= 0xc2 && b <= 0xdf && in(1, 0x80, 0xbf)) {
      i += 2;
    } else if (b == 0xe0 && in(1, 0xa0, 0xbf) && in(2, 0x80, 0xbf)) {
      i += 3;
    } else if (((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef) &&
               in(1, 0x80, 0xbf) && in(2, 0x80, 0xbf)) {
      i += 3;
    } else if (b == 0xed && in(1, 0x80, 0x9f) && in(2, 0x80, 0xbf)) {
      i += 3;
    } else if (b == 0xf0 && in(1, 0x90, 0xbf) && in(2, 0x80, 0xbf) &&
               in(3, 0x80, 0xbf)) {
      i += 4;
    } else if (b >= 0xf1 && b <= 0xf3 && in(1, 0x80, 0xbf) &&
               in(2, 0x80, 0xbf) && in(3, 0x80, 0xbf)) {
      i += 4;
    } else if (b == 0xf4 && in(1, 0x80, 0x8f) && in(2, 0x80, 0xbf) &&
               in(3, 0x80, 0xbf)) {
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

std::string EncodeComponent(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                       c == '_' || c == '~';
    if (plain) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

void CheckHost(std::string_view text) {
  Result<HostPort> hp = ParseHostHeader(text);
  if (!hp.ok()) {
    FUZZ_CHECK(hp.status().code() == StatusCode::kInvalidArgument);
    return;
  }
  const std::string& host = hp->host;
  FUZZ_CHECK(!host.empty());
  size_t colons = 0;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':';
    FUZZ_CHECK(ok);
    colons += c == ':';
  }
  const bool v6 = colons > 0;
  FUZZ_CHECK(!v6 || text.front() == '[');
  for (char c : text) {
    FUZZ_CHECK(c != '@' && c != '/' && c != '?' && c != '#' && c != '%' &&
               c != ' ' && c != '\t');
  }
  FUZZ_CHECK(hp->port.size() <= 5);
  uint32_t port = 0;
  for (char c : hp->port) {
    FUZZ_CHECK(c >= '0' && c <= '9');
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  FUZZ_CHECK(port <= 65535);
  const size_t last_colon = text.rfind(':');
  const bool text_has_port = last_colon != std::string_view::npos &&
                             (!v6 || last_colon > text.find(']'));
  FUZZ_CHECK(hp->port.empty() != text_has_port);
  const std::string again =
      (v6 ? "[" + host + "]" : host) + (hp->port.empty() ? "" : ":" + hp->port);
  Result<HostPort> back = ParseHostHeader(again);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back->host == host && back->port == hp->port);
}

void CheckTransferEncodingOf(std::string_view text) {
  std::vector<std::string_view> values;
  for (size_t start = 0;;) {
    const size_t nl = text.find('\n', start);
    values.push_back(text.substr(start, nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  // The fuzzer's own reading: tokens between commas, blanks trimmed.
  std::vector<std::string> tokens;
  for (std::string_view v : values) {
    std::string token;
    bool inner_blank = false, after_blank = false;
    auto flush = [&] {
      if (!token.empty()) tokens.push_back(token);
      if (inner_blank) tokens.push_back("<blank inside>");
      token.clear();
      inner_blank = after_blank = false;
    };
    for (char c : v) {
      if (c == ',') {
        flush();
      } else if (c == ' ' || c == '\t') {
        after_blank = !token.empty();
      } else {
        if (after_blank) inner_blank = true;
        token.push_back(Lower(c));
      }
    }
    flush();
  }
  const bool expect_ok = tokens.size() == 1 && tokens[0] == "chunked";
  Status s = CheckTransferEncoding(values);
  FUZZ_CHECK(s.ok() == expect_ok);
  FUZZ_CHECK(s.ok() || s.code() == StatusCode::kInvalidArgument);
  FUZZ_CHECK(CheckTransferEncoding({}).ok());
}

void CheckQuery(std::string_view text) {
  for (bool plus : {false, true}) {
    Result<std::string> d = PercentDecode(text, plus);
    if (d.ok()) FUZZ_CHECK(d->size() <= text.size());
  }
  Result<QueryParams> q = ParseQuery(text);
  if (!q.ok()) {
    FUZZ_CHECK(q.status().code() == StatusCode::kInvalidArgument);
    return;
  }
  std::string again;
  for (const auto& [name, value] : *q) {
    FUZZ_CHECK(IsValidUtf8(name) && IsValidUtf8(value));
    if (!again.empty()) again += '&';
    again += EncodeComponent(name) + "=" + EncodeComponent(value);
  }
  Result<QueryParams> back = ParseQuery(again);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(*back == *q);
  if (text.find_first_of("%+") == std::string_view::npos) {
    for (const auto& [name, value] : *q) {
      FUZZ_CHECK(text.find(name) != std::string_view::npos);
      FUZZ_CHECK(text.find(value) != std::string_view::npos);
    }
  }
}

}  // namespace
}  // namespace atrest::http

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1,
                              size - 1);
  switch (data[0] & 3) {
    case 0:
      atrest::http::CheckHost(text);
      break;
    case 1:
      atrest::http::CheckTransferEncodingOf(text);
      break;
    case 2:
      atrest::http::CheckQuery(text);
      break;
    case 3:
      FUZZ_CHECK(atrest::http::IsValidUtf8(text) ==
                 atrest::http::ReferenceUtf8(text));
      break;
  }
  return 0;
}
