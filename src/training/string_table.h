// StringTable: strings numbered 0, 1, 2, ... in the order they were added,
// kept in one flat byte buffer (the vocabulary and the prompt terms of the
// n-gram model). Wiped when destroyed (training/wiping_allocator.h).
//
// Thread safety: const methods may run concurrently; Add needs exclusive
// access.
#ifndef ATREST_TRAINING_STRING_TABLE_H_
#define ATREST_TRAINING_STRING_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "training/flat_index.h"
#include "training/wiping_allocator.h"

namespace atrest::training {

class StringTable {
 public:
  static constexpr uint32_t kNotFound = FlatIndex::kNone;

  StringTable() { offsets_.push_back(0); }

  // The number of `s`, or kNotFound.
  uint32_t Find(std::string_view s) const;
  // The number of `s`, adding it if it is new.
  uint32_t Add(std::string_view s);

  // Precondition: id < size().
  std::string_view Get(uint32_t id) const {
    return std::string_view(bytes_.data() + offsets_[id],
                            offsets_[id + 1] - offsets_[id]);
  }
  uint32_t size() const { return static_cast<uint32_t>(offsets_.size() - 1); }
  size_t memory_bytes() const {
    return HeapBytes(offsets_) + bytes_.capacity() + index_.memory_bytes();
  }

 private:
  WipedString bytes_;              // The strings, back to back.
  WipedVector<uint64_t> offsets_;  // String i is [offsets_[i], offsets_[i+1]).
  FlatIndex index_;
};

}  // namespace atrest::training

#endif  // ATREST_TRAINING_STRING_TABLE_H_
