// JSON Web Tokens as atrest's identity provider issues them (RFC 7519,
// RS256 only), and the one validator every surface uses.
//
// The validator accepts a token only when: it has three base64url parts;
// its header names alg RS256 (never "none", never HS*, whatever the token
// says) and a kid the key resolver knows; the signature verifies; iss, aud
// and (when required) tid match; and now is within [nbf - skew, exp + skew].
// Each refusal is Unauthenticated with a message saying which check failed,
// never echoing the token.
//
// Thread safety: free functions; the resolver must be safe to call
// concurrently if the validator is.
#ifndef ATREST_IDENTITY_JWT_H_
#define ATREST_IDENTITY_JWT_H_

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crypto/rsa.h"
#include "env/env.h"

namespace atrest::identity {

// Signs `claims` as a compact JWS with header {"alg":"RS256","typ":"JWT",
// "kid": kid}.
Result<std::string> SignJwt(const nlohmann::json& claims,
                            const crypto::RsaPrivateKey& key,
                            std::string_view kid);

// Finds the public key for a kid; NotFound when unknown. `claims` are the
// token's claims before its signature is checked (e.g. to pick the issuing
// tenant's keys by tid); they must not be trusted for anything else.
using KeyResolver = std::function<Result<crypto::RsaPublicKey>(
    std::string_view kid, const nlohmann::json& claims)>;

struct JwtExpectations {
  // The iss claim must equal this, after "{tenantid}" in it is replaced by
  // the token's tid claim (the multi-tenant issuer template Entra uses).
  std::string issuer;
  // The token's aud (a string, or any element of an array) must equal one.
  std::vector<std::string> audiences;
  // When set, the tid claim must equal it.
  std::optional<std::string> tenant_id;
  env::WallTime now;
  std::chrono::seconds skew{std::chrono::minutes(5)};
};

enum class JwtError {
  kMalformed,
  kBadAlgorithm,
  kUnknownKey,
  kBadSignature,
  kExpired,
  kNotYetValid,
  kWrongIssuer,
  kWrongAudience,
  kWrongTenant,
};

struct JwtFailure {
  JwtError reason;
  Status status;  // Unauthenticated, with a message naming the check.
};

// The validated claims, or the failed check.
struct JwtResult {
  std::optional<nlohmann::json> claims;
  std::optional<JwtFailure> failure;
  bool ok() const { return claims.has_value(); }
};

JwtResult VerifyJwt(std::string_view token, const KeyResolver& keys,
                    const JwtExpectations& expect);

// The two halves of VerifyJwt, for a caller that remembers tokens whose
// signature it verified: the structure, algorithm, kid and signature (claims
// returned unchecked), and the time, issuer, audience and tenant checks.
JwtResult VerifyJwtSignature(std::string_view token, const KeyResolver& keys);
JwtResult CheckJwtClaims(nlohmann::json claims, const JwtExpectations& expect);

}  // namespace atrest::identity

#endif  // ATREST_IDENTITY_JWT_H_
