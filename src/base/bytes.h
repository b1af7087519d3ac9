// Byte buffers and views shared by every module.
#ifndef ATREST_BASE_BYTES_H_
#define ATREST_BASE_BYTES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace atrest {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using MutableByteView = std::span<uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view AsString(ByteView b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// 0-15 for a hex digit of either case, -1 otherwise.
int HexDigitValue(char c);

// Lower-case hex; for ids, digests and test output, never for secrets.
std::string HexEncode(ByteView data);
// Returns false on odd length or a non-hex character.
bool HexDecode(std::string_view hex, Bytes* out);

// Big-endian integer helpers used by the binary formats.
inline void StoreBigEndian32(uint32_t v, uint8_t* out) {
  out[0] = static_cast<uint8_t>(v >> 24);
  out[1] = static_cast<uint8_t>(v >> 16);
  out[2] = static_cast<uint8_t>(v >> 8);
  out[3] = static_cast<uint8_t>(v);
}
inline uint32_t LoadBigEndian32(const uint8_t* in) {
  return (uint32_t{in[0]} << 24) | (uint32_t{in[1]} << 16) |
         (uint32_t{in[2]} << 8) | uint32_t{in[3]};
}

}  // namespace atrest

#endif  // ATREST_BASE_BYTES_H_
