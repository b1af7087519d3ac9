// Session: serves one accepted TCP connection. Internal to the http module.
//
// Runs as a coroutine on the connection's executor, a single-threaded
// io_context that serialises it like a strand: TLS handshake, then
// HTTP/1.1 requests with keep-alive until the client closes, a limit or
// timeout is hit, or the server stops. Every socket operation is bounded by
// a timeout from ServerOptions set just before it. Handlers and body
// producers run on the server's handler pool, never on an I/O thread; the
// session waits for them without holding a thread. Only the handler of a
// RouteLimits::inline_handler route is called directly on the I/O thread.
#ifndef ATREST_HTTP_SESSION_H_
#define ATREST_HTTP_SESSION_H_

// clang-format off
#include <utility>  // Before Asio: Boost 1.74's awaitable.hpp needs it.
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>

#include "http/server_core.h"

namespace atrest::http {

// Serves `socket` (whose executor is one I/O thread's io_context) until the
// connection ends, then unregisters `id` from `core`. `control` is the
// registered entry.
asio::awaitable<void> RunSession(std::shared_ptr<ServerCore> core,
                                 asio::ip::tcp::socket socket,
                                 std::shared_ptr<ConnectionControl> control,
                                 uint64_t id);

}  // namespace atrest::http

#endif  // ATREST_HTTP_SESSION_H_
