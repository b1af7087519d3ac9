#include "training/decoding.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace atrest::training {

uint32_t SampleToken(std::span<double> dist, double temperature, double top_p,
                     Rng& rng, WipedVector<uint32_t>* order) {
  double top = -std::numeric_limits<double>::infinity();
  for (double& p : dist) {
    p = p > 0 ? std::log(p) / temperature
              : -std::numeric_limits<double>::infinity();
    top = std::max(top, p);
  }
  order->clear();
  double total = 0;
  for (size_t w = 0; w < dist.size(); ++w) {
    dist[w] = std::isinf(dist[w]) ? 0.0 : std::exp(dist[w] - top);
    if (dist[w] > 0) {
      order->push_back(static_cast<uint32_t>(w));
      total += dist[w];
    }
  }
  if (order->empty()) return 1;  // Only the end marker is left.
  if (top_p < 1) {
    std::sort(order->begin(), order->end(), [&](uint32_t a, uint32_t b) {
      return dist[a] > dist[b] || (dist[a] == dist[b] && a < b);
    });
    double kept = 0;
    size_t n = 0;
    while (n < order->size() && (n == 0 || kept < top_p * total)) {
      kept += dist[(*order)[n++]];
    }
    order->resize(n);
    total = kept;
  }
  const double target = rng.Uniform() * total;
  double sum = 0;
  for (uint32_t w : *order) {
    sum += dist[w];
    if (target < sum) return w;
  }
  return order->back();
}

std::string_view StopScanner::Append(std::string_view piece, bool* stopped) {
  *stopped = false;
  const size_t before = text_.size();
  text_.append(piece);
  const std::string_view text = text_;
  // The earliest stop sequence that ends inside the new piece (none ended
  // before it).
  size_t stop_at = std::string_view::npos;
  for (const std::string& s : stops_) {
    if (s.empty()) continue;
    const size_t from = before >= s.size() ? before - s.size() + 1 : 0;
    const size_t at = text.find(s, from);
    if (at != std::string_view::npos) stop_at = std::min(stop_at, at);
  }
  size_t safe = text.size();
  if (stop_at != std::string_view::npos) {
    *stopped = true;
    text_.resize(stop_at);
    safe = stop_at;
  } else {
    // Hold back the longest tail that begins some stop sequence.
    for (const std::string& s : stops_) {
      if (s.empty()) continue;
      for (size_t n = std::min(s.size() - 1, text.size()); n > 0; --n) {
        if (text.substr(text.size() - n) == std::string_view(s).substr(0, n)) {
          safe = std::min(safe, text.size() - n);
          break;
        }
      }
    }
  }
  safe = std::max(safe, released_);
  const std::string_view ready =
      std::string_view(text_).substr(released_, safe - released_);
  released_ = safe;
  return ready;
}

std::string_view StopScanner::Flush() {
  const std::string_view rest = std::string_view(text_).substr(released_);
  released_ = text_.size();
  return rest;
}

}  // namespace atrest::training
