// The Session class behind RunSession() (session.h). Internal; split over
// session.cc (connection loop, reading requests) and session_write.cc
// (responses, access log, metrics).
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
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <string>

#include "env/env.h"
#include "http/body_bridge.h"
#include "http/request.h"
#include "http/response.h"
#include "http/server_core.h"

namespace atrest::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// What the access log and metrics record about one request.
struct Exchange {
  env::MonoTime start;
  env::WallTime time;
  std::string method, host, path, route;
  // The route's precomputed metric label; null for "unmatched".
  const std::string* metric_route = nullptr;
  std::string caller;
  int status = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
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
  using StreamParser = bhttp::request_parser<bhttp::buffer_body>;
  // How a streamed request body ended, when not normally.
  enum class BodyError { kNone, kTooLarge, kMalformed, kIo };

  // Discards client input for a bounded time before a close.
  asio::awaitable<void> Drain();
  // Reads and answers one request; true when the connection may be reused.
  asio::awaitable<bool> ServeOne();
  asio::awaitable<Response> RunHandler(const Route& route,
                                       const std::shared_ptr<Request>& req);
  // Runs a streaming route's handler on the pool while reading its body
  // ahead into a BodyBridge (session.cc). Sets `reply`, the body bytes the
  // handler read, and whether it saw the body's error (body_error_).
  asio::awaitable<void> RunStreamingHandler(const Route& route,
                                            const std::shared_ptr<Request>& req,
                                            StreamParser& parser,
                                            Response& reply, uint64_t* bytes_in,
                                            bool* error_seen);
  // Fills `req` and `ex` from the parsed head and routes it. Returns true
  // with `reject` set (and whether the connection may be kept) when the
  // request is answered without running a handler; else sets `route`.
  using HeaderParser = bhttp::request_parser<bhttp::empty_body>;
  bool Admit(const HeaderParser& hp, size_t header_bytes, Request& req,
             Exchange& ex, const Route** route, Response* reject,
             bool* keep_alive);

  // session_write.cc: sends `res`, records it; true when the connection may
  // be reused (`keep_alive` and the write succeeded).
  // Consumes `res` (its body is moved out).
  asio::awaitable<bool> Respond(Exchange& ex, Response& res, bool keep_alive);
  asio::awaitable<bool> WriteStreamed(Exchange& ex, Response& res,
                                      bool keep_alive);
  asio::awaitable<bool> WriteString(Exchange& ex, Response& res,
                                    bool keep_alive);
  // Records a request that ended without a response (status 499).
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
