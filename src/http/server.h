// Server: the one HTTPS port of atrest (DESIGN.md §1).
//
// Accepts TLS 1.2+ connections, reads HTTP/1.1 requests with keep-alive,
// routes them by Host, method and path (router.h), enforces each route's
// limits and ServerOptions' timeouts, runs the handler on a handler pool and
// writes its response, streaming bodies in both directions with bounded
// memory. Malformed requests get 400 and cost only their connection; the
// server's own refusals come in the host's surface's error shape, and every
// response carries a fresh request id in the surface's request-id headers
// (surface.h). Every request is recorded in the access log and metrics
// when given, and every 5xx response and aborted streamed response in the
// event log (event_log.h):
//   atrest_http_requests_total{route,status}
//   atrest_http_request_duration_seconds{route}   (histogram)
//   atrest_tls_handshakes_total, atrest_tls_handshake_failures_total
//   atrest_http_connections_rejected_total        (over max_connections)
// where route is "<host pattern><path pattern>" or "unmatched".
//
// Threads: each of the io_threads runs its own io_context; accepted
// connections are dealt out to them round robin and stay there, so all of a
// connection's I/O runs on one thread, one handler at a time, with no
// strand. (A shared context with a strand per connection, Beast's
// advanced_server_flex model, balances load better when a few connections
// are much busier than the rest, but its locking, cross-thread wake-ups and
// per-operation executor allocations cost about a fifth of the CPU of a
// small request.) Handlers, body consumers and body producers run on a
// separate handler pool because they block (disk, crypto, vault calls); the
// I/O threads never wait on them, and they never wait for a client: a
// streamed body is read on the I/O thread and handed over chunk by chunk
// (body_consumer.h), with a minimum rate (ServerOptions::min_body_rate).
// The exception is a route with RouteLimits::inline_handler, whose handler
// never blocks: it is called directly on the connection's I/O thread,
// saving two thread hops.
//
// Thread safety: Start() and Stop() from one controlling thread; port()
// and active_connections() from any thread.
#ifndef ATREST_HTTP_SERVER_H_
#define ATREST_HTTP_SERVER_H_

#include <chrono>
#include <cstdint>
#include <memory>

#include "base/status.h"
#include "env/env.h"
#include "http/access_log.h"
#include "http/event_log.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server_options.h"
#include "http/tls_material.h"

namespace atrest::http {

struct ServerCore;

class Server {
 public:
  // Borrowed, must outlive the Server: `router` (complete; not changed
  // afterwards), `env` (its clock for timestamps and latency, its randomness
  // for request ids), `access_log`, `metrics` and `event_log` (any may be
  // null). Loads the TLS files (TLS 1.2 minimum). InvalidArgument for bad
  // options or unusable TLS files; AlreadyExists when `metrics` already
  // holds this server's metric names.
  static Result<std::unique_ptr<Server>> Create(
      ServerOptions options, const Router& router, const TlsFiles& tls,
      env::Env& env, AccessLog* access_log, MetricsRegistry* metrics,
      EventLog* event_log = nullptr);

  ~Server();  // Stop(0) when still running.
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the threads. Unavailable when the address
  // cannot be bound; FailedPrecondition when already started.
  Status Start();

  // The bound port (useful with options.port == 0); 0 before Start().
  uint16_t port() const { return port_; }
  size_t active_connections() const;

  // Graceful shutdown: stops accepting at once (new connections are
  // refused), closes idle keep-alive connections, lets in-flight requests
  // finish and closes their connections after the response, for up to
  // `grace`. Then closes every remaining connection, waits for running
  // handlers and consumers to return (they cannot be interrupted; a body
  // cut off this way ends with Unavailable), and stops all threads.
  // Handlers still queued then (a forced stop) are destroyed, not run.
  // Idempotent.
  void Stop(std::chrono::milliseconds grace);

 private:
  explicit Server(std::shared_ptr<ServerCore> core);

  struct Runtime;
  std::shared_ptr<ServerCore> core_;
  std::unique_ptr<Runtime> runtime_;  // Set while started.
  uint16_t port_ = 0;
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_SERVER_H_
