// Router: maps (host, method, path) to a handler and the limits its route
// declares.
//
// Hosts are matched first, by one of three kinds of pattern:
//   "login.localhost"     exact host (also the bare domain "localhost"),
//   "*.vault.localhost"   one leftmost label, captured as host_label
//                         ("kv1.vault.localhost" -> "kv1"; "a.b.vault..."
//                         and "vault.localhost" do not match),
//   "*"                   any host not matched otherwise (tests, fallbacks).
// An exact host wins over a wildcard, a longer wildcard suffix over a
// shorter one. Then within the host, paths are matched segment by segment:
// literal segments compare ASCII case-insensitively (ARM clients vary the
// case of "resourceGroups"), "{name}" captures one non-empty segment,
// percent-decoded. A trailing slash is a segment of its own, so "/keys/{n}"
// and "/keys/{n}/" are different routes. Routes are tried in insertion
// order; the first whose path matches decides: method match -> found,
// otherwise 405 with the methods that would have matched.
//
// Each host pattern also has a Surface (surface.h, kGeneric unless
// SetSurface() says otherwise): the shape of the errors the server writes
// itself for requests to that host, and the request-id headers of its
// responses.
//
// Thread safety: build the router with Add() before the server starts;
// afterwards Find() may be called from any number of threads.
#ifndef ATREST_HTTP_ROUTER_H_
#define ATREST_HTTP_ROUTER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "http/request.h"
#include "http/response.h"
#include "http/surface.h"

namespace atrest::http {

// Limits a route declares; the server enforces them before the handler
// runs (431 for headers, 413 for bodies).
struct RouteLimits {
  size_t max_header_bytes = 16 * 1024;    // Request line plus header fields.
  uint64_t max_body_bytes = 1024 * 1024;  // Buffered or streamed.
  // The handler is called as soon as the request head is in, with no body;
  // it answers at once or returns Response::Consume(consumer), and the
  // server then hands the body to that consumer chunk by chunk
  // (body_consumer.h). No handler-pool thread waits for the client.
  bool streaming_body = false;
  // The handler never blocks (no disk, crypto or network), so it runs on the
  // connection's I/O thread, without the hop to the handler pool and back.
  // Only for small, bounded work (a health check, rendering in-memory
  // state); not with streaming_body. A streamed response body is still
  // produced on the handler pool.
  bool inline_handler = false;
};

// A handler: the api layer binds its Services& into the closure. Runs on a
// handler-pool thread and may block, unless its route sets inline_handler.
// Only a streaming_body route's handler may return Response::Consume();
// elsewhere that is answered 500.
using Handler = std::function<Response(Request&)>;

struct Route {
  std::string host_pattern;
  std::string method;
  std::string path_pattern;
  RouteLimits limits;
  Handler handler;
  std::vector<std::string> segments;  // path_pattern split at '/'.
  std::string metric_route;  // host_pattern + path_pattern: the metric label.
};

struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed };
  Kind kind = Kind::kNotFound;
  const Route* route = nullptr;  // Set when kFound; owned by the Router.
  std::string host_label;
  std::vector<std::pair<std::string, std::string>> params;
  std::string allow;                    // For kMethodNotAllowed: "GET, PUT".
  Surface surface = Surface::kGeneric;  // The host's, also when not found.
};

class Router {
 public:
  Router() = default;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Adds a route. InvalidArgument for a malformed host pattern (a '*' other
  // than a whole leftmost label), a path pattern not starting with '/' or
  // with a malformed {param}; AlreadyExists for a duplicate
  // (host, method, path) triple, or limits with both streaming_body and
  // inline_handler (the handler would block the I/O thread reading its body).
  Status Add(std::string_view host_pattern, std::string_view method,
             std::string_view path_pattern, RouteLimits limits,
             Handler handler);

  // Declares the surface of `host_pattern` (same syntax as in Add(), also
  // before any route of it is added). InvalidArgument for a malformed
  // pattern.
  Status SetSurface(std::string_view host_pattern, Surface surface);

  // `host` lower-case without port; `path` raw (not decoded), no query.
  // Path captures are percent-decoded but not checked for UTF-8 (the
  // server refuses those that are not, in the host's surface's shape).
  RouteMatch Find(std::string_view host, std::string_view method,
                  std::string_view path) const;

  // The 404 or 405 response, in the match's surface's error shape, for a
  // match that was not found.
  static Response NotFoundResponse(const RouteMatch& match);

  // Every route with its host's surface, hosts and routes in the order they
  // were added. For tools and tests that must cover every route (the
  // hostile-input sweep), so a route added later is included by itself.
  struct Listed {
    const Route* route;
    Surface surface;
  };
  std::vector<Listed> Routes() const;

  // The largest max_header_bytes over all routes: the parser's limit before
  // the route (and its own smaller limit) is known. 16 KiB when empty.
  size_t LargestHeaderLimit() const;

 private:
  struct HostEntry {
    std::string pattern;
    std::string suffix;  // For wildcards: ".vault.localhost"; "" for "*".
    bool wildcard = false;
    Surface surface = Surface::kGeneric;
    std::vector<std::unique_ptr<Route>> routes;
  };
  const HostEntry* FindHost(std::string_view host, std::string* label) const;
  // The entry of a host pattern, made when missing; null when malformed.
  HostEntry* EntryFor(std::string_view host_pattern, Status* status);

  std::vector<HostEntry> hosts_;
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_ROUTER_H_
