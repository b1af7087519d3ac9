// EventLog: the server's log of failures, one JSON line per event, written
// to an injected sink (stderr or a file in `atrest serve`).
//
// The server writes a line for every response with a 5xx status and for
// every streamed response its producer aborted after the head was sent (a
// tampered blob found mid-download, a disk error): the client then sees a
// truncated body, and this line is the only trace. A line holds: time
// (RFC 3339 UTC, microseconds), event ("error_response" or
// "response_aborted"), request_id (the one the response carried in its
// request-id headers), method, host, route (the matched pattern, "" when
// none), status, and the Status behind the failure: code ("INTERNAL",
// "DATA_LOSS", ...; "" when the handler gave none) and message. It never
// holds paths, query strings, headers, bodies or secrets (Status messages
// are free of secrets by contract). Example:
//   {"time":"2024-05-01T12:00:00.000123Z","event":"response_aborted",
//    "request_id":"1f0e...","method":"GET","host":"acct.openai.localhost",
//    "route":"/openai/files/{id}/content","status":200,"code":"DATA_LOSS",
//    "message":"integrity check failed"}
//
// Thread safety: Write() may be called concurrently; lines never interleave.
#ifndef ATREST_HTTP_EVENT_LOG_H_
#define ATREST_HTTP_EVENT_LOG_H_

#include <functional>
#include <ostream>
#include <string>
#include <string_view>

#include "base/status.h"
#include "env/env.h"
#include "http/log_lines.h"

namespace atrest::http {

struct EventRecord {
  env::WallTime time;
  std::string event;  // "error_response" or "response_aborted".
  std::string request_id;
  std::string method;
  std::string host;
  std::string route;
  int status = 0;
  Status failure;  // OK when unknown.
};

class EventLog {
 public:
  using Sink = LogLines::Sink;

  // Writes lines (with '\n', flushed) to `out`, borrowed: it must outlive
  // this object.
  explicit EventLog(std::ostream& out) : lines_(out) {}
  explicit EventLog(Sink sink) : lines_(std::move(sink)) {}
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  void Write(const EventRecord& record);

  // The JSON line for `record`, without newline.
  static std::string Format(const EventRecord& record);

 private:
  LogLines lines_;
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_EVENT_LOG_H_
