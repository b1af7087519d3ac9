// WipingAllocator: an allocator that overwrites memory with zeros
// (OPENSSL_cleanse) before giving it back to the heap, and the containers
// built on it. Everything a trained model learned lives in these containers,
// so that freeing a model, or a vector growing into a larger buffer, never
// leaves what it learned behind in freed memory.
//
// Thread safety: stateless; any thread may allocate and free.
#ifndef ATREST_TRAINING_WIPING_ALLOCATOR_H_
#define ATREST_TRAINING_WIPING_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace atrest::training {

namespace internal {
// OPENSSL_cleanse(p, n) and adds n to WipedBytesForTesting().
void Wipe(void* p, size_t n);
}  // namespace internal

// Bytes wiped by WipingAllocator in this process so far. Tests compare it
// before and after destroying a model.
uint64_t WipedBytesForTesting();

template <typename T>
class WipingAllocator {
 public:
  using value_type = T;

  WipingAllocator() noexcept = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}  // NOLINT: rebind.

  T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, size_t n) noexcept {
    internal::Wipe(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }

  friend bool operator==(const WipingAllocator&, const WipingAllocator&) {
    return true;
  }
};

template <typename T>
using WipedVector = std::vector<T, WipingAllocator<T>>;
using WipedString =
    std::basic_string<char, std::char_traits<char>, WipingAllocator<char>>;

// Heap bytes a WipedVector holds (its capacity, not its size).
template <typename T>
size_t HeapBytes(const WipedVector<T>& v) {
  return v.capacity() * sizeof(T);
}

// Zeroes `s` including the spare capacity behind its end, for strings that
// held customer data but are not WipedStrings (ChatMessage::content).
void WipeString(std::string& s);

}  // namespace atrest::training

#endif  // ATREST_TRAINING_WIPING_ALLOCATOR_H_
