#include "http/access_log.h"

#include "http/json_util.h"

namespace atrest::http {
namespace {

void AppendField(std::string& out, const char* name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":";
  AppendJsonString(out, value);
}

void AppendNumber(std::string& out, const char* name, long long value) {
  out += ",\"";
  out += name;
  out += "\":";
  out += std::to_string(value);
}

}  // namespace

AccessLog::AccessLog(std::ostream& out)
    : sink_([&out](std::string_view line) {
        out << line << '\n';
        out.flush();
      }) {}

void AccessLog::Write(const AccessRecord& record) {
  std::string line = Format(record);
  std::lock_guard<std::mutex> lock(mu_);
  sink_(line);
}

std::string AccessLog::Format(const AccessRecord& r) {
  std::string out = "{\"time\":";
  AppendJsonString(out, FormatRfc3339Micros(r.time));
  AppendField(out, "method", r.method);
  AppendField(out, "host", r.host);
  AppendField(out, "path", r.path);
  AppendField(out, "route", r.route);
  AppendNumber(out, "status", r.status);
  AppendNumber(out, "bytes_in", static_cast<long long>(r.bytes_in));
  AppendNumber(out, "bytes_out", static_cast<long long>(r.bytes_out));
  AppendNumber(out, "latency_us", r.latency_us);
  AppendField(out, "peer", r.peer);
  AppendField(out, "caller", r.caller);
  AppendField(out, "request_id", r.request_id);
  out += "}";
  return out;
}

}  // namespace atrest::http
