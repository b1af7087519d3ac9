// Fuzzes the one JSON entry point (base/json.h), which every surface, the
// trainer protocol, the JSONL validator and the readers of stored rows go
// through, and DumpJson, which every response and row is written with. The
// first byte picks the limits (small ones reach every bound); the rest is
// the text.
//
// Invariants, each checked with abort():
//  - ParseJson returns a value or InvalidArgument with one of its four
//    messages, never crashes, throws or recurses without bound (the value is
//    copied and compared, which recurse per level);
//  - it agrees with nlohmann's own validator (json::accept, which builds
//    nothing): text nlohmann refuses is refused as "not valid JSON", text it
//    accepts is refused only for a limit; text holding a NUL byte (which
//    nlohmann reads as the end of the input) is always refused;
//  - an accepted value serializes with DumpJson and parses back equal;
//  - DumpJson never throws, whatever bytes a string holds, and writes valid
//    UTF-8 that parses back.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/utf8.h"
#include "fuzz_check.h"

namespace atrest {
namespace {

using nlohmann::json;

bool IsLimitMessage(const std::string& m) {
  return m.starts_with("JSON larger than ") ||
         m.starts_with("JSON nested deeper than ") ||
         m.starts_with("JSON has more than ");
}

int Run(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t pick = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1,
                              size - 1);
  const JsonLimits limits =
      pick & 1 ? kRequestJsonLimits
               : JsonLimits{.max_bytes = 64 + size_t{pick} * 16,
                            .max_depth = 1 + (pick >> 1) % 8,
                            .max_values = 1 + (pick >> 4) * 4};

  Result<json> parsed = ParseJson(text, limits);
  // nlohmann's lexer takes a NUL for the end of the input; ParseJson
  // refuses every NUL.
  const bool has_nul = text.find('\0') != std::string_view::npos;
  const bool accepted_by_nlohmann = !has_nul && json::accept(text);
  if (!parsed.ok()) {
    const Status& s = parsed.status();
    FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument);
    FUZZ_CHECK(s.reason().empty());
    if (accepted_by_nlohmann) {
      FUZZ_CHECK(IsLimitMessage(s.message()));
    } else {
      FUZZ_CHECK(s.message() == "not valid JSON" ||
                 IsLimitMessage(s.message()));
    }
  } else {
    FUZZ_CHECK(accepted_by_nlohmann);
    const json copy = *parsed;  // Recurses per level: bounded by the limit.
    FUZZ_CHECK(copy == *parsed);
    const std::string out = DumpJson(*parsed);
    FUZZ_CHECK(IsValidUtf8(out));
    Result<json> again = ParseJson(out, {.max_bytes = out.size(),
                                         .max_depth = limits.max_depth,
                                         .max_values = limits.max_values});
    FUZZ_CHECK(again.ok() && *again == *parsed);
    Result<json> object = ParseJsonObject(text, limits);
    FUZZ_CHECK(object.ok() == parsed->is_object());
  }
  FUZZ_CHECK(ParseJsonOrDiscarded(text, limits).is_discarded() != parsed.ok());

  // Any bytes as a string value, as an id from a path or an old row would
  // be: never a throw, always valid JSON text.
  const json holder = {{"name", std::string(text)}};
  const std::string out = DumpJson(holder, pick % 3 == 0 ? 2 : -1);
  FUZZ_CHECK(IsValidUtf8(out));
  Result<json> back = ParseJson(out, kStoredJsonLimits);
  FUZZ_CHECK(back.ok() && back->is_object() && (*back)["name"].is_string());
  if (IsValidUtf8(text)) FUZZ_CHECK((*back)["name"] == std::string(text));
  return 0;
}

}  // namespace
}  // namespace atrest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return atrest::Run(data, size);
}
