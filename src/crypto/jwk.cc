#include "crypto/jwk.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "base/json.h"

namespace atrest::crypto {
namespace {

// Decodes member `name`; absent -> nullopt, present but bad -> error.
Result<std::optional<Bytes>> Member(const nlohmann::json& jwk,
                                    const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || it->is_null()) return std::optional<Bytes>();
  if (!it->is_string()) {
    return InvalidArgumentError(std::string("JWK member '") + name +
                                "' must be a base64url string");
  }
  Result<Bytes> bytes = Base64UrlDecode(it->get_ref<const std::string&>());
  if (!bytes.ok() || bytes->empty()) {
    return InvalidArgumentError(std::string("JWK member '") + name +
                                "' is not valid base64url");
  }
  return std::optional<Bytes>(std::move(bytes).value());
}

SecretBytes Seal(Bytes& bytes) {
  SecretBytes s = SecretBytes::CopyFrom(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return s;
}

}  // namespace

Result<RsaJwk> ParseRsaJwk(const nlohmann::json& jwk) {
  if (!jwk.is_object()) return InvalidArgumentError("JWK must be an object");
  auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) {
    return InvalidArgumentError("JWK member 'kty' is required");
  }
  RsaJwk out;
  out.kty = kty->get<std::string>();
  if (out.kty != "RSA" && out.kty != "RSA-HSM") {
    return InvalidArgumentError("JWK 'kty' must be RSA or RSA-HSM");
  }
  ASSIGN_OR_RETURN(std::optional<Bytes> n, Member(jwk, "n"));
  ASSIGN_OR_RETURN(std::optional<Bytes> e, Member(jwk, "e"));
  if (!n || !e)
    return InvalidArgumentError("JWK members 'n' and 'e' are required");
  out.n = std::move(*n);
  out.e = std::move(*e);

  static constexpr const char* kPrivate[] = {"d", "p", "q", "dp", "dq", "qi"};
  std::optional<Bytes> parts[6];
  int present = 0;
  for (int i = 0; i < 6; ++i) {
    ASSIGN_OR_RETURN(parts[i], Member(jwk, kPrivate[i]));
    if (parts[i]) ++present;
  }
  if (present != 0 && present != 6) {
    for (auto& p : parts) {
      if (p) OPENSSL_cleanse(p->data(), p->size());
    }
    return InvalidArgumentError(
        "JWK private key needs all of d, p, q, dp, dq and qi");
  }
  if (present == 6) {
    out.private_parts = RsaPrivateComponents{
        .n = out.n,
        .e = out.e,
        .d = Seal(*parts[0]),
        .p = Seal(*parts[1]),
        .q = Seal(*parts[2]),
        .dp = Seal(*parts[3]),
        .dq = Seal(*parts[4]),
        .qi = Seal(*parts[5]),
    };
  }
  return out;
}

Result<RsaJwk> ParseRsaJwkText(std::string_view json_text) {
  Result<nlohmann::json> j = ParseJson(json_text, kRequestJsonLimits);
  if (!j.ok()) return j.status().WithContext("JWK");
  return ParseRsaJwk(*j);
}

Result<RsaPublicKey> RsaJwk::ToPublicKey() const {
  return RsaPublicKey::FromComponents(n, e);
}

Result<RsaPrivateKey> RsaJwk::ToPrivateKey() const {
  if (!private_parts) {
    return FailedPreconditionError("JWK has no private key members");
  }
  return RsaPrivateKey::FromComponents(*private_parts);
}

nlohmann::json PublicKeyToJwk(const RsaPublicKey& key, std::string_view kty) {
  return nlohmann::json{{"kty", std::string(kty)},
                        {"n", Base64UrlEncode(key.modulus())},
                        {"e", Base64UrlEncode(key.public_exponent())}};
}

}  // namespace atrest::crypto
