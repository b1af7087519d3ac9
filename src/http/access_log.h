// AccessLog: one JSON line per finished request, written to an injected
// sink.
//
// A line holds: time (RFC 3339 UTC, microseconds), method, host, path (the
// path only: the query string may hold secrets such as SAS signatures and is
// never logged), route (the matched pattern, "" when none), status,
// bytes_in / bytes_out (body bytes), latency_us, peer, caller (filled in by
// the auth layer; "" when anonymous), request_id (as in the response's
// request-id headers and the event log). It never holds headers, tokens or
// bodies. Example:
//   {"time":"2024-05-01T12:00:00.000123Z","method":"GET",
//    "host":"kv1.vault.localhost","path":"/keys/k1","route":"/keys/{name}",
//    "status":200,"bytes_in":0,"bytes_out":412,"latency_us":845,
//    "peer":"127.0.0.1","caller":"5f1c...","request_id":"0d4e..."}
//
// Thread safety: Write() may be called concurrently; lines never interleave.
#ifndef ATREST_HTTP_ACCESS_LOG_H_
#define ATREST_HTTP_ACCESS_LOG_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

#include "env/env.h"
#include "http/log_lines.h"

namespace atrest::http {

struct AccessRecord {
  env::WallTime time;
  std::string method;
  std::string host;
  std::string path;
  std::string route;
  int status = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  int64_t latency_us = 0;
  std::string peer;
  std::string caller;
  std::string request_id;
};

class AccessLog {
 public:
  using Sink = LogLines::Sink;

  // Writes lines (with '\n', flushed) to `out`, borrowed: it must outlive
  // this object.
  explicit AccessLog(std::ostream& out) : lines_(out) {}
  explicit AccessLog(Sink sink) : lines_(std::move(sink)) {}
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void Write(const AccessRecord& record);

  // The JSON line for `record`, without newline.
  static std::string Format(const AccessRecord& record);

 private:
  LogLines lines_;
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_ACCESS_LOG_H_
