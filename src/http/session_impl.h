// The Session class behind RunSession() (session.h). Internal; split over
// session.cc (connection loop, reading and admitting requests),
// session_body.cc (streamed request bodies) and session_write.cc
// (responses, access log, event log, metrics).
//
// Thread safety: every member function runs on the connection's executor
// (one I/O thread).
#ifndef ATREST_HTTP_SESSION_IMPL_H_
#define ATREST_HTTP_SESSION_IMPL_H_

// clang-format off
#include <utility>  // Before Asio: Boost 1.74's awaitable.hpp needs it.
// clang-format on
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <string>

#include "env/env.h"
#include "http/request.h"
#include "http/response.h"
#include "http/server_core.h"
#include "http/surface.h"

namespace atrest::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

class BodyBridge;
struct BodyWaker;  // session_body.cc.

// Errors of the HTTP parser itself (bad syntax), as opposed to I/O errors,
// timeouts and limits (body_limit, header_limit), handled separately.
bool IsParseError(const beast::error_code& ec);

inline std::string_view ToStd(beast::string_view s) {
  return std::string_view(s.data(), s.size());
}

// What the access log, the event log and metrics record about one request.
struct Exchange {
  env::MonoTime start;
  env::WallTime time;
  std::string request_id;
  std::string method, host, path, route;
  // The route's precomputed metric label; null for "unmatched".
  const std::string* metric_route = nullptr;
  std::string caller;
  Surface surface = Surface::kGeneric;       // Of the host, once it is known.
  const Headers* request_headers = nullptr;  // Once parsed; for id echoes.
  int status = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  Status failure;        // Behind a 5xx or an aborted response.
  bool aborted = false;  // A streamed response cut off by its producer.
};

class Session {
 public:
  Session(std::shared_ptr<ServerCore> core, asio::ip::tcp::socket socket,
          std::shared_ptr<ConnectionControl> control, uint64_t id);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  asio::awaitable<void> Run();

 private:
  using Stream = beast::ssl_stream<beast::tcp_stream>;
  using HeaderParser = bhttp::request_parser<bhttp::empty_body>;
  using StreamParser = bhttp::request_parser<bhttp::buffer_body>;
  // How a streamed request body ended, when not normally.
  enum class BodyError { kNone, kTooLarge, kMalformed, kIo };

  // Discards client input for a bounded time before a close.
  asio::awaitable<void> Drain();
  // Reads and answers one request; true when the connection may be reused.
  asio::awaitable<bool> ServeOne();
  asio::awaitable<Response> RunHandler(const Route& route,
                                       const std::shared_ptr<Request>& req);
  // A streaming_body route (session_body.cc): runs its handler on the
  // head, then, if it returned a consumer, hands the body to it and sends
  // what its Finish() returns.
  asio::awaitable<bool> ServeStreaming(const Route& route,
                                       const std::shared_ptr<Request>& req,
                                       HeaderParser& hp, Exchange& ex,
                                       bool keep_alive);
  // Reads the body on this thread into `bridge`, which hands it to the
  // consumer on the pool, until it ends, fails or the consumer fails;
  // waits until the consumer is idle. Returns how the body ended for the
  // consumer (OK, its own error or the server's) and sets body_error_ for
  // the server's own errors.
  asio::awaitable<Status> PumpBody(const std::shared_ptr<BodyBridge>& bridge,
                                   const std::shared_ptr<BodyWaker>& waker,
                                   StreamParser& parser);
  // Fills `req` and `ex` from the parsed head and routes it. Returns true
  // with `reject` set (and whether the connection may be kept) when the
  // request is answered without running a handler; else sets `route`.
  bool Admit(const HeaderParser& hp, size_t header_bytes, Request& req,
             Exchange& ex, const Route** route, Response* reject,
             bool* keep_alive);
  // The server's own error response, in the request's surface's shape.
  Response Refusal(const Exchange& ex, int status, std::string_view code,
                   std::string_view message) const;

  // session_write.cc: sends `res`, records it; true when the connection may
  // be reused (`keep_alive` and the write succeeded).
  // Consumes `res` (its body is moved out).
  asio::awaitable<bool> Respond(Exchange& ex, Response& res, bool keep_alive);
  asio::awaitable<bool> WriteStreamed(Exchange& ex, Response& res,
                                      bool keep_alive);
  asio::awaitable<bool> WriteString(Exchange& ex, Response& res,
                                    bool keep_alive);
  // Records a request in the access log and metrics (status 499 when it
  // ended without a response), and 5xx and aborted responses in the event
  // log.
  void Record(Exchange& ex);
  void SetExpiry(std::chrono::milliseconds timeout);

  const std::shared_ptr<ServerCore> core_;
  const std::shared_ptr<ConnectionControl> control_;
  const uint64_t id_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::string peer_;
  std::string out_;  // WriteString()'s head and body, reused.
  BodyError body_error_ = BodyError::kNone;
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_SESSION_IMPL_H_
