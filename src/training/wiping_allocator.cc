#include "training/wiping_allocator.h"

#include <openssl/crypto.h>

#include <atomic>

namespace atrest::training {
namespace {

std::atomic<uint64_t> wiped_bytes{0};

}  // namespace

namespace internal {

void Wipe(void* p, size_t n) {
  if (p == nullptr || n == 0) return;
  OPENSSL_cleanse(p, n);
  wiped_bytes.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace internal

uint64_t WipedBytesForTesting() {
  return wiped_bytes.load(std::memory_order_relaxed);
}

void WipeString(std::string& s) {
  // Growing to the capacity overwrites the spare bytes with '\0' through
  // the string's own interface; then the whole buffer is cleansed.
  s.resize(s.capacity());
  internal::Wipe(s.data(), s.size());
  s.clear();
}

}  // namespace atrest::training
