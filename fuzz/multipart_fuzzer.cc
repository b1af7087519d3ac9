// Fuzzes the multipart/form-data parser and MultipartBoundary of
// http/multipart.h.
//
// Input: one control byte, then the body. The control byte picks one of
// three boundaries, the chunk sizes and which callback fails (if any).
//
// Invariants, each checked with abort():
//  - Feed() and Finish() return OK or InvalidArgument, never crash;
//  - the body fed whole, in chunks of sizes drawn from the control byte, and
//    one byte at a time gives the same callbacks (data compared as the
//    concatenation per part) and the same statuses;
//  - callbacks come as begin, data..., end per part, data never empty, and
//    never more data than was fed;
//  - an error is permanent: later Feed() and Finish() return it;
//  - a callback's error is returned unchanged, and no callback follows it;
//  - when the body parses, its parts written out again canonically with the
//    same boundary parse to the same parts;
//  - MultipartBoundary of the body as text is OK only for a boundary that
//    Create() accepts and that reads back the same from a quoted parameter.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "fuzz_check.h"
#include "http/multipart.h"

namespace atrest::http {
namespace {

constexpr std::string_view kBoundaries[] = {"b", "AaB03x",
                                            "----formdata-undici-032044524580"};
constexpr MultipartLimits kLimits = {.max_header_bytes = 512, .max_parts = 8};

struct Part {
  MultipartPartHeaders headers;
  std::string data;
  bool ended = false;
};

struct Outcome {
  std::vector<Part> parts;
  Status status;  // The first failed Feed(), else Finish().
  size_t callbacks = 0;
};

bool SameHeaders(const MultipartPartHeaders& a, const MultipartPartHeaders& b) {
  return a.name == b.name && a.filename == b.filename &&
         a.content_type == b.content_type;
}

bool SameParts(const std::vector<Part>& a, const std::vector<Part>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!SameHeaders(a[i].headers, b[i].headers) || a[i].data != b[i].data ||
        a[i].ended != b[i].ended) {
      return false;
    }
  }
  return true;
}

// Chunk sizes: mostly small, sometimes large, from a xorshift generator.
class Chunker {
 public:
  explicit Chunker(uint32_t seed) : state_(seed * 2654435761u + 1) {}
  size_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_ % 4 == 0 ? 1 + state_ % 4096 : 1 + (state_ >> 8) % 16;
  }

 private:
  uint32_t state_;
};

