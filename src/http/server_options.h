// ServerOptions: the knobs of the HTTPS server, all with safe defaults.
#ifndef ATREST_HTTP_SERVER_OPTIONS_H_
#define ATREST_HTTP_SERVER_OPTIONS_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace atrest::http {

struct ServerOptions {
  std::string address = "0.0.0.0";  // IPv4 or IPv6 literal.
  uint16_t port = 443;              // 0 picks a free port (tests).

  // Threads running the io_context (sockets, TLS, parsing).
  int io_threads = 2;
  // Threads running handlers, body consumers and body producers, which may
  // block on disk, crypto or other services. A streamed body (either way)
  // holds one only while a chunk is consumed or produced, never while the
  // server waits for the client.
  int handler_threads = 32;

  // Connections beyond this are closed right after accept, before the TLS
  // handshake, so an overload costs almost nothing.
  size_t max_connections = 4096;

  // Each bound covers one whole phase, so a client trickling bytes cannot
  // extend it: the TLS handshake; the request line plus headers; a buffered
  // body, or each wait for the next bytes of a streamed body (which the
  // minimum body rate below bounds further); writing the response head or
  // each chunk of its body; waiting for the next request on a kept-alive
  // connection (also used for the first request after the handshake).
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds header_timeout{30'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds write_timeout{60'000};
  std::chrono::milliseconds idle_timeout{75'000};

  // The slowest a streamed request body may arrive (body_rate.h): each
  // successive min_body_rate * min_body_rate_window bytes must come within
  // min_body_rate_window of waiting for the client, or the connection is
  // closed (the route's consumer sees DeadlineExceeded). Time the server
  // spends not reading, because the consumer is busy, does not count. The
  // defaults cut off a client trickling 1 KiB every 2 s after 20 s and
  // never touch a link of a few hundred KiB/s. 0 disables the rule.
  uint64_t min_body_rate = 4 * 1024;  // Bytes per second.
  std::chrono::milliseconds min_body_rate_window{20'000};
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_SERVER_OPTIONS_H_
