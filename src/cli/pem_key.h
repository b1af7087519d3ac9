// RSA private keys read from PEM files, for `atrest keyvault key import
// --pem-file`, as the JSON Web Key the Key Vault import request carries.
//
// Thread safety: a pure function.
#ifndef ATREST_CLI_PEM_KEY_H_
#define ATREST_CLI_PEM_KEY_H_

#include <nlohmann/json.hpp>
#include <string_view>

#include "base/status.h"

namespace atrest::cli {

// The first private key of `pem`: "BEGIN PRIVATE KEY" (PKCS#8) or "BEGIN RSA
// PRIVATE KEY" (PKCS#1), unencrypted, RSA of 2048 to 4096 bits
// (crypto::RsaPrivateKey's rules). Returns {"kty":"RSA", "n", "e", "d", "p",
// "q", "dp", "dq", "qi"} in base64url; callers add key_ops. The result holds
// the private key: send it, do not print or save it. InvalidArgument when
// there is no such key, it is encrypted, or not an acceptable RSA key.
Result<nlohmann::json> RsaPrivateJwkFromPem(std::string_view pem);

}  // namespace atrest::cli

#endif  // ATREST_CLI_PEM_KEY_H_
