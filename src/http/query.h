// Parsing of request targets: percent-decoding, query strings and the Host
// header. Pure functions; safe to call from any thread.
#ifndef ATREST_HTTP_QUERY_H_
#define ATREST_HTTP_QUERY_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace atrest::http {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Decodes %XX escapes. With `plus_is_space` (query strings, form encoding)
// '+' becomes ' '; in paths '+' stays '+'. InvalidArgument on a '%' not
// followed by two hex digits.
Result<std::string> PercentDecode(std::string_view in, bool plus_is_space);

// Splits "a=1&b=x%20y&flag" into decoded (name, value) pairs, in order:
// names AND values are decoded ("api%2Dversion" -> "api-version"), '+' is a
// space, a field without '=' has an empty value, empty fields ("a&&b") are
// skipped. InvalidArgument on a malformed escape.
Result<QueryParams> ParseQuery(std::string_view query);

// Splits a request target "/p/a?q" into path "/p/a" and query "q" (no '?').
void SplitTarget(std::string_view target, std::string_view* path,
                 std::string_view* query);

// The host of a Host header value, lower-cased, without port:
// "Login.Localhost:8443" -> "login.localhost", "[::1]:443" -> "::1".
// InvalidArgument when empty or when it has characters a host cannot have.
Result<std::string> HostWithoutPort(std::string_view host_header);

}  // namespace atrest::http

#endif  // ATREST_HTTP_QUERY_H_
