#include "http/event_log.h"

#include "http/json_util.h"

namespace atrest::http {
namespace {

void AppendField(std::string& out, const char* name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":";
  AppendJsonString(out, value);
}

}  // namespace

EventLog::EventLog(std::ostream& out)
    : sink_([&out](std::string_view line) {
        out << line << '\n';
        out.flush();
      }) {}

void EventLog::Write(const EventRecord& record) {
  std::string line = Format(record);
  std::lock_guard<std::mutex> lock(mu_);
  sink_(line);
}

std::string EventLog::Format(const EventRecord& r) {
  std::string out = "{\"time\":";
  AppendJsonString(out, FormatRfc3339Micros(r.time));
  AppendField(out, "event", r.event);
  AppendField(out, "request_id", r.request_id);
  AppendField(out, "method", r.method);
  AppendField(out, "host", r.host);
  AppendField(out, "route", r.route);
  out += ",\"status\":";
  out += std::to_string(r.status);
  AppendField(out, "code",
              r.failure.ok()
                  ? std::string_view()
                  : std::string_view(StatusCodeName(r.failure.code())));
  AppendField(out, "message", r.failure.message());
  out += "}";
  return out;
}

}  // namespace atrest::http
