// BodyRate: the minimum rate a streamed request body must keep
// (ServerOptions::min_body_rate). Internal to the http module.
//
// Only time spent waiting for the client counts, not time the server spends
// not reading because the consumer is catching up. Each successive
// `bytes_per_second * window` body bytes must arrive within `window` of
// such waiting: a client at or above the rate always passes, one that
// falls behind is cut off when its window runs out, so at most `window`
// after it slowed down. With 4 KiB/s over 20 s (the defaults), a client
// trickling 1 KiB every 2 s is cut off after 20 s, while a slow link of a
// few hundred KiB/s fills a window in well under a second.
//
// Thread safety: a value used by one session.
#ifndef ATREST_HTTP_BODY_RATE_H_
#define ATREST_HTTP_BODY_RATE_H_

#include <chrono>
#include <cstdint>

namespace atrest::http {

class BodyRate {
 public:
  // `bytes_per_second` 0 disables the rule.
  BodyRate(uint64_t bytes_per_second, std::chrono::milliseconds window);

  // How long the next read may wait: what is left of the current window,
  // or `cap` (the per-read body_timeout) when that is shorter or the rule
  // is disabled.
  std::chrono::milliseconds NextWait(std::chrono::milliseconds cap) const;
  // Whether a read given NextWait(cap) that timed out was cut off by this
  // rule (rather than by `cap`).
  bool CutOffByRate(std::chrono::milliseconds cap) const;
  // `n` body bytes arrived after waiting `waited`.
  void Record(uint64_t n, std::chrono::nanoseconds waited);

 private:
  const uint64_t required_;  // Bytes per window; 0 when disabled.
  const std::chrono::nanoseconds window_;
  std::chrono::nanoseconds waited_{0};  // In the current window.
  uint64_t bytes_ = 0;                  // In the current window.
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_BODY_RATE_H_
