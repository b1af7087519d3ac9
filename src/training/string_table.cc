#include "training/string_table.h"

namespace atrest::training {

uint32_t StringTable::Find(std::string_view s) const {
  return index_.Find(HashBytes(s), [&](uint32_t id) { return Get(id) == s; });
}

uint32_t StringTable::Add(std::string_view s) {
  const uint64_t hash = HashBytes(s);
  uint32_t id = index_.Find(hash, [&](uint32_t i) { return Get(i) == s; });
  if (id != kNotFound) return id;
  id = size();
  bytes_.append(s);
  offsets_.push_back(bytes_.size());
  index_.Insert(hash, id);
  return id;
}

}  // namespace atrest::training
