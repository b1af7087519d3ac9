#include "keys/root_key.h"

#include <openssl/crypto.h>

#include "crypto/hkdf.h"
#include "crypto/random.h"

namespace atrest::keys {
namespace {

constexpr std::string_view kMagic = "atrest-root-key-v1\n";

}  // namespace

Result<RootKey> RootKey::LoadOrCreate(env::FileSystem& fs,
                                      const std::string& path) {
  if (!fs.Exists(path)) {
    crypto::SecretBytes key = crypto::NewAes256Key();
    crypto::SecretBytes file(kMagic.size() + key.size());
    MutableByteView out = file.MutableSecret();
    std::copy(kMagic.begin(), kMagic.end(), out.begin());
    std::copy(key.RevealSecret().begin(), key.RevealSecret().end(),
              out.begin() + kMagic.size());
    RETURN_IF_ERROR(env::WriteFileAtomically(fs, path, file.RevealSecret())
                        .WithContext("writing the root key"));
    return RootKey(std::move(key), /*created=*/true);
  }
  ASSIGN_OR_RETURN(Bytes raw, env::ReadFile(fs, path));
  crypto::SecretBytes file = crypto::SecretBytes::CopyFrom(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  ByteView view = file.RevealSecret();
  if (view.size() != kMagic.size() + crypto::kAes256KeySize ||
      AsString(view.first(kMagic.size())) != kMagic) {
    return DataLossError("root key file " + path +
                         " is not an atrest root key; restore it from backup");
  }
  return RootKey(crypto::SecretBytes::CopyFrom(view.subspan(kMagic.size())),
                 /*created=*/false);
}

Result<RootKey> RootKey::FromBytes(crypto::SecretBytes key) {
  if (key.size() != crypto::kAes256KeySize) {
    return InvalidArgumentError("root key must be 32 bytes");
  }
  return RootKey(std::move(key), false);
}

Result<std::unique_ptr<crypto::Aead>> RootKey::DeriveAead(
    std::string_view purpose) const {
  std::string info = "atrest root key v1/";
  info += purpose;
  ASSIGN_OR_RETURN(crypto::SecretBytes derived,
                   crypto::HkdfSha256(key_.RevealSecret(), {}, AsBytes(info),
                                      crypto::kAes256KeySize));
  return crypto::Aead::Create(std::move(derived));
}

}  // namespace atrest::keys
