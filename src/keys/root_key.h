// The service root key: the top of the service-managed key hierarchy
// (DESIGN.md §3). 32 random bytes kept in a file of mode 0600 in the data
// dir, made on first start. Everything the service seals by itself (the
// built-in vault's master key, identity signing keys, service-managed
// account keys) is sealed by a key derived from it for that one purpose, so
// no two uses share a key.
//
// Thread safety: immutable after LoadOrCreate; safe for concurrent use.
#ifndef ATREST_KEYS_ROOT_KEY_H_
#define ATREST_KEYS_ROOT_KEY_H_

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/secret_bytes.h"
#include "env/env.h"

namespace atrest::keys {

class RootKey {
 public:
  // Reads the key at `path`, or makes a new one there (atomically, 0600)
  // when the file does not exist. DataLoss when the file is not a key.
  static Result<RootKey> LoadOrCreate(env::FileSystem& fs,
                                      const std::string& path);
  // For tests: a root key from given bytes (32).
  static Result<RootKey> FromBytes(crypto::SecretBytes key);

  // An AES-256-GCM key for one purpose, e.g. "identity/signing-keys".
  Result<std::unique_ptr<crypto::Aead>> DeriveAead(
      std::string_view purpose) const;

  // True when LoadOrCreate made the key (first start).
  bool created() const { return created_; }

 private:
  RootKey(crypto::SecretBytes key, bool created)
      : key_(std::move(key)), created_(created) {}
  crypto::SecretBytes key_;
  bool created_ = false;
};

}  // namespace atrest::keys

#endif  // ATREST_KEYS_ROOT_KEY_H_
