#include "http/body_rate.h"

#include <algorithm>

namespace atrest::http {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

BodyRate::BodyRate(uint64_t bytes_per_second, milliseconds window)
    : required_(window.count() <= 0
                    ? 0
                    : bytes_per_second * static_cast<uint64_t>(window.count()) /
                          1000),
      window_(window) {}

milliseconds BodyRate::NextWait(milliseconds cap) const {
  if (required_ == 0) return cap;
  // Rounded up, so that a read never times out just short of the window.
  const nanoseconds left = std::max(nanoseconds(0), window_ - waited_);
  const milliseconds left_ms((left.count() + 999'999) / 1'000'000);
  return std::min(cap, std::max(left_ms, milliseconds(1)));
}

bool BodyRate::CutOffByRate(milliseconds cap) const {
  return required_ != 0 && window_ - waited_ < cap;
}

void BodyRate::Record(uint64_t n, nanoseconds waited) {
  if (required_ == 0) return;
  waited_ += waited;
  bytes_ += n;
  if (bytes_ >= required_) {
    // This window is met: the next one starts now.
    waited_ = nanoseconds(0);
    bytes_ = 0;
  }
}

}  // namespace atrest::http
