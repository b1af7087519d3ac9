// Request: one HTTP request as a handler sees it, with no socket in sight.
//
// The server fills a Request from the wire: method, raw target, path,
// decoded query, headers, host (lower-case, no port) and port as sent, peer
// IP, the request id that the response and the server's logs carry, and,
// unless the route streams its body (body_consumer.h), the whole body. The
// router adds the matched route pattern, the wildcard host label and
// {param} captures; the auth layer fills `caller_id`, which the access log
// records. The query, path captures and (for a form) the body have been
// checked to be UTF-8 text before any handler runs.
//
// Handlers are pure functions (Request&, Services&) -> Response, so a unit
// test builds a Request by hand.
//
// Thread safety: a Request belongs to one handler call at a time.
#ifndef ATREST_HTTP_REQUEST_H_
#define ATREST_HTTP_REQUEST_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "http/headers.h"
#include "http/query.h"

namespace atrest::http {

struct Request {
  std::string method;  // "GET", "PUT", ... as sent (upper case).
  std::string target;  // Raw request target: "/keys/k?api-version=7.4".
  std::string path;    // Raw path part of target, not percent-decoded.
  QueryParams query;   // Decoded names and values, in order.
  Headers headers;
  std::string host;       // From Host: lower-case, without port.
  std::string host_port;  // From Host: the port's digits, "" when none.
  std::string peer_ip;    // "127.0.0.1", "::1".
  // Unique per request (a UUID); sent back in the surface's request-id
  // headers (surface.h) and written in the server's logs.
  std::string request_id;
  std::string body;  // The whole body, unless the route streams.

  // Set by the router.
  std::string route_pattern;  // "/keys/{name}/{version}".
  std::string host_label;     // "myvault" for "*.vault.<domain>" routes.
  std::vector<std::pair<std::string, std::string>> path_params;  // Decoded.

  // Set by the auth layer: who is calling (object id, "anonymous", ...).
  std::string caller_id;

  // The first query value named `name` (names compare case-insensitively, as
  // Azure's do), or nullopt.
  std::optional<std::string_view> Query(std::string_view name) const;
  // The {name} capture of the matched route; empty when there is none.
  std::string_view PathParam(std::string_view name) const;
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_REQUEST_H_
