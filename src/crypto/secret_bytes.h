// SecretBytes: a buffer for key material.
//
// The memory is wiped (OPENSSL_cleanse) when the object is destroyed or
// overwritten by a move. Copies are explicit (Clone()), the bytes are reached
// only through RevealSecret()/MutableSecret() so that every raw use can be
// found with grep, and streaming a SecretBytes prints "<secret N bytes>".
//
// Thread safety: a value type; const methods may run concurrently.
#ifndef ATREST_CRYPTO_SECRET_BYTES_H_
#define ATREST_CRYPTO_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <ostream>

#include "base/bytes.h"

namespace atrest::crypto {

class SecretBytes {
 public:
  SecretBytes() = default;
  // `size` zero bytes.
  explicit SecretBytes(size_t size);
  // Copies `data`; the caller remains responsible for wiping its own copy.
  static SecretBytes CopyFrom(ByteView data);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  SecretBytes Clone() const { return CopyFrom(RevealSecret()); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Raw access to the secret. Every call site is a place where key material
  // leaves this type; keep them few and reviewed.
  ByteView RevealSecret() const { return ByteView(data_, size_); }
  MutableByteView MutableSecret() { return MutableByteView(data_, size_); }

  // Constant-time comparison.
  bool Equals(const SecretBytes& other) const;

 private:
  void Wipe();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Prints only the length, so that a secret in a log line or a failed test
// assertion does not leak.
std::ostream& operator<<(std::ostream& os, const SecretBytes& s);
// GoogleTest's printer hook.
void PrintTo(const SecretBytes& s, std::ostream* os);

}  // namespace atrest::crypto

#endif  // ATREST_CRYPTO_SECRET_BYTES_H_
