// BodyConsumer: how a streaming_body route takes its request body (uploads;
// never buffered whole).
//
// The route's handler is called on the handler pool as soon as the request
// head is in, with no body. It checks what it can (authentication, content
// type, quotas) and either answers at once with an ordinary Response (the
// body is then left unread and the connection closes after the response),
// or returns Response::Consume(consumer). The server then reads the body on
// the connection's I/O thread, a few chunks ahead, and hands each chunk to
// the consumer on the handler pool: Consume() for every chunk, in order,
// then Finish() once, which gives the response. Between chunks the
// consumer holds no thread, so a slow client costs a connection and at most
// BodyBridge::kMaxChunks chunk buffers (1 MiB), never a handler thread.
//
// Thread safety: the server calls Consume() and Finish() from handler-pool
// threads, one call at a time, each call starting after the previous one
// returned (so the consumer needs no lock of its own). Both may block (disk,
// crypto). The server drops its reference after Finish(); the consumer may
// hold resources (a quota slot, a temporary blob) until it is destroyed.
#ifndef ATREST_HTTP_BODY_CONSUMER_H_
#define ATREST_HTTP_BODY_CONSUMER_H_

#include "base/bytes.h"
#include "base/status.h"

namespace atrest::http {

struct Response;

class BodyConsumer {
 public:
  virtual ~BodyConsumer() = default;

  // The body's next bytes, never empty; lent by the server, valid only
  // during the call (256 KiB at most). A non-OK Status stops the body: the
  // server reads no more of it, calls Consume() no more, and calls Finish()
  // with this Status; the connection closes after the response.
  virtual Status Consume(ByteView data) = 0;

  // Called once, last. `body` is OK when the whole body was consumed; else
  // why it ended early: the error Consume() returned, or the server's own:
  // ResourceExhausted (over the route's max_body_bytes), InvalidArgument
  // (malformed chunked encoding), DeadlineExceeded (the client was too
  // slow: body_timeout or the minimum body rate), Unavailable (connection
  // lost, server stopping). Returns the response to send. After an error of
  // the server's own, the server sends its own refusal (413, 400) or nothing
  // (the connection is gone) and drops this response; Finish() is still
  // called, so that the consumer can clean up.
  virtual Response Finish(const Status& body) = 0;
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_BODY_CONSUMER_H_
