// The one way atrest reads and writes JSON text (DESIGN.md §7: "Every JSON
// body is parsed through one entry point with depth and size limits").
//
// ParseJson is for every text that atrest did not just build itself: request
// bodies of every surface, bearer tokens, answers of external key vaults,
// lines of a trainer or of a JSONL upload, rows and files atrest stored
// earlier (which may predate a limit, or have been written by another
// version). It checks the text's size, nesting depth and number of values in
// one pass over the bytes, before nlohmann builds anything, so that a hostile
// text cannot make parsing, copying or serializing the result recurse or
// allocate without bound: nlohmann's copy constructor, comparison and dump()
// recurse once per nesting level.
//
// DumpJson is for every serialization of a value for a response, a log line
// or storage. It never throws: strings holding invalid UTF-8 (an id echoed
// from a path, bytes stored before names were validated) come out with
// U+FFFD in place of each invalid byte, where nlohmann's dump() would throw
// type_error 316 and turn a listing into a 500 for good.
//
// Thread safety: pure functions.
#ifndef ATREST_BASE_JSON_H_
#define ATREST_BASE_JSON_H_

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"

namespace atrest {

// Bounds on one JSON text. A value is a scalar, an array or an object; the
// count is an upper bound (one plus one per '[', '{' or ',' outside strings),
// so "[1,2]" counts 3.
// The defaults are those of request bodies (kRequestJsonLimits).
struct JsonLimits {
  size_t max_bytes = 4 << 20;
  int max_depth = 64;  // Arrays and objects nested in one another.
  int64_t max_values = 100'000;
};

// Request bodies of every surface (ARM, Key Vault, Azure OpenAI) and answers
// of external key vaults. The deepest body a real client sends is an ARM
// vault PUT (properties.accessPolicies[].permissions.keys[], 6 levels); a
// chat example with tools and JSON schemas stays well under 64.
inline constexpr JsonLimits kRequestJsonLimits{};

// JSON that atrest wrote itself earlier (store rows, sealed metadata, CLI
// profiles, the server's answers to the CLI). Built from bounded requests
// plus atrest's own wrapping, so a little deeper and larger than a request;
// anything beyond is corrupt.
inline constexpr JsonLimits kStoredJsonLimits{
    .max_bytes = 64 << 20, .max_depth = 128, .max_values = 2'000'000};

// The header and claims of a bearer token, parsed before its signature is
// checked.
inline constexpr JsonLimits kTokenJsonLimits{
    .max_bytes = 64 << 10, .max_depth = 16, .max_values = 4096};

// The parsed value of `text`. Errors, all kInvalidArgument with no reason
// (each surface gives its own wire code) and a message that names the limit
// and never quotes the text:
//   "JSON larger than N bytes", "JSON nested deeper than N levels",
//   "JSON has more than N values", "not valid JSON" (syntax, invalid UTF-8
//   inside a string, a number beyond a double, trailing bytes, a NUL byte).
// Strings of a parsed value are always valid UTF-8.
Result<nlohmann::json> ParseJson(std::string_view text,
                                 const JsonLimits& limits);

// ParseJson, and the value must be an object: else kInvalidArgument
// "not a JSON object".
Result<nlohmann::json> ParseJsonObject(std::string_view text,
                                       const JsonLimits& limits);

// ParseJson for callers that treat every failure alike (an answer that is
// not what was expected, a damaged row): the value, or on any error a
// discarded value (is_discarded(); neither object, array nor string).
nlohmann::json ParseJsonOrDiscarded(std::string_view text,
                                    const JsonLimits& limits);

// `j` as JSON text: compact (indent < 0) or indented by `indent` spaces.
// Invalid UTF-8 in strings is replaced by U+FFFD; never throws on content.
// `j` must be of bounded depth: parsed by ParseJson, or built by code.
std::string DumpJson(const nlohmann::json& j, int indent = -1);

}  // namespace atrest

#endif  // ATREST_BASE_JSON_H_