// Parses `body` in chunks of `chunk` bytes (0: whole; -1: from `chunker`);
// callback number `fail_at` (counting from 0) fails with `injected`.
Outcome Parse(std::string_view boundary, std::string_view body, int chunk,
              uint32_t seed, MultipartLimits limits, size_t fail_at,
              const Status& injected) {
  Outcome out;
  size_t fed = 0;
  size_t delivered = 0;
  bool failed = false;
  auto count = [&]() -> Status {
    FUZZ_CHECK(!failed);  // No callback after one failed.
    if (out.callbacks++ == fail_at) {
      failed = true;
      return injected;
    }
    return Status::Ok();
  };
  auto parser = MultipartParser::Create(
      std::string(boundary),
      {
          .on_part_begin =
              [&](const MultipartPartHeaders& h) {
                FUZZ_CHECK(out.parts.empty() || out.parts.back().ended);
                out.parts.push_back({.headers = h});
                return count();
              },
          .on_part_data =
              [&](ByteView data) {
                FUZZ_CHECK(!data.empty());
                FUZZ_CHECK(!out.parts.empty() && !out.parts.back().ended);
                delivered += data.size();
                FUZZ_CHECK(delivered <= fed);
                out.parts.back().data.append(AsString(data));
                return count();
              },
          .on_part_end =
              [&] {
                FUZZ_CHECK(!out.parts.empty() && !out.parts.back().ended);
                out.parts.back().ended = true;
                return count();
              },
      },
      limits);
  FUZZ_CHECK(parser.ok());
  Chunker chunker(seed);
  size_t at = 0;
  while (at < body.size() && out.status.ok()) {
    size_t n = chunk == 0  ? body.size()
               : chunk > 0 ? static_cast<size_t>(chunk)
                           : chunker.Next();
    n = std::min(n, body.size() - at);
    fed += n;
    out.status = (*parser)->Feed(AsBytes(body.substr(at, n)));
    at += n;
  }
  if (out.status.ok()) {
    out.status = (*parser)->Finish();
    if (out.status.ok()) {
      FUZZ_CHECK(out.parts.empty() || out.parts.back().ended);
      FUZZ_CHECK((*parser)->Finish().ok());
      return out;
    }
  }
  // Errors are permanent.
  const size_t callbacks = out.callbacks;
  FUZZ_CHECK((*parser)->Feed(AsBytes(body)) == out.status);
  FUZZ_CHECK((*parser)->Finish() == out.status);
  FUZZ_CHECK(out.callbacks == callbacks);
  return out;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string Reencode(std::string_view boundary,
                     const std::vector<Part>& parts) {
  std::string out;
  for (const Part& p : parts) {
    out += "--" + std::string(boundary) +
           "\r\nContent-Disposition: form-data; name=" + Quote(p.headers.name);
    if (p.headers.filename) out += "; filename=" + Quote(*p.headers.filename);
    out += "\r\n";
    if (!p.headers.content_type.empty()) {
      out += "Content-Type: " + p.headers.content_type + "\r\n";
    }
    out += "\r\n" + p.data + "\r\n";
  }
  return out + "--" + std::string(boundary) + "--";
}

void CheckBoundaryParsing(std::string_view text) {
  Result<std::string> b = MultipartBoundary(text);
  if (!b.ok()) {
    FUZZ_CHECK(b.status().code() == StatusCode::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(!b->empty() && b->size() <= 70);
  MultipartCallbacks callbacks = {
      .on_part_begin = [](const MultipartPartHeaders&) { return Status(); },
      .on_part_data = [](ByteView) { return Status(); },
      .on_part_end = [] { return Status(); },
  };
  FUZZ_CHECK(MultipartParser::Create(*b, callbacks).ok());
  Result<std::string> again =
      MultipartBoundary("multipart/form-data; boundary=" + Quote(*b));
  FUZZ_CHECK(again.ok() && *again == *b);
}

int Run(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1),
                              size - 1);
  const std::string_view boundary = kBoundaries[control % 3];
  const size_t never = SIZE_MAX;

  const Outcome whole = Parse(boundary, body, 0, 0, kLimits, never, {});
  FUZZ_CHECK(whole.status.ok() ||
             whole.status.code() == StatusCode::kInvalidArgument);
  const Outcome chunked =
      Parse(boundary, body, -1, control, kLimits, never, {});
  const Outcome bytewise = Parse(boundary, body, 1, 0, kLimits, never, {});
  for (const Outcome* o : {&chunked, &bytewise}) {
    FUZZ_CHECK(o->status == whole.status);
    FUZZ_CHECK(SameParts(o->parts, whole.parts));
  }

  // A failing callback: its Status comes back unchanged.
  const Status injected(StatusCode::kCancelled, "injected");
  const size_t fail_at = control / 3 % 8;
  const Outcome failing =
      Parse(boundary, body, -1, control, kLimits, fail_at, injected);
  if (fail_at < chunked.callbacks) {
    FUZZ_CHECK(failing.status == injected);
    FUZZ_CHECK(failing.callbacks == fail_at + 1);
  } else {
    FUZZ_CHECK(failing.status == whole.status);
  }

  if (whole.status.ok()) {
    MultipartLimits roomy = kLimits;
    roomy.max_header_bytes = 1 << 20;
    const Outcome again = Parse(boundary, Reencode(boundary, whole.parts), 0, 0,
                                roomy, never, {});
    FUZZ_CHECK(again.status.ok());
    FUZZ_CHECK(SameParts(again.parts, whole.parts));
  }

  CheckBoundaryParsing(body);
  return 0;
}

}  // namespace
}  // namespace atrest::http

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return atrest::http::Run(data, size);
}
