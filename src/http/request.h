// Request: one HTTP request as a handler sees it, with no socket in sight.
//
// The server fills a Request from the wire: method, raw target, path,
// decoded query, headers, host (lower-case, no port), peer IP, and either a
// fully buffered body (small JSON) or a BodySource the handler pulls the body
// from chunk by chunk (uploads; never buffered whole). The router adds the
// matched route pattern, the wildcard host label and {param} captures; the
// auth layer fills `caller_id`, which the access log records.
//
// Handlers are pure functions (Request&, Services&) -> Response, so a unit
// test builds a Request by hand (MakeStringBodySource helps for streaming
// routes).
//
// Thread safety: a Request belongs to one handler call at a time.
#ifndef ATREST_HTTP_REQUEST_H_
#define ATREST_HTTP_REQUEST_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "http/headers.h"
#include "http/query.h"

namespace atrest::http {

// A request body read front to back, pulled by the handler.
//
// Read() blocks until at least one byte or the end of the body is available;
// call it from a handler (a handler-pool thread), never from an I/O thread.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Reads up to out.size() bytes into `out`; returns the count, 0 only at the
  // end of the body. Errors: ResourceExhausted (body exceeds the route's
  // limit), DeadlineExceeded (client too slow), InvalidArgument (malformed
  // chunked encoding), Unavailable (connection lost or server stopping).
  // After an error every later call fails too.
  virtual Result<size_t> Read(MutableByteView out) = 0;
  // Like Read, but lends the next bytes instead of copying them: a view
  // valid until the next call of Read() or Lend() on this source; empty
  // only at the end of the body. Sources that hold the body in buffers of
  // their own (the server's read-ahead) hand those out; the default copies
  // into a buffer of the source's.
  virtual Result<ByteView> Lend();

 private:
  std::vector<uint8_t> lend_buffer_;  // For the default Lend().
};

// A BodySource over an in-memory string, for handler unit tests.
std::unique_ptr<BodySource> MakeStringBodySource(std::string data);

struct Request {
  std::string method;  // "GET", "PUT", ... as sent (upper case).
  std::string target;  // Raw request target: "/keys/k?api-version=7.4".
  std::string path;    // Raw path part of target, not percent-decoded.
  QueryParams query;   // Decoded names and values, in order.
  Headers headers;
  std::string host;     // From Host: lower-case, without port.
  std::string peer_ip;  // "127.0.0.1", "::1".
  std::string body;     // The whole body, unless the route streams.
  std::unique_ptr<BodySource> body_stream;  // Set only for streaming routes.

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
