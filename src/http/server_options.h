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
  // Threads running handlers and body producers, which may block on disk,
  // crypto or other services. A streaming upload holds one for its whole
  // duration; a streaming download only while a chunk is produced.
  int handler_threads = 32;

  // Connections beyond this are closed right after accept, before the TLS
  // handshake, so an overload costs almost nothing.
  size_t max_connections = 4096;

  // Each bound covers one whole phase, so a client trickling bytes cannot
  // extend it: the TLS handshake; the request line plus headers; a buffered
  // body, or each 128 KiB chunk of a streamed body; writing the response head
  // or each chunk of its body; waiting for the next request on a kept-alive
  // connection (also used for the first request after the handshake).
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds header_timeout{30'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds write_timeout{60'000};
  std::chrono::milliseconds idle_timeout{75'000};
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_SERVER_OPTIONS_H_
