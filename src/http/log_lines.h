// LogLines: where a log writes its lines. One complete line per Write(),
// never interleaved with another thread's, to an ostream (with '\n', flushed)
// or an injected sink (tests). The access log and the event log each hold
// one.
//
// Thread safety: Write() may be called concurrently.
#ifndef ATREST_HTTP_LOG_LINES_H_
#define ATREST_HTTP_LOG_LINES_H_

#include <functional>
#include <mutex>
#include <ostream>
#include <string_view>

namespace atrest::http {

class LogLines {
 public:
  // Receives one complete line, without the trailing newline.
  using Sink = std::function<void(std::string_view line)>;

  // `out` is borrowed: it must outlive this object.
  explicit LogLines(std::ostream& out)
      : sink_([&out](std::string_view line) {
          out << line << '\n';
          out.flush();
        }) {}
  explicit LogLines(Sink sink) : sink_(std::move(sink)) {}
  LogLines(const LogLines&) = delete;
  LogLines& operator=(const LogLines&) = delete;

  void Write(std::string_view line) {
    std::lock_guard<std::mutex> lock(mu_);
    sink_(line);
  }

 private:
  std::mutex mu_;
  const Sink sink_;  // Called under mu_.
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_LOG_LINES_H_
