// Session: streamed request bodies (RouteLimits::streaming_body). The route's
// handler runs on the head; a BodyConsumer it returns gets the body from a
// BodyBridge, which this connection's I/O thread fills (body_consumer.h,
// body_bridge.h).
// clang-format off
#include <utility>  // Before Asio: Boost 1.74's awaitable.hpp needs it.
// clang-format on
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <exception>

#include "http/body_bridge.h"
#include "http/body_rate.h"
#include "http/session_impl.h"

namespace atrest::http {
namespace {

using asio::use_awaitable;

// Runs on the handler pool. A named coroutine rather than a lambda: g++ 12
// with Asio 1.74 mishandles lambda-coroutine captures passed to co_spawn.
asio::awaitable<Response> FinishConsumer(std::shared_ptr<BodyConsumer> consumer,
                                         Status body) {
  try {
    co_return consumer->Finish(body);
  } catch (const std::exception&) {
    Response r = Response::Error(500, "InternalError",
                                 "The request could not be processed.");
    r.failure = InternalError("the request body's consumer failed");
    co_return r;
  }
}

std::string RateMessage(const ServerOptions& opt) {
  return "the request body arrived slower than " +
         std::to_string(opt.min_body_rate) + " bytes/s over " +
         std::to_string(opt.min_body_rate_window.count() / 1000) + " s";
}

}  // namespace

// How the bridge wakes the session, whatever it waits for: parked on `wake`
// (for a buffer, or for the consumer to go idle), or reading the socket when
// the consumer failed (the read is cancelled: the rest of the body is not
// wanted). Used on the connection's executor only.
struct BodyWaker {
  BodyWaker(const asio::any_io_executor& io, beast::tcp_stream& s)
      : wake(io, asio::steady_timer::time_point::max()), tcp(s) {}
  void Wake() {
    if (reading) {
      tcp.cancel();
    } else {
      wake.cancel();
    }
  }
  asio::steady_timer wake;  // Never expires; cancel() wakes the session.
  beast::tcp_stream& tcp;   // Touched only while `reading`.
  bool reading = false;
};

asio::awaitable<bool> Session::ServeStreaming(
    const Route& route, const std::shared_ptr<Request>& req, HeaderParser& hp,
    Exchange& ex, bool keep_alive) {
  const bool has_body =
      hp.content_length() ? *hp.content_length() > 0 : hp.chunked();
  // The handler sees the head only; it may answer at once (401, 429, a bad
  // content type) without the client sending its body.
  Response reply = co_await RunHandler(route, req);
  ex.caller = req->caller_id;
  if (!reply.consumer) {
    // An unread body cannot be skipped safely: close after the response.
    co_return co_await Respond(ex, reply,
                               keep_alive && !has_body && !core_->stopping);
  }
  std::shared_ptr<BodyConsumer> consumer = std::move(reply.consumer);
  reply = Response();
  beast::error_code ec;
  Status body = Status::Ok();
  if (has_body &&
      EqualsIgnoreCase(ToStd(hp.get()[bhttp::field::expect]), "100-continue")) {
    bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
    SetExpiry(core_->options.write_timeout);
    co_await bhttp::async_write(stream_, cont,
                                asio::redirect_error(use_awaitable, ec));
    if (ec) body = UnavailableError("connection lost");
  }
  StreamParser parser(std::move(hp));
  parser.body_limit(route.limits.max_body_bytes);
  body_error_ = body.ok() ? BodyError::kNone : BodyError::kIo;
  if (body.ok()) {
    const asio::any_io_executor io = stream_.get_executor();
    auto waker =
        std::make_shared<BodyWaker>(io, beast::get_lowest_layer(stream_));
    auto bridge = std::make_shared<BodyBridge>(
        consumer,
        [pool = core_->handler_pool.get_executor()](
            std::function<void()> task) { asio::post(pool, std::move(task)); },
        // Weak: the waker (its timer) is destroyed on this thread, never on
        // the pool.
        [io, weak = std::weak_ptr<BodyWaker>(waker)] {
          if (auto w = weak.lock()) asio::post(io, [w] { w->Wake(); });
        });
    body = co_await PumpBody(bridge, waker, parser);
    ex.bytes_in = bridge->bytes_consumed();
  }
  // The consumer learns how the body ended even when nobody will read its
  // answer, so that it can let go of what it holds.
  auto op = asio::co_spawn(core_->handler_pool.get_executor(),
                           FinishConsumer(consumer, body), use_awaitable);
  reply = co_await std::move(op);
  consumer.reset();
  ex.caller = req->caller_id;
  switch (body_error_) {
    case BodyError::kNone:
      break;
    case BodyError::kTooLarge:
      reply = Refusal(ex, 413, "RequestEntityTooLarge",
                      "The request body exceeds " +
                          std::to_string(route.limits.max_body_bytes) +
                          " bytes for this endpoint.");
      co_return co_await Respond(ex, reply, false);
    case BodyError::kMalformed:
      reply = Refusal(ex, 400, "BadRequest", "Malformed request body.");
      co_return co_await Respond(ex, reply, false);
    case BodyError::kIo:
      Record(ex);
      co_return false;
  }
  co_return co_await Respond(
      ex, reply, keep_alive && parser.is_done() && !core_->stopping);
}

asio::awaitable<Status> Session::PumpBody(
    const std::shared_ptr<BodyBridge>& bridge,
    const std::shared_ptr<BodyWaker>& waker, StreamParser& parser) {
  const ServerOptions& opt = core_->options;
  BodyRate rate(opt.min_body_rate, opt.min_body_rate_window);
  auto& body = parser.get().body();
  std::vector<uint8_t> buf;
  bool have_buf = false;
  size_t filled = 0;
  Status ended = Status::Ok();
  beast::error_code ec;
  while (!parser.is_done()) {
    if (!have_buf) {
      if (!bridge->TakeBuffer(&buf)) {
        if (!bridge->consumer_status().ok()) break;
        // Parked until the consumer gives a buffer back. No timer runs: the
        // client is not being waited for.
        co_await waker->wake.async_wait(
            asio::redirect_error(use_awaitable, ec));
        continue;
      }
      have_buf = true;
      filled = 0;
    }
    body.data = buf.data() + filled;
    body.size = buf.size() - filled;
    // One bound per read: what is left of the minimum rate's window, or
    // body_timeout when shorter.
    SetExpiry(rate.NextWait(opt.body_timeout));
    const env::MonoTime waited_from = core_->clock.Monotonic();
    waker->reading = true;
    co_await bhttp::async_read_some(stream_, buffer_, parser,
                                    asio::redirect_error(use_awaitable, ec));
    waker->reading = false;
    const size_t n = buf.size() - filled - body.size;
    body.data = nullptr;
    body.size = 0;
    if (ec == bhttp::error::need_buffer) ec = {};
    filled += n;
    rate.Record(n, core_->clock.Monotonic() - waited_from);
    if (ec && !bridge->consumer_status().ok()) break;  // Read cancelled.
    if (ec) {
      // The bytes of the chunk being filled are dropped: the error comes
      // first.
      if (ec == bhttp::error::body_limit) {
        body_error_ = BodyError::kTooLarge;
        ended = ResourceExhaustedError("request body too large");
      } else if (IsParseError(ec)) {
        body_error_ = BodyError::kMalformed;
        ended = InvalidArgumentError("malformed request body");
      } else if (ec == beast::error::timeout) {
        body_error_ = BodyError::kIo;
        ended = Status(StatusCode::kDeadlineExceeded,
                       rate.CutOffByRate(opt.body_timeout)
                           ? RateMessage(opt)
                           : "request body read timed out");
      } else {
        body_error_ = BodyError::kIo;
        ended = UnavailableError("connection lost reading the body");
      }
      break;
    }
    if (filled == buf.size() || (parser.is_done() && filled > 0)) {
      bridge->Push(std::move(buf), filled);
      have_buf = false;
    }
  }
  if (have_buf) bridge->Return(std::move(buf));
  // After a failure of the body, what is queued is not worth consuming.
  if (!ended.ok()) bridge->Close();
  while (!bridge->Idle()) {
    co_await waker->wake.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  // The consumer may have failed on the last chunks.
  if (ended.ok()) ended = bridge->consumer_status();
  co_return ended;
}

}  // namespace atrest::http
