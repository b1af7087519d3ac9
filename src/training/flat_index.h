// FlatIndex: an open-addressing hash index from 64-bit hashes to dense ids
// (0, 1, 2, ...) whose keys live elsewhere, in the caller's flat arrays. The
// caller resolves hash collisions with an equality callback. Its buffers are
// WipedVectors like the data it indexes.
//
// Thread safety: Find is const; Insert needs exclusive access.
#ifndef ATREST_TRAINING_FLAT_INDEX_H_
#define ATREST_TRAINING_FLAT_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "training/wiping_allocator.h"

namespace atrest::training {

// A 64-bit finalizer (splitmix64's), for integer keys.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9u;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBu;
  return x ^ (x >> 31);
}

// FNV-1a over the bytes, finalized by Mix64.
inline uint64_t HashBytes(std::string_view s) {
  uint64_t h = 14695981039346656037u;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211u;
  return Mix64(h);
}

class FlatIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // The id whose key equals the sought one (eq(id) is true) among those
  // inserted with `hash`, or kNone.
  template <typename Eq>
  uint32_t Find(uint64_t hash, Eq&& eq) const {
    if (slots_.empty()) return kNone;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const uint32_t id = slots_[i];
      if (id == kNone) return kNone;
      if (hashes_[i] == hash && eq(id)) return id;
    }
  }

  // Adds `id` (whose key is not in the index yet) under `hash`.
  void Insert(uint64_t hash, uint32_t id) {
    if ((used_ + 1) * 2 > slots_.size()) Grow();
    Place(hash, id);
    ++used_;
  }

  size_t memory_bytes() const { return HeapBytes(slots_) + HeapBytes(hashes_); }

 private:
  void Place(uint64_t hash, uint32_t id) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i] != kNone) i = (i + 1) & mask;
    slots_[i] = id;
    hashes_[i] = hash;
  }

  void Grow() {
    WipedVector<uint32_t> old_slots(slots_.empty() ? 16 : slots_.size() * 2,
                                    kNone);
    WipedVector<uint64_t> old_hashes(old_slots.size());
    old_slots.swap(slots_);
    old_hashes.swap(hashes_);
    for (size_t i = 0; i < old_slots.size(); ++i) {
      if (old_slots[i] != kNone) Place(old_hashes[i], old_slots[i]);
    }
  }

  WipedVector<uint32_t> slots_;   // An id, or kNone for a free slot.
  WipedVector<uint64_t> hashes_;  // The hash each id was inserted with.
  size_t used_ = 0;
};

}  // namespace atrest::training

#endif  // ATREST_TRAINING_FLAT_INDEX_H_
