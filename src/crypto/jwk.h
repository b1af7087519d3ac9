// RSA keys as JSON Web Keys (RFC 7517, RFC 7518 §6.3), the form the Key
// Vault API sends and returns: big-endian integers in unpadded base64url.
//
// The parser reads untrusted input (key import requests): it accepts only
// kty "RSA" or "RSA-HSM", requires n and e, takes all or none of the private
// members, and reports each problem as InvalidArgument naming the member.
#ifndef ATREST_CRYPTO_JWK_H_
#define ATREST_CRYPTO_JWK_H_

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "crypto/rsa.h"

namespace atrest::crypto {

struct RsaJwk {
  std::string kty;  // "RSA" or "RSA-HSM".
  Bytes n, e;
  std::optional<RsaPrivateComponents> private_parts;  // n and e repeated.

  Result<RsaPublicKey> ToPublicKey() const;
  // FailedPrecondition when the JWK has no private members.
  Result<RsaPrivateKey> ToPrivateKey() const;
};

Result<RsaJwk> ParseRsaJwk(const nlohmann::json& jwk);
Result<RsaJwk> ParseRsaJwkText(std::string_view json_text);

// {"kty": kty, "n": ..., "e": ...}; callers add kid and key_ops.
nlohmann::json PublicKeyToJwk(const RsaPublicKey& key, std::string_view kty);

}  // namespace atrest::crypto

#endif  // ATREST_CRYPTO_JWK_H_
