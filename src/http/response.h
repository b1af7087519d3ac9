// Response: what a handler returns, independent of sockets.
//
// The body is either a string (small JSON, HTML) or a BodyProducer the
// server pulls chunks from, so large downloads stream with memory bounded
// per connection: two chunks of 256 KiB, one being written while the
// producer fills the other (the producer runs one chunk ahead of the
// socket). A streamed body goes out with Content-Length
// when `content_length` is set, else with chunked transfer encoding.
//
// A streaming_body route's handler may instead return Response::Consume(),
// asking for the request body (body_consumer.h).
//
// A response that reports an internal failure carries the Status behind it
// in `failure` (FromStatus() sets it): never sent, but written to the
// server's event log with the request id whenever the status is 5xx.
//
// Thread safety: a value type; it belongs to one thread at a time. The
// producer is called on handler-pool threads, one call at a time.
#ifndef ATREST_HTTP_RESPONSE_H_
#define ATREST_HTTP_RESPONSE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "http/body_consumer.h"
#include "http/headers.h"

namespace atrest::http {

// Fills `out` with the next bytes of the body and returns how many; 0 means
// the end of the body. `out` holds up to 256 KiB; filling it (except at the
// end) costs the fewest hand-offs between threads. An error aborts the
// response: the status line has been sent already, so the server closes the
// connection (the client sees a truncated body) and writes the failure to its
// event log with the request id. With a
// known content_length the producer must deliver exactly that many bytes, or
// the connection is closed. May block (disk, crypto): it runs on a handler-pool
// thread.
using BodyProducer = std::function<Result<size_t>(MutableByteView out)>;

struct Response {
  int status = 200;
  Headers headers;
  std::string body;                        // Used when `producer` is empty.
  BodyProducer producer;                   // Streaming body when set.
  std::optional<uint64_t> content_length;  // Only with a producer.
  // Set only by Consume(): the route wants the request body.
  std::shared_ptr<BodyConsumer> consumer;
  // Why a 5xx response failed, for the server's log; OK when unknown.
  Status failure;

  // `json` is sent as is with Content-Type application/json.
  static Response Json(int status, std::string json);
  static Response Text(int status, std::string text,
                       std::string_view content_type = "text/plain");
  // The Azure error shape {"error":{"code":code,"message":message}}; the
  // message must not hold secrets or customer data.
  static Response Error(int status, std::string_view code,
                        std::string_view message);
  // Error() for a non-OK Status: the HTTP status from HttpStatusFor(), the
  // code name as `code` and the status message as `message`; `failure` is
  // `status`.
  static Response FromStatus(const Status& status);
  // For a streaming_body route's handler: read the body into `consumer`,
  // then send what its Finish() returns.
  static Response Consume(std::shared_ptr<BodyConsumer> consumer);
  static Response Stream(
      int status, BodyProducer producer, std::optional<uint64_t> content_length,
      std::string_view content_type = "application/octet-stream");
};

// The HTTP status a StatusCode maps to (InvalidArgument -> 400, NotFound ->
// 404, ResourceExhausted -> 429 ...).
int HttpStatusFor(StatusCode code);

}  // namespace atrest::http

#endif  // ATREST_HTTP_RESPONSE_H_
