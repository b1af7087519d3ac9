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
    Response r = Response::Error(500, "InternalError",
                                 "The request could not be processed.");
    r.failure = InternalError("the handler threw an exception");
    return r;
  }
}

// Whether a Content-Type names application/x-www-form-urlencoded.
bool IsForm(std::string_view content_type) {
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  size_t semi = content_type.find(';');
  std::string_view type = content_type.substr(0, semi);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) {
    type.remove_suffix(1);
  }
  return EqualsIgnoreCase(type, kForm);
}

// Runs on the handler pool. A named coroutine rather than a lambda: g++ 12
// with Asio 1.74 mishandles lambda-coroutine captures passed to co_spawn.
// `handler` is owned by the Router; `req` is shared so that it outlives a
// session torn down while the handler still runs.
asio::awaitable<Response> CallHandler(const Handler* handler,
                                      std::shared_ptr<Request> req) {
  co_return InvokeHandler(*handler, *req);
}

}  // namespace

bool IsParseError(const beast::error_code& ec) {
  return ec.category() ==
             bhttp::make_error_code(bhttp::error::bad_method).category() &&
         ec != bhttp::error::end_of_stream &&
         ec != bhttp::error::partial_message &&
         ec != bhttp::error::need_buffer && ec != bhttp::error::body_limit &&
         ec != bhttp::error::header_limit;
}

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
  ex.request_id = core_->NextRequestId();
  beast::error_code ec;

  HeaderParser hp;
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
    reply = Refusal(ex, 431, "RequestHeaderFieldsTooLarge",
                    "The request line and headers are too large.");
    co_return co_await Respond(ex, reply, false);
  }
  if (ec && IsParseError(ec)) {
    reply = Refusal(ex, 400, "BadRequest", "Malformed HTTP request.");
    co_return co_await Respond(ex, reply, false);
  }
  if (ec) co_return false;  // Timeout, reset, EOF mid-header: just close.

  auto req = std::make_shared<Request>();
  req->request_id = ex.request_id;
  const Route* route = nullptr;
  bool keep_alive = false;
  if (Admit(hp, header_bytes, *req, ex, &route, &reply, &keep_alive)) {
    co_return co_await Respond(ex, reply, keep_alive);
  }
  if (route->limits.streaming_body) {
    co_return co_await ServeStreaming(*route, req, hp, ex, keep_alive);
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
  bhttp::request_parser<bhttp::string_body> bp(std::move(hp));
  bp.body_limit(route->limits.max_body_bytes);
  if (!bp.is_done()) {  // Else (no body) Beast would post a completion.
    SetExpiry(opt.body_timeout);
    co_await bhttp::async_read(stream_, buffer_, bp,
                               asio::redirect_error(use_awaitable, ec));
  }
  if (ec == bhttp::error::body_limit) {
    reply = Refusal(ex, 413, "RequestEntityTooLarge",
                    "The request body exceeds " +
                        std::to_string(route->limits.max_body_bytes) +
                        " bytes for this endpoint.");
    co_return co_await Respond(ex, reply, false);
  }
  if (ec && IsParseError(ec)) {
    reply = Refusal(ex, 400, "BadRequest", "Malformed request body.");
    co_return co_await Respond(ex, reply, false);
  }
  if (ec) {
    Record(ex);
    co_return false;
  }
  req->body = std::move(bp.get().body());
  ex.bytes_in = req->body.size();
  // A form is text like a query string: refused here unless it decodes to
  // UTF-8, so no handler sees other bytes.
  if (!req->body.empty() &&
      IsForm(req->headers.Get("Content-Type").value_or(""))) {
    if (Result<QueryParams> form = ParseQuery(req->body); !form.ok()) {
      reply = Refusal(ex, 400, "BadRequest",
                      "The form body: " + form.status().message() + ".");
      co_return co_await Respond(ex, reply, keep_alive && !core_->stopping);
    }
  }
  if (route->limits.inline_handler) {
    // Never blocks (RouteLimits): called right here on the I/O thread.
    reply = InvokeHandler(route->handler, *req);
  } else {
    reply = co_await RunHandler(*route, req);
  }
  if (reply.consumer) {
    reply = Refusal(ex, 500, "InternalError",
                    "The request could not be processed.");
    reply.failure = InternalError(
        "a route that does not stream its body returned a "
        "body consumer");
  }
  ex.caller = req->caller_id;
  co_return co_await Respond(ex, reply, keep_alive && !core_->stopping);
}

