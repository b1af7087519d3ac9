// Session: writing responses, and recording them in the access log and
// metrics.
// clang-format off
#include <utility>  // Before Asio: Boost 1.74's awaitable.hpp needs it.
// clang-format on
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <exception>
#include <vector>

#include "http/response_head.h"
#include "http/session_impl.h"

namespace atrest::http {
namespace {

using asio::use_awaitable;
// Each of a streamed response's two buffers (so 512 KiB per connection at
// most); a producer may fill less.
constexpr size_t kChunkBytes = 256 * 1024;
// The output buffer a connection keeps between responses: one TLS record,
// as much as Beast's flat_stream kept for coalescing writes before.
constexpr size_t kKeptOutputBytes = 16 * 1024;

struct Produced {
  size_t n = 0;
  Status error;
};

// Runs on the handler pool. A named coroutine rather than a lambda: g++ 12
// with Asio 1.74 mishandles lambda-coroutine captures passed to co_spawn.
asio::awaitable<Produced> Produce(std::shared_ptr<BodyProducer> producer,
                                  std::shared_ptr<std::vector<uint8_t>> chunk) {
  Produced p;
  try {
    Result<size_t> r = (*producer)(MutableByteView(*chunk));
    if (r.ok()) {
      p.n = std::min(*r, chunk->size());
    } else {
      p.error = r.status();
    }
  } catch (const std::exception&) {
    p.error = InternalError("body producer failed");
  }
  co_return p;
}

// The two buffers of a streamed response and the results of the producer
// calls filling them. Used on the connection's executor only; shared with
// the completions of those calls.
struct Pipeline {
  explicit Pipeline(const asio::any_io_executor& io)
      : wake(io, asio::steady_timer::time_point::max()) {}
  struct Slot {
    std::shared_ptr<std::vector<uint8_t>> chunk =
        std::make_shared<std::vector<uint8_t>>(kChunkBytes);
    Produced result;
    bool done = true;
  };
  Slot slots[2];
  asio::steady_timer wake;  // Never expires; cancel() wakes the writer.
};

template <typename Message>
void CopyHeaders(const Response& res, bool keep_alive, Message& msg) {
  msg.version(11);
  msg.result(static_cast<unsigned>(res.status));
  for (const auto& [name, value] : res.headers.fields()) {
    msg.insert(name, value);
  }
  msg.keep_alive(keep_alive);
}

}  // namespace

asio::awaitable<bool> Session::Respond(Exchange& ex, Response& res,
                                       bool keep_alive) {
  static const Headers kNoHeaders;
  ex.status = res.status;
  ex.failure = std::move(res.failure);
  SetRequestIdHeaders(ex.surface, ex.request_id,
                      ex.request_headers ? *ex.request_headers : kNoHeaders,
                      res.headers);
  bool ok = res.producer ? co_await WriteStreamed(ex, res, keep_alive)
                         : co_await WriteString(ex, res, keep_alive);
  Record(ex);
  co_return ok&& keep_alive;
}

asio::awaitable<bool> Session::WriteString(Exchange& ex, Response& res,
                                           bool keep_alive) {
  ex.bytes_out = res.body.size();
  out_.clear();
  if (AppendResponseHead(res, keep_alive, res.body.size(), out_)) {
    // Head and body in one buffer: one TLS write, no Beast message.
    out_ += res.body;
    beast::error_code ec;
    SetExpiry(core_->options.write_timeout);
    co_await asio::async_write(stream_, asio::buffer(out_),
                               asio::redirect_error(use_awaitable, ec));
    if (out_.capacity() > kKeptOutputBytes) {
      std::string().swap(out_);  // Do not hold a large body's memory.
    }
    co_return !ec;
  }
  bhttp::response<bhttp::string_body> msg;
  CopyHeaders(res, keep_alive, msg);
  msg.body() = std::move(res.body);
  msg.prepare_payload();
  ex.bytes_out = msg.body().size();
  beast::error_code ec;
  SetExpiry(core_->options.write_timeout);
  co_await bhttp::async_write(stream_, msg,
                              asio::redirect_error(use_awaitable, ec));
  co_return !ec;
}

asio::awaitable<bool> Session::WriteStreamed(Exchange& ex, Response& res,
                                             bool keep_alive) {
  bhttp::response<bhttp::buffer_body> msg;
  CopyHeaders(res, keep_alive, msg);
  if (res.content_length) {
    msg.content_length(*res.content_length);
  } else {
    msg.chunked(true);
  }
  msg.body().data = nullptr;
  msg.body().more = true;
  bhttp::response_serializer<bhttp::buffer_body> sr{msg};
  beast::error_code ec;
  bool head_sent = false;

  // Double buffering: while chunk k is written from one buffer, the
  // producer fills the other with chunk k+1 on the handler pool. These two
  // buffers are the only body memory this response holds.
  const asio::any_io_executor io = stream_.get_executor();
  auto pipe = std::make_shared<Pipeline>(io);
  auto producer = std::make_shared<BodyProducer>(std::move(res.producer));
  // Starts filling slot `i`; its completion runs on this connection's
  // executor. One producer call at a time: a slot is started only after the
  // previous call completed.
  auto start = [&](int i) {
    Pipeline::Slot& slot = pipe->slots[i];
    slot.done = false;
    asio::co_spawn(
        core_->handler_pool.get_executor(), Produce(producer, slot.chunk),
        asio::bind_executor(io, [pipe, i](std::exception_ptr e, Produced p) {
          Pipeline::Slot& s = pipe->slots[i];
          s.result = std::move(p);
          if (e) s.result = Produced{0, InternalError("body producer failed")};
          s.done = true;
          pipe->wake.cancel();
        }));
  };
  const std::optional<uint64_t> expected = res.content_length;
  int cur = 0;
  bool ahead = false;  // Whether slot 1 - cur is being filled.
  start(cur);
  for (;;) {
    while (!pipe->slots[cur].done) {
      co_await pipe->wake.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    const Produced& p = pipe->slots[cur].result;
    const Status& error = p.error;
    const size_t n = p.n;
    if (!error.ok() && !head_sent) {
      // Nothing sent yet: the client can still get a proper error, in its
      // surface's shape, with no internal detail; the event log has it.
      const int status = HttpStatusFor(error.code());
      Response failed = SurfaceError(
          ex.surface, status, StatusCodeName(error.code()),
          status >= 500 ? "The server had an internal error; see its log."
                        : error.message());
      SetRequestIdHeaders(ex.surface, ex.request_id,
                          ex.request_headers ? *ex.request_headers : Headers(),
                          failed.headers);
      ex.status = failed.status;
      ex.failure = error;
      co_return co_await WriteString(ex, failed, keep_alive);
    }
    // A failed or miscounted body cannot be signalled in HTTP/1.1 once the
    // head is out: close the connection so the client sees a truncation,
    // and write the failure to the event log.
    Status abort = error;
    if (abort.ok() && expected && ex.bytes_out + n > *expected) {
      abort = InternalError("the body is longer than its Content-Length");
    }
    if (abort.ok() && n == 0 && expected && ex.bytes_out != *expected) {
      abort = InternalError("the body is shorter than its Content-Length");
    }
    if (!abort.ok()) {
      ex.aborted = true;
      ex.failure = std::move(abort);
      co_return false;
    }
    if (n != 0) {
      start(1 - cur);
      ahead = true;
    }
    bool ok = true;
    if (!head_sent) {
      SetExpiry(core_->options.write_timeout);
      co_await bhttp::async_write_header(
          stream_, sr, asio::redirect_error(use_awaitable, ec));
      ok = !ec;
      head_sent = true;
    }
    if (ok) {
      msg.body().data = n == 0 ? nullptr : pipe->slots[cur].chunk->data();
      msg.body().size = n;
      msg.body().more = n != 0;
      SetExpiry(core_->options.write_timeout);
      co_await bhttp::async_write(stream_, sr,
                                  asio::redirect_error(use_awaitable, ec));
      if (ec == bhttp::error::need_buffer) ec = {};
      ok = !ec;
    }
    if (!ok) {
      // Lets the call in flight end before the response does: the producer
      // is not called again, and nothing of it outlives the response.
      while (ahead && !pipe->slots[1 - cur].done) {
        co_await pipe->wake.async_wait(asio::redirect_error(use_awaitable, ec));
      }
      co_return false;
    }
    ex.bytes_out += n;
    if (n == 0) co_return true;
    cur = 1 - cur;
    ahead = false;
  }
}

void Session::Record(Exchange& ex) {
  if (ex.status == 0) ex.status = 499;  // Ended before a response was sent.
  auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
      core_->clock.Monotonic() - ex.start);
  static const std::string kUnmatched = "unmatched";
  const std::string& route = ex.metric_route ? *ex.metric_route : kUnmatched;
  // Reused per I/O thread: assigning into them allocates nothing once their
  // strings have grown to the longest route. Filled and read with no
  // suspension in between.
  thread_local LabelValues route_status(2);
  thread_local LabelValues route_only(1);
  if (core_->requests_total) {
    route_status[0] = route;
    route_status[1] = std::to_string(ex.status);
    core_->requests_total->Inc(route_status);
  }
  if (core_->request_seconds) {
    route_only[0] = route;
    core_->request_seconds->Observe(route_only,
                                    static_cast<double>(latency.count()) / 1e6);
  }
  if (core_->access_log) {
    AccessRecord r;
    r.time = ex.time;
    r.method = ex.method;
    r.host = ex.host;
    r.path = ex.path;
    r.route = ex.route;
    r.status = ex.status;
    r.bytes_in = ex.bytes_in;
    r.bytes_out = ex.bytes_out;
    r.latency_us = latency.count();
    r.peer = peer_;
    r.caller = ex.caller;
    r.request_id = ex.request_id;
    core_->access_log->Write(r);
  }
  if (core_->event_log && (ex.status >= 500 || ex.aborted)) {
    EventRecord e;
    e.time = ex.time;
    e.event = ex.aborted ? "response_aborted" : "error_response";
    e.request_id = ex.request_id;
    e.method = ex.method;
    e.host = ex.host;
    e.route = ex.route;
    e.status = ex.status;
    e.failure = ex.failure;
    core_->event_log->Write(e);
  }
}

}  // namespace atrest::http
