#include "http/access_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "http/json_util.h"

namespace atrest::http {
namespace {

std::string FormatTime(env::WallTime t) {
  using namespace std::chrono;
  auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  long frac = static_cast<long>(us % 1000000);
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, frac);
  return buf;
}

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
  AppendJsonString(out, FormatTime(r.time));
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
  out += "}";
  return out;
}

}  // namespace atrest::http
