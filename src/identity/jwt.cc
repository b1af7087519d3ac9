#include "identity/jwt.h"

#include "base/base64.h"
#include "base/json.h"
#include "crypto/digest.h"

namespace atrest::identity {
namespace {

using nlohmann::json;

constexpr std::string_view kTenantPlaceholder = "{tenantid}";

JwtResult Fail(JwtError reason, std::string message) {
  return JwtResult{
      std::nullopt,
      JwtFailure{reason, UnauthenticatedError(std::move(message))}};
}

std::optional<json> DecodeJsonPart(std::string_view part) {
  Result<Bytes> raw = Base64UrlDecode(part);
  if (!raw.ok()) return std::nullopt;
  // Parsed before the signature is checked: bounded like any input.
  Result<json> j = ParseJsonObject(AsString(*raw), kTokenJsonLimits);
  if (!j.ok()) return std::nullopt;
  return std::move(*j);
}

std::optional<int64_t> NumericClaim(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number()) return std::nullopt;
  return it->get<int64_t>();
}

bool AudienceMatches(const json& claims, const std::vector<std::string>& want) {
  auto it = claims.find("aud");
  if (it == claims.end()) return false;
  auto match = [&](const json& v) {
    if (!v.is_string()) return false;
    for (const auto& w : want) {
      if (v.get_ref<const std::string&>() == w) return true;
    }
    return false;
  };
  if (it->is_array()) {
    for (const auto& v : *it) {
      if (match(v)) return true;
    }
    return false;
  }
  return match(*it);
}

}  // namespace

Result<std::string> SignJwt(const json& claims,
                            const crypto::RsaPrivateKey& key,
                            std::string_view kid) {
  json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", std::string(kid)}};
  std::string signing_input = Base64UrlEncode(AsBytes(DumpJson(header))) + "." +
                              Base64UrlEncode(AsBytes(DumpJson(claims)));
  ASSIGN_OR_RETURN(Bytes sig, key.Sign(crypto::RsaSignatureAlgorithm::kRs256,
                                       crypto::Sha256(AsBytes(signing_input))));
  return signing_input + "." + Base64UrlEncode(sig);
}

JwtResult VerifyJwtSignature(std::string_view token, const KeyResolver& keys) {
  const size_t dot1 = token.find('.');
  const size_t dot2 =
      dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos ||
      token.find('.', dot2 + 1) != std::string_view::npos) {
    return Fail(JwtError::kMalformed, "token is not a compact JWS");
  }
  std::optional<json> header = DecodeJsonPart(token.substr(0, dot1));
  std::optional<json> claims =
      DecodeJsonPart(token.substr(dot1 + 1, dot2 - dot1 - 1));
  Result<Bytes> signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!header || !claims || !signature.ok()) {
    return Fail(JwtError::kMalformed, "token is not a compact JWS");
  }
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || *alg != "RS256") {
    return Fail(JwtError::kBadAlgorithm, "token algorithm must be RS256");
  }
  auto kid = header->find("kid");
  if (kid == header->end() || !kid->is_string()) {
    return Fail(JwtError::kUnknownKey, "token has no key id");
  }
  Result<crypto::RsaPublicKey> key =
      keys(kid->get_ref<const std::string&>(), *claims);
  if (!key.ok()) {
    return Fail(JwtError::kUnknownKey, "token signing key is not known");
  }
  Bytes digest = crypto::Sha256(AsBytes(token.substr(0, dot2)));
  if (!key->Verify(crypto::RsaSignatureAlgorithm::kRs256, digest, *signature)
           .ok()) {
    return Fail(JwtError::kBadSignature, "token signature is not valid");
  }
  return JwtResult{std::move(claims), std::nullopt};
}

JwtResult CheckJwtClaims(json claims, const JwtExpectations& expect) {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          expect.now.time_since_epoch())
                          .count();
  const int64_t skew = expect.skew.count();
  std::optional<int64_t> exp = NumericClaim(claims, "exp");
  if (!exp) return Fail(JwtError::kMalformed, "token has no exp claim");
  if (now > *exp + skew) return Fail(JwtError::kExpired, "token has expired");
  std::optional<int64_t> nbf = NumericClaim(claims, "nbf");
  if (nbf && now < *nbf - skew) {
    return Fail(JwtError::kNotYetValid, "token is not valid yet (nbf)");
  }
  std::string issuer = expect.issuer;
  if (size_t at = issuer.find(kTenantPlaceholder); at != std::string::npos) {
    auto tid = claims.find("tid");
    if (tid == claims.end() || !tid->is_string()) {
      return Fail(JwtError::kWrongIssuer, "token has no tid claim");
    }
    issuer.replace(at, kTenantPlaceholder.size(),
                   tid->get_ref<const std::string&>());
  }
  auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() || *iss != issuer) {
    return Fail(JwtError::kWrongIssuer, "token issuer is not " + issuer);
  }
  if (!AudienceMatches(claims, expect.audiences)) {
    return Fail(JwtError::kWrongAudience,
                "token audience is not valid for this resource");
  }
  if (expect.tenant_id) {
    auto tid = claims.find("tid");
    if (tid == claims.end() || !tid->is_string() || *tid != *expect.tenant_id) {
      return Fail(JwtError::kWrongTenant,
                  "token is from another tenant than " + *expect.tenant_id);
    }
  }
  return JwtResult{std::move(claims), std::nullopt};
}

JwtResult VerifyJwt(std::string_view token, const KeyResolver& keys,
                    const JwtExpectations& expect) {
  JwtResult signed_claims = VerifyJwtSignature(token, keys);
  if (!signed_claims.ok()) return signed_claims;
  return CheckJwtClaims(std::move(*signed_claims.claims), expect);
}

}  // namespace atrest::identity
