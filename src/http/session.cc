#include "http/session.h"

// clang-format off
#include <utility>  // Before Asio: Boost 1.74's awaitable.hpp needs it.
// clang-format on
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <exception>
#include <limits>

#include "http/session_impl.h"

namespace atrest::http {
namespace {

using asio::use_awaitable;
constexpr size_t kReadAhead = 16 * 1024;

// Errors of the HTTP parser itself (bad syntax), as opposed to I/O errors,
// timeouts and limits, which are handled separately.
bool IsParseError(const beast::error_code& ec) {
  return ec.category() ==
             bhttp::make_error_code(bhttp::error::bad_method).category() &&
         ec != bhttp::error::end_of_stream &&
         ec != bhttp::error::partial_message && ec != bhttp::error::need_buffer;
}

std::string_view ToStd(beast::string_view s) {
  return std::string_view(s.data(), s.size());
}

std::string PeerIp(const asio::ip::tcp::socket& socket) {
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "";
  asio::ip::address a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6())
        .to_string();
  }
  return a.to_string();
}

Response InvokeHandler(const Handler& handler, Request& req) {
  try {
    return handler(req);
  } catch (const std::exception&) {
    return Response::Error(500, "InternalError",
                           "The request could not be processed.");
  }
}

// Runs on the handler pool. A named coroutine rather than a lambda: g++ 12
// with Asio 1.74 mishandles lambda-coroutine captures passed to co_spawn.
// `handler` is owned by the Router; `req` is shared so that it outlives a
// session torn down while the handler still runs.
asio::awaitable<Response> CallHandler(const Handler* handler,
                                      std::shared_ptr<Request> req) {
  co_return InvokeHandler(*handler, *req);
}

// Built only when needed: most requests have neither problem.
Response BodyTooLarge(const Route& route) {
  return Response::Error(413, "RequestEntityTooLarge",
                         "The request body exceeds " +
                             std::to_string(route.limits.max_body_bytes) +
                             " bytes for this endpoint.");
}

Response MalformedBody() {
  return Response::Error(400, "BadRequest", "Malformed request body.");
}

}  // namespace

asio::awaitable<void> RunSession(std::shared_ptr<ServerCore> core,
                                 asio::ip::tcp::socket socket,
                                 std::shared_ptr<ConnectionControl> control,
                                 uint64_t id) {
  Session session(core, std::move(socket), control, id);
  try {
    co_await session.Run();
  } catch (const std::exception&) {
    // Only allocation failures and the like get here; the connection is
    // dropped and the server carries on.
  }
  control->close_socket = nullptr;
  core->Unregister(id);
}

Session::Session(std::shared_ptr<ServerCore> core, asio::ip::tcp::socket socket,
                 std::shared_ptr<ConnectionControl> control, uint64_t id)
    : core_(std::move(core)),
      control_(std::move(control)),
      id_(id),
      stream_(beast::tcp_stream(std::move(socket)), core_->ssl) {
  peer_ = PeerIp(beast::get_lowest_layer(stream_).socket());
}

void Session::SetExpiry(std::chrono::milliseconds timeout) {
  beast::get_lowest_layer(stream_).expires_after(timeout);
}

asio::awaitable<void> Session::Run() {
  control_->close_socket = [this] { beast::get_lowest_layer(stream_).close(); };
  if (core_->stopping) co_return;
  const ServerOptions& opt = core_->options;
  beast::error_code ec;
  SetExpiry(opt.handshake_timeout);
  co_await stream_.async_handshake(asio::ssl::stream_base::server,
                                   asio::redirect_error(use_awaitable, ec));
  if (core_->handshakes_total) core_->handshakes_total->Inc({});
  if (ec) {
    if (core_->handshake_failures) core_->handshake_failures->Inc({});
    co_return;
  }
  bool first = true;
  bool clean = true;  // Whether a TLS close_notify exchange makes sense.
  // Stop() closes the socket of an idle connection; reading `stopping` and
  // setting `idle` both happen on this executor, so no request slips between.
  while (!core_->stopping) {
    if (buffer_.size() == 0) {
      control_->idle = true;
      SetExpiry(first ? opt.header_timeout : opt.idle_timeout);
      size_t n = co_await stream_.async_read_some(
          buffer_.prepare(kReadAhead), asio::redirect_error(use_awaitable, ec));
      control_->idle = false;
      if (ec) {
        clean = ec == asio::error::eof;
        break;
      }
      buffer_.commit(n);
    }
    first = false;
    if (!co_await ServeOne()) {
      co_await Drain();
      break;
    }
  }
  auto& tcp = beast::get_lowest_layer(stream_);
  if (clean && !core_->stopping && tcp.socket().is_open()) {
    // Bounded close_notify exchange; clients often just drop the connection.
    // Skipped while stopping, where it would only delay the drain.
    SetExpiry(std::min(opt.write_timeout, std::chrono::milliseconds(2000)));
    co_await stream_.async_shutdown(asio::redirect_error(use_awaitable, ec));
  }
  tcp.close();
}

