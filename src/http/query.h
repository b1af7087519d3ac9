// Parsing of request heads: percent-decoding, query strings and forms, the
// Host header and Transfer-Encoding. These are the server's admission rules
// for what a client sends before any handler runs (session.cc Admit);
// request_head_fuzzer (fuzz/) holds them to their contracts.
//
// Pure functions with no Boost in sight (the fuzzer links only this and
// atrest_base); safe to call from any thread.
#ifndef ATREST_HTTP_QUERY_H_
#define ATREST_HTTP_QUERY_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/utf8.h"

namespace atrest::http {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Text checks use atrest::IsValidUtf8 (base/utf8.h).
using ::atrest::IsValidUtf8;

// Decodes %XX escapes. With `plus_is_space` (query strings, form encoding)
// '+' becomes ' '; in paths '+' stays '+'. InvalidArgument on a '%' not
// followed by two hex digits. The result may be any bytes: callers that
// need text check IsValidUtf8().
Result<std::string> PercentDecode(std::string_view in, bool plus_is_space);

// Splits "a=1&b=x%20y&flag" into decoded (name, value) pairs, in order:
// names AND values are decoded ("api%2Dversion" -> "api-version"), '+' is a
// space, a field without '=' has an empty value, empty fields ("a&&b") are
// skipped. Also parses application/x-www-form-urlencoded bodies, which
// have the same syntax. InvalidArgument on a malformed escape, or when a
// decoded name or value is not valid UTF-8 (handlers only ever see text).
Result<QueryParams> ParseQuery(std::string_view query);

// Splits a request target "/p/a?q" into path "/p/a" and query "q" (no '?').
void SplitTarget(std::string_view target, std::string_view* path,
                 std::string_view* query);

// A Host header value (RFC 9110 §7.2: uri-host [ ":" port ]), taken apart.
struct HostPort {
  std::string host;  // Lower case, no trailing dot, IPv6 without brackets.
  std::string port;  // The port's digits as sent ("8443"); empty if none.
};

// Parses a Host header value. The host is a DNS name (labels of 1-63
// letters, digits, '-' or '_', separated by '.', 253 characters at most, an
// optional trailing dot), an IPv4 address, or an IPv6 address in brackets;
// the optional port is ':' and 1-5 digits of at most 65535:
//   "Login.Localhost:8443" -> {"login.localhost", "8443"}
//   "[::1]:443"            -> {"::1", "443"}
// InvalidArgument for anything else: empty, userinfo or '@'
// ("kv.vault.localhost:1@evil.example"), an empty or non-numeric port, a
// path, spaces, percent-escapes, empty labels, an unbracketed ':'.
Result<HostPort> ParseHostHeader(std::string_view host_header);

// Checks the Transfer-Encoding field values of a request (every field, in
// order), RFC 9112 §6.1. The only transfer coding atrest decodes is
// chunked, so together they must name exactly one coding, "chunked" (any
// case, optional blanks, empty list elements ignored). InvalidArgument
// otherwise: unknown codings ("xchunked", "identity"), codings atrest does
// not decode ("gzip, chunked"), chunked not last ("chunked, identity"),
// chunked twice, parameters ("chunked;x=1"), no coding at all. An empty
// `values` (no Transfer-Encoding field) is OK.
Status CheckTransferEncoding(const std::vector<std::string_view>& values);

}  // namespace atrest::http

#endif  // ATREST_HTTP_QUERY_H_
