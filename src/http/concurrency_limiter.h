// ConcurrencyLimiter: how many holders each key has, with a limit per
// acquisition, for quotas such as "at most 8 uploads in flight per
// principal". A Lease holds one slot of its key and gives it back when it
// is destroyed, however the work it guarded ended.
//
// Thread safety: every method may be called concurrently; a Lease belongs
// to one owner at a time and may be released on any thread. The limiter
// must outlive its leases.
#ifndef ATREST_HTTP_CONCURRENCY_LIMITER_H_
#define ATREST_HTTP_CONCURRENCY_LIMITER_H_

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace atrest::http {

class ConcurrencyLimiter {
 public:
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

   private:
    friend class ConcurrencyLimiter;
    Lease(ConcurrencyLimiter* limiter, std::string key);
    void Release();
    ConcurrencyLimiter* limiter_;  // Null once released or moved from.
    std::string key_;
  };

  ConcurrencyLimiter() = default;
  ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
  ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;

  // A lease on `key` when fewer than `limit` are held now; nullopt (and
  // nothing taken) otherwise.
  std::optional<Lease> TryAcquire(std::string key, size_t limit);
  // Leases held on `key` now.
  size_t held(std::string_view key) const;

 private:
  void Release(const std::string& key);

  mutable std::mutex mu_;
  std::map<std::string, size_t, std::less<>> held_;  // Guarded; never 0.
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_CONCURRENCY_LIMITER_H_
