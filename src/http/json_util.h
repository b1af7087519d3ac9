// Minimal JSON string escaping for the few fixed-shape documents the http
// module writes itself (error bodies, access-log lines). Internal.
#ifndef ATREST_HTTP_JSON_UTIL_H_
#define ATREST_HTTP_JSON_UTIL_H_

#include <string>
#include <string_view>

namespace atrest::http {

// Appends `s` to `out` as a quoted JSON string; invalid UTF-8 bytes and
// control characters are escaped as \u00XX.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace atrest::http

#endif  // ATREST_HTTP_JSON_UTIL_H_
