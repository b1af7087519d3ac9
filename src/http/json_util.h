// Minimal JSON string escaping for the few fixed-shape documents the http
// module writes itself (error bodies, access- and event-log lines).
// Internal.
#ifndef ATREST_HTTP_JSON_UTIL_H_
#define ATREST_HTTP_JSON_UTIL_H_

#include <string>
#include <string_view>

#include "env/env.h"

namespace atrest::http {

// Appends `s` to `out` as a quoted JSON string; invalid UTF-8 bytes and
// control characters are escaped as \u00XX.
void AppendJsonString(std::string& out, std::string_view s);

// Appends `,"name":"value"` (`value` escaped as AppendJsonString does) and
// `,"name":number`: the fields after the first of a log line's object.
void AppendJsonField(std::string& out, std::string_view name,
                     std::string_view value);
void AppendJsonNumber(std::string& out, std::string_view name, long long value);

// "2024-05-01T12:00:00.000123Z": RFC 3339, UTC, microseconds.
std::string FormatRfc3339Micros(env::WallTime t);

}  // namespace atrest::http

#endif  // ATREST_HTTP_JSON_UTIL_H_
