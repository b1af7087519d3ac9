#include "base/json.h"

namespace atrest {
namespace {

using nlohmann::json;

Status Refused(std::string message) {
  return InvalidArgumentError(std::move(message));
}

// Checks depth and value count in one pass, skipping string contents
// (brackets, commas and escaped quotes inside strings do not count). Text
// that is not JSON may pass; the parser then refuses it.
Status CheckShape(std::string_view s, const JsonLimits& limits) {
  int depth = 0;
  int64_t values = 1;
  bool in_string = false;
  bool escaped = false;
  for (char c : s) {
    // A NUL byte is never JSON (strings must escape it), and nlohmann's
    // lexer takes it for the end of the input: "1\0<anything>" would parse
    // as 1.
    if (c == '\0') return Refused("not valid JSON");
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
        if (++depth > limits.max_depth) {
          return Refused("JSON nested deeper than " +
                         std::to_string(limits.max_depth) + " levels");
        }
        [[fallthrough]];
      case ',':
        if (++values > limits.max_values) {
          return Refused("JSON has more than " +
                         std::to_string(limits.max_values) + " values");
        }
        break;
      case ']':
      case '}':
        // A closing bracket with nothing open is not JSON; stopping here
        // also keeps the depth count meaningful.
        if (--depth < 0) return Refused("not valid JSON");
        break;
      default:
        break;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<json> ParseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Refused("JSON larger than " + std::to_string(limits.max_bytes) +
                   " bytes");
  }
  RETURN_IF_ERROR(CheckShape(text, limits));
  json j;
  try {
    // No exceptions: a syntax error, invalid UTF-8 in a string or a number
    // out of range gives a discarded value.
    j = json::parse(text.begin(), text.end(), nullptr,
                    /*allow_exceptions=*/false);
  } catch (const json::exception&) {
    return Refused("not valid JSON");
  }
  if (j.is_discarded()) return Refused("not valid JSON");
  return j;
}

Result<json> ParseJsonObject(std::string_view text, const JsonLimits& limits) {
  ASSIGN_OR_RETURN(json j, ParseJson(text, limits));
  if (!j.is_object()) return Refused("not a JSON object");
  return j;
}

json ParseJsonOrDiscarded(std::string_view text, const JsonLimits& limits) {
  Result<json> j = ParseJson(text, limits);
  return j.ok() ? std::move(*j) : json(json::value_t::discarded);
}

std::string DumpJson(const json& j, int indent) {
  return j.dump(indent, ' ', /*ensure_ascii=*/false,
                json::error_handler_t::replace);
}

}  // namespace atrest
