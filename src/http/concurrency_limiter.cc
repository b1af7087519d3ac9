#include "http/concurrency_limiter.h"

#include <utility>

namespace atrest::http {

ConcurrencyLimiter::Lease::Lease(ConcurrencyLimiter* limiter, std::string key)
    : limiter_(limiter), key_(std::move(key)) {}

ConcurrencyLimiter::Lease::Lease(Lease&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)),
      key_(std::move(other.key_)) {}

ConcurrencyLimiter::Lease& ConcurrencyLimiter::Lease::operator=(
    Lease&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = std::exchange(other.limiter_, nullptr);
    key_ = std::move(other.key_);
  }
  return *this;
}

ConcurrencyLimiter::Lease::~Lease() { Release(); }

void ConcurrencyLimiter::Lease::Release() {
  if (limiter_ != nullptr) std::exchange(limiter_, nullptr)->Release(key_);
}

std::optional<ConcurrencyLimiter::Lease> ConcurrencyLimiter::TryAcquire(
    std::string key, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = held_.find(key);
  const size_t now = it == held_.end() ? 0 : it->second;
  if (now >= limit) return std::nullopt;
  if (it == held_.end()) {
    held_.emplace(key, 1);
  } else {
    ++it->second;
  }
  return Lease(this, std::move(key));
}

size_t ConcurrencyLimiter::held(std::string_view key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = held_.find(key);
  return it == held_.end() ? 0 : it->second;
}

void ConcurrencyLimiter::Release(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = held_.find(key);
  if (it == held_.end()) return;
  if (--it->second == 0) held_.erase(it);
}

}  // namespace atrest::http