asio::awaitable<void> Session::Drain() {
  // Reads and drops what the client is still sending (an unread body after
  // a 413, say) for a short, bounded time, so that closing the socket does
  // not reset the connection before the client has read our response.
  auto& tcp = beast::get_lowest_layer(stream_);
  if (core_->stopping || !tcp.socket().is_open()) co_return;
  beast::error_code ec;
  SetExpiry(std::chrono::milliseconds(500));
  for (size_t drained = 0; drained < (1u << 20);) {
    buffer_.clear();
    drained += co_await stream_.async_read_some(
        buffer_.prepare(kReadAhead), asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
  }
}

// g++ 12 destroys some temporaries inside a co_await expression twice
// (GCC PR 99576), so no co_await below has a temporary with a destructor in
// its operand: responses are named locals passed by reference.
asio::awaitable<bool> Session::ServeOne() {
  const ServerOptions& opt = core_->options;
  Exchange ex;
  ex.start = core_->clock.Monotonic();
  ex.time = core_->clock.Now();
  beast::error_code ec;

  bhttp::request_parser<bhttp::empty_body> hp;
  hp.header_limit(static_cast<uint32_t>(core_->largest_header_limit));
  // Body limits are per route, checked once the route is known. (Not
  // boost::none: Beast 1.74 then rejects every Content-Length.)
  hp.body_limit(std::numeric_limits<std::uint64_t>::max());
  // Parses what is already buffered first: a keep-alive request usually
  // arrives whole with the read in Run(), and Beast's async_read_header
  // would then still post its completion through the executor.
  size_t header_bytes = 0;
  if (buffer_.size() != 0) {
    header_bytes = hp.put(buffer_.data(), ec);
    buffer_.consume(header_bytes);
    if (ec == bhttp::error::need_more) ec = {};
  }
  if (!ec && !hp.is_header_done()) {
    SetExpiry(opt.header_timeout);
    header_bytes += co_await bhttp::async_read_header(
        stream_, buffer_, hp, asio::redirect_error(use_awaitable, ec));
  }
  Response reply;
  if (ec == bhttp::error::header_limit) {
    reply = Response::Error(431, "RequestHeaderFieldsTooLarge",
                            "The request line and headers are too large.");
    co_return co_await Respond(ex, reply, false);
  }
  if (ec && IsParseError(ec)) {
    reply = Response::Error(400, "BadRequest", "Malformed HTTP request.");
    co_return co_await Respond(ex, reply, false);
  }
  if (ec) co_return false;  // Timeout, reset, EOF mid-header: just close.

  auto req = std::make_shared<Request>();
  const Route* route = nullptr;
  bool keep_alive = false;
  if (Admit(hp, header_bytes, *req, ex, &route, &reply, &keep_alive)) {
    co_return co_await Respond(ex, reply, keep_alive);
  }
  const bool has_body =
      hp.content_length() ? *hp.content_length() > 0 : hp.chunked();
  if (has_body &&
      EqualsIgnoreCase(ToStd(hp.get()[bhttp::field::expect]), "100-continue")) {
    bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
    SetExpiry(opt.write_timeout);
    co_await bhttp::async_write(stream_, cont,
                                asio::redirect_error(use_awaitable, ec));
    if (ec) co_return false;
  }
  bool body_done = true;
  if (!route->limits.streaming_body) {
    bhttp::request_parser<bhttp::string_body> bp(std::move(hp));
    bp.body_limit(route->limits.max_body_bytes);
    if (!bp.is_done()) {  // Else (no body) Beast would post a completion.
      SetExpiry(opt.body_timeout);
      co_await bhttp::async_read(stream_, buffer_, bp,
                                 asio::redirect_error(use_awaitable, ec));
    }
    if (ec == bhttp::error::body_limit) {
      reply = BodyTooLarge(*route);
      co_return co_await Respond(ex, reply, false);
    }
    if (ec && IsParseError(ec)) {
      reply = MalformedBody();
      co_return co_await Respond(ex, reply, false);
    }
    if (ec) {
      Record(ex);
      co_return false;
    }
    req->body = std::move(bp.get().body());
    ex.bytes_in = req->body.size();
    if (route->limits.inline_handler) {
      // Never blocks (RouteLimits): called right here on the I/O thread.
      reply = InvokeHandler(route->handler, *req);
    } else {
      reply = co_await RunHandler(*route, req);
    }
  } else {
    StreamParser bp(std::move(hp));
    bp.body_limit(route->limits.max_body_bytes);
    body_error_ = BodyError::kNone;
    bool error_seen = false;
    co_await RunStreamingHandler(*route, req, bp, reply, &ex.bytes_in,
                                 &error_seen);
    body_done = bp.is_done();
    // A body error the handler never read (it returned before reaching it)
    // does not replace its response; the body is unread, so the connection
    // closes after it.
    if (!error_seen) body_error_ = BodyError::kNone;
    if (body_error_ == BodyError::kTooLarge) {
      reply = BodyTooLarge(*route);
      co_return co_await Respond(ex, reply, false);
    }
    if (body_error_ == BodyError::kMalformed) {
      reply = MalformedBody();
      co_return co_await Respond(ex, reply, false);
    }
    if (body_error_ == BodyError::kIo) {
      Record(ex);
      co_return false;
    }
  }
  ex.caller = req->caller_id;
  // An unread body cannot be skipped safely: close after the response.
  co_return co_await Respond(ex, reply,
                             keep_alive && body_done && !core_->stopping);
}

bool Session::Admit(const HeaderParser& hp, size_t header_bytes, Request& req,
                    Exchange& ex, const Route** route, Response* reject,
                    bool* keep_alive) {
  const auto& head = hp.get();
  req.method = std::string(head.method_string());
  req.target = std::string(head.target());
  for (const auto& f : head) {
    req.headers.Add(std::string(f.name_string()), std::string(f.value()));
  }
  req.peer_ip = peer_;
  ex.method = req.method;
  std::string_view path, query;
  SplitTarget(req.target, &path, &query);
  req.path = std::string(path);
  ex.path = req.path;  // Never the query: it may carry secrets.

  *keep_alive = false;
  Result<std::string> host = HostWithoutPort(ToStd(head[bhttp::field::host]));
  if (!host.ok()) {
    *reject = Response::Error(400, "BadRequest", host.status().message());
    return true;
  }
  req.host = *host;
  ex.host = req.host;
  Result<QueryParams> params = ParseQuery(query);
  if (!params.ok()) {
    *reject = Response::Error(400, "BadRequest", params.status().message());
    return true;
  }
  req.query = std::move(*params);

  const bool has_body =
      hp.content_length() ? *hp.content_length() > 0 : hp.chunked();
  RouteMatch match = core_->router.Find(req.host, req.method, req.path);
  if (match.kind != RouteMatch::Kind::kFound) {
    *reject = Router::NotFoundResponse(match);
    *keep_alive = hp.keep_alive() && !has_body;
    return true;
  }
  const Route& r = *match.route;
  ex.route = r.path_pattern;
  ex.metric_route = &r.metric_route;
  req.route_pattern = r.path_pattern;
  req.host_label = std::move(match.host_label);
  req.path_params = std::move(match.params);
  if (header_bytes > r.limits.max_header_bytes) {
    *reject = Response::Error(431, "RequestHeaderFieldsTooLarge",
                              "The request headers exceed " +
                                  std::to_string(r.limits.max_header_bytes) +
                                  " bytes for this endpoint.");
    return true;
  }
  if (hp.content_length() && *hp.content_length() > r.limits.max_body_bytes) {
    *reject = Response::Error(413, "RequestEntityTooLarge",
                              "The request body exceeds " +
                                  std::to_string(r.limits.max_body_bytes) +
                                  " bytes for this endpoint.");
    return true;
  }
  *route = &r;
  *keep_alive = hp.keep_alive();
  return false;
}

asio::awaitable<void> Session::RunStreamingHandler(
    const Route& route, const std::shared_ptr<Request>& req,
    StreamParser& parser, Response& reply, uint64_t* bytes_in,
    bool* error_seen) {
  // What the handler's completion and the bridge's wake-ups share with this
  // coroutine; all of it is used on this connection's executor only.
  struct Call {
    explicit Call(asio::any_io_executor ex, beast::tcp_stream& s)
        : wake(ex, asio::steady_timer::time_point::max()), tcp(s) {}
    asio::steady_timer wake;  // Never expires; cancel() wakes the loop.
    beast::tcp_stream& tcp;
    bool reading = false;
    bool handler_done = false;
    Response reply;
  };
  const asio::any_io_executor io = stream_.get_executor();
  auto call = std::make_shared<Call>(io, beast::get_lowest_layer(stream_));
  auto bridge = std::make_shared<BodyBridge>(
      [io, call] { asio::post(io, [call] { call->wake.cancel(); }); });
  req->body_stream = bridge->MakeSource();
  // Never inline: the handler blocks reading the body (Router::Add).
  asio::co_spawn(
      core_->handler_pool.get_executor(), CallHandler(&route.handler, req),
      asio::bind_executor(io, [call](std::exception_ptr e, Response r) {
        call->reply = e ? Response::Error(500, "InternalError",
                                          "The request could not be processed.")
                        : std::move(r);
        call->handler_done = true;
        // A read the handler will never consume is cancelled; the body is
        // then unfinished and the connection closes after the response.
        if (call->reading) {
          call->tcp.cancel();
        } else {
          call->wake.cancel();
        }
      }));

  // Reads the body ahead of the handler, as far as the bridge has room,
  // until the handler returns.
  auto& body = parser.get().body();
  bool ended = false;
  beast::error_code ec;
  while (!call->handler_done) {
    if (!ended && parser.is_done()) {
      bridge->Finish(Status::Ok());
      ended = true;
    }
    std::vector<uint8_t> buf;
    if (ended || !bridge->TakeBuffer(&buf)) {
      // Parked until the handler makes room, starts reading, or returns.
      co_await call->wake.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    body.data = buf.data();
    body.size = buf.size();
    // One timeout per chunk: a client must deliver each chunk (or the rest
    // of the body) within body_timeout. None runs while parked.
    SetExpiry(core_->options.body_timeout);
    call->reading = true;
    co_await bhttp::async_read(stream_, buffer_, parser,
                               asio::redirect_error(use_awaitable, ec));
    call->reading = false;
    if (ec == bhttp::error::need_buffer) ec = {};
    const size_t n = buf.size() - body.size;
    body.data = nullptr;
    body.size = 0;
    if (call->handler_done) {
      bridge->Return(std::move(buf));
      break;
    }
    if (!ec) {
      if (n > 0) {
        bridge->Push(std::move(buf), n);
      } else {
        bridge->Return(std::move(buf));
      }
      continue;
    }
    // Bytes of a failed chunk are dropped, as the error comes first.
    bridge->Return(std::move(buf));
    ended = true;
    if (ec == bhttp::error::body_limit) {
      body_error_ = BodyError::kTooLarge;
      bridge->Finish(ResourceExhaustedError("request body too large"));
    } else if (IsParseError(ec)) {
      body_error_ = BodyError::kMalformed;
      bridge->Finish(InvalidArgumentError("malformed request body"));
    } else if (ec == beast::error::timeout) {
      body_error_ = BodyError::kIo;
      bridge->Finish(
          Status(StatusCode::kDeadlineExceeded, "request body read timed out"));
    } else {
      body_error_ = BodyError::kIo;
      bridge->Finish(UnavailableError("connection lost reading the body"));
    }
  }
  bridge->Close();
  req->body_stream.reset();
  reply = std::move(call->reply);
  *bytes_in = bridge->bytes_read();
  *error_seen = bridge->error_delivered();
}

asio::awaitable<Response> Session::RunHandler(
    const Route& route, const std::shared_ptr<Request>& req) {
  auto op = asio::co_spawn(core_->handler_pool.get_executor(),
                           CallHandler(&route.handler, req), use_awaitable);
  co_return co_await std::move(op);
}

}  // namespace atrest::http