Response Session::Refusal(const Exchange& ex, int status, std::string_view code,
                          std::string_view message) const {
  return SurfaceError(ex.surface, status, code, message);
}

bool Session::Admit(const HeaderParser& hp, size_t header_bytes, Request& req,
                    Exchange& ex, const Route** route, Response* reject,
                    bool* keep_alive) {
  const auto& head = hp.get();
  req.method = std::string(head.method_string());
  req.target = std::string(head.target());
  size_t hosts = 0;
  std::vector<std::string_view> transfer_encodings;
  for (const auto& f : head) {
    req.headers.Add(std::string(f.name_string()), std::string(f.value()));
    if (f.name() == bhttp::field::host) ++hosts;
    if (f.name() == bhttp::field::transfer_encoding) {
      transfer_encodings.push_back(ToStd(f.value()));
    }
  }
  ex.request_headers = &req.headers;
  req.peer_ip = peer_;
  ex.method = req.method;
  std::string_view path, query;
  SplitTarget(req.target, &path, &query);
  req.path = std::string(path);
  ex.path = req.path;  // Never the query: it may carry secrets.

  // Every refusal below closes the connection: a request whose framing or
  // Host is in doubt must not be followed by another on the same bytes.
  *keep_alive = false;
  if (hosts > 1) {
    *reject = Refusal(ex, 400, "BadRequest",
                      "The request has more than one Host header.");
    return true;
  }
  Result<HostPort> host = ParseHostHeader(ToStd(head[bhttp::field::host]));
  if (!host.ok()) {
    *reject = Refusal(ex, 400, "BadRequest", host.status().message() + ".");
    return true;
  }
  req.host = std::move(host->host);
  req.host_port = std::move(host->port);
  ex.host = req.host;
  RouteMatch match = core_->router.Find(req.host, req.method, req.path);
  ex.surface = match.surface;
  // Beast reads a body as chunked only when chunked is the last coding, and
  // otherwise as no body at all, leaving it to be parsed as the next
  // request (RFC 9112 §6.1: an unknown or non-final coding is an error).
  if (!transfer_encodings.empty()) {
    Status te = CheckTransferEncoding(transfer_encodings);
    if (te.ok() && (!hp.chunked() || head.version() < 11)) {
      te = InvalidArgumentError(
          "Transfer-Encoding needs HTTP/1.1 and must be 'chunked'");
    }
    if (!te.ok()) {
      *reject = Refusal(ex, 400, "BadRequest", te.message() + ".");
      return true;
    }
  }
  Result<QueryParams> params = ParseQuery(query);
  if (!params.ok()) {
    *reject = Refusal(ex, 400, "BadRequest",
                      "The query string: " + params.status().message() + ".");
    return true;
  }
  req.query = std::move(*params);

  const bool has_body =
      hp.content_length() ? *hp.content_length() > 0 : hp.chunked();
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
  for (const auto& [name, value] : req.path_params) {
    if (!IsValidUtf8(value)) {
      *reject = Refusal(ex, 400, "BadRequest",
                        "The path segment {" + name +
                            "} must be UTF-8 once percent-decoded.");
      return true;
    }
  }
  if (header_bytes > r.limits.max_header_bytes) {
    *reject = Refusal(ex, 431, "RequestHeaderFieldsTooLarge",
                      "The request headers exceed " +
                          std::to_string(r.limits.max_header_bytes) +
                          " bytes for this endpoint.");
    return true;
  }
  if (hp.content_length() && *hp.content_length() > r.limits.max_body_bytes) {
    *reject = Refusal(ex, 413, "RequestEntityTooLarge",
                      "The request body exceeds " +
                          std::to_string(r.limits.max_body_bytes) +
                          " bytes for this endpoint.");
    return true;
  }
  *route = &r;
  *keep_alive = hp.keep_alive();
  return false;
}

asio::awaitable<Response> Session::RunHandler(
    const Route& route, const std::shared_ptr<Request>& req) {
  auto op = asio::co_spawn(core_->handler_pool.get_executor(),
                           CallHandler(&route.handler, req), use_awaitable);
  co_return co_await std::move(op);
}

}  // namespace atrest::http
