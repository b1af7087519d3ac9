#include "http/event_log.h"

#include "http/json_util.h"

namespace atrest::http {

void EventLog::Write(const EventRecord& record) {
  lines_.Write(Format(record));
}

std::string EventLog::Format(const EventRecord& r) {
  std::string out = "{\"time\":";
  AppendJsonString(out, FormatRfc3339Micros(r.time));
  AppendJsonField(out, "event", r.event);
  AppendJsonField(out, "request_id", r.request_id);
  AppendJsonField(out, "method", r.method);
  AppendJsonField(out, "host", r.host);
  AppendJsonField(out, "route", r.route);
  AppendJsonNumber(out, "status", r.status);
  AppendJsonField(out, "code",
                  r.failure.ok()
                      ? std::string_view()
                      : std::string_view(StatusCodeName(r.failure.code())));
  AppendJsonField(out, "message", r.failure.message());
  out += "}";
  return out;
}

}  // namespace atrest::http
