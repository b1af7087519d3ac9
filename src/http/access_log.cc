#include "http/access_log.h"

#include "http/json_util.h"

namespace atrest::http {

void AccessLog::Write(const AccessRecord& record) {
  lines_.Write(Format(record));
}

std::string AccessLog::Format(const AccessRecord& r) {
  std::string out = "{\"time\":";
  AppendJsonString(out, FormatRfc3339Micros(r.time));
  AppendJsonField(out, "method", r.method);
  AppendJsonField(out, "host", r.host);
  AppendJsonField(out, "path", r.path);
  AppendJsonField(out, "route", r.route);
  AppendJsonNumber(out, "status", r.status);
  AppendJsonNumber(out, "bytes_in", static_cast<long long>(r.bytes_in));
  AppendJsonNumber(out, "bytes_out", static_cast<long long>(r.bytes_out));
  AppendJsonNumber(out, "latency_us", r.latency_us);
  AppendJsonField(out, "peer", r.peer);
  AppendJsonField(out, "caller", r.caller);
  AppendJsonField(out, "request_id", r.request_id);
  out += "}";
  return out;
}

}  // namespace atrest::http
