// JsonShape: what nlohmann's parser would build from a text, counted
// without building it, so that untrusted JSON can be refused before it is
// parsed (the parser recurses per nesting level and allocates per value).
#ifndef ATREST_BASE_JSON_SHAPE_H_
#define ATREST_BASE_JSON_SHAPE_H_

#include <cstdint>
#include <string_view>

namespace atrest {

enum class JsonShape { kOk, kTooDeep, kTooManyValues };

// kTooDeep when arrays and objects nest deeper than `max_depth`;
// kTooManyValues when there are more than `max_values` values (counted as
// one plus one per opening bracket or comma outside strings, an upper
// bound). Brackets and commas inside strings do not count. Text that is not
// JSON may pass; the parser then rejects it.
inline JsonShape ScanJsonShape(std::string_view s, int max_depth,
                               int64_t max_values = INT64_MAX) {
  int depth = 0;
  int64_t values = 1;
  bool in_string = false;
  bool escaped = false;
  for (char c : s) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) return JsonShape::kTooDeep;
        [[fallthrough]];
      case ',':
        if (++values > max_values) return JsonShape::kTooManyValues;
        break;
      case ']':
      case '}':
        --depth;
        break;
      default:
        break;
    }
  }
  return JsonShape::kOk;
}

}  // namespace atrest

#endif  // ATREST_BASE_JSON_SHAPE_H_
