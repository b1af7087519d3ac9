#include "identity/identity_service.h"

#include <algorithm>

#include "base/base64.h"
#include "crypto/jwk.h"
#include "crypto/random.h"
#include "crypto/secret_hash.h"

namespace atrest::identity {
namespace {

using nlohmann::json;

constexpr std::string_view kDefaultSuffix = "/.default";

std::string NewClientSecret() {
  uint8_t raw[32];
  crypto::RandomBytes(raw);
  return Base64UrlEncode(raw);
}

}  // namespace

IdentityService::IdentityService(store::Store& store, env::Env& env,
                                 std::unique_ptr<crypto::Aead> signing_key_seal,
                                 IdentityOptions options)
    : store_(store),
      env_(env),
      seal_(std::move(signing_key_seal)),
      options_(std::move(options)),
      gate_(env_.clock(), options_.secret_gate) {}

int64_t IdentityService::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             env_.clock().Now().time_since_epoch())
      .count();
}

std::string IdentityService::Issuer(const std::string& tenant_id) const {
  return options_.authority + "/" + tenant_id + "/v2.0";
}

Result<store::Tenant> IdentityService::CreateTenant(
    const std::string& display_name) {
  store::Tenant t{.id = env_.random().NewUuid(),
                  .display_name = display_name,
                  .created_at = Now()};
  RETURN_IF_ERROR(store_.Transact(
      [&](store::Transaction& tx) { return tx.tenants().Create(t); }));
  return t;
}

Result<ServicePrincipalCredentials> IdentityService::CreateServicePrincipal(
    const std::string& tenant_id, const std::string& display_name) {
  ServicePrincipalCredentials creds{.tenant_id = tenant_id,
                                    .object_id = env_.random().NewUuid(),
                                    .app_id = env_.random().NewUuid(),
                                    .display_name = display_name,
                                    .client_secret = NewClientSecret()};
  ASSIGN_OR_RETURN(std::string hash, crypto::HashSecret(creds.client_secret));
  const int64_t now = Now();
  store::Principal p{.object_id = creds.object_id,
                     .tenant_id = tenant_id,
                     .kind = store::PrincipalKind::kServicePrincipal,
                     .display_name = display_name,
                     .app_id = creds.app_id,
                     .created_at = now};
  RETURN_IF_ERROR(store_.Transact([&](store::Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.principals().Create(p));
    return tx.principals().AddSecret(
        {.principal_id = p.object_id,
         .key_id = env_.random().NewUuid(),
         .secret_hash = hash,
         .not_before = now,
         .expires_at = now + int64_t{2} * 365 * 24 * 3600});
  }));
  return creds;
}

Result<std::string> IdentityService::AddClientSecret(
    const std::string& object_id) {
  std::string secret = NewClientSecret();
  ASSIGN_OR_RETURN(std::string hash, crypto::HashSecret(secret));
  const int64_t now = Now();
  RETURN_IF_ERROR(store_.Transact([&](store::Transaction& tx) -> Status {
    return tx.principals().AddSecret(
        {.principal_id = object_id,
         .key_id = env_.random().NewUuid(),
         .secret_hash = hash,
         .not_before = now,
         .expires_at = now + int64_t{2} * 365 * 24 * 3600});
  }));
  return secret;
}

Result<store::Principal> IdentityService::CreateManagedIdentity(
    const std::string& tenant_id, const std::string& resource_id,
    const std::string& display_name) {
  store::Principal p{.object_id = env_.random().NewUuid(),
                     .tenant_id = tenant_id,
                     .kind = store::PrincipalKind::kManagedIdentity,
                     .display_name = display_name,
                     .resource_id = resource_id,
                     .created_at = Now()};
  RETURN_IF_ERROR(store_.Transact(
      [&](store::Transaction& tx) { return tx.principals().Create(p); }));
  return p;
}

Status IdentityService::DeletePrincipal(const std::string& object_id) {
  return store_.Transact([&](store::Transaction& tx) {
    return tx.principals().Delete(object_id);
  });
}

Result<AccessToken> IdentityService::ClientCredentials(
    const std::string& tenant_id, const std::string& client_id,
    const std::string& client_secret, const std::string& scope,
    const std::string& peer, std::chrono::seconds* retry_after) {
  // One "<resource>/.default" scope, as the client-credentials grant needs.
  std::string resource;
  if (scope.size() > kDefaultSuffix.size() &&
      scope.find(' ') == std::string::npos && scope.ends_with(kDefaultSuffix)) {
    resource = scope.substr(0, scope.size() - kDefaultSuffix.size());
  } else {
    return Status(StatusCode::kInvalidArgument,
                  "scope must be a single '<resource>/.default' for the "
                  "client_credentials grant",
                  "invalid_scope");
  }
  // An address or client in backoff is refused before anything else is
  // done for it, unless its secret matched before (checked below).
  const std::string client = tenant_id + "/" + client_id;
  std::optional<std::string> remembered =
      gate_.Remembered(client, client_secret);
  // `busy`: every slow-check place is taken; else the caller is in backoff.
  auto throttled = [&](bool busy, std::chrono::seconds wait) -> Status {
    if (retry_after != nullptr) *retry_after = wait;
    const std::string s = std::to_string(wait.count());
    if (busy) {
      return Status(StatusCode::kResourceExhausted,
                    "too many client secrets are being checked at once; "
                    "retry in " +
                        s + " s",
                    "server_busy");
    }
    return Status(StatusCode::kResourceExhausted,
                  "too many wrong client secrets from this address or for "
                  "this client; retry in " +
                      s + " s",
                  "temporarily_unavailable");
  };
  if (!remembered) {
    if (std::optional<std::chrono::seconds> wait =
            gate_.Backoff(client, peer)) {
      return throttled(/*busy=*/false, *wait);
    }
  }
  const int64_t now = Now();
  struct Found {
    store::Principal principal;
    std::vector<store::ClientSecret> secrets;
  };
  Result<Found> found =
      store_.ReadResult([&](store::Transaction& tx) -> Result<Found> {
        ASSIGN_OR_RETURN(
            store::Principal p,
            tx.principals().FindServicePrincipalByAppId(tenant_id, client_id));
        ASSIGN_OR_RETURN(auto secrets,
                         tx.principals().ListSecrets(p.object_id));
        return Found{std::move(p), std::move(secrets)};
      });
  if (!found.ok()) {
    if (found.status().code() == StatusCode::kNotFound) {
      return Status(
          StatusCode::kUnauthenticated,
          "application " + client_id + " was not found in tenant " + tenant_id,
          "unauthorized_client");
    }
    return found.status();
  }
  const Status wrong(StatusCode::kUnauthenticated,
                     "invalid client secret provided for " + client_id,
                     "invalid_client");
  std::vector<const store::ClientSecret*> current;
  for (const store::ClientSecret& s : found->secrets) {
    if (now >= s.not_before && now <= s.expires_at) current.push_back(&s);
  }
  // A secret that matched before: no slow check, no throttling.
  if (remembered &&
      std::any_of(current.begin(), current.end(),
                  [&](const auto* s) { return s->key_id == *remembered; })) {
    return Issue(found->principal, resource);
  }
  if (current.empty() || client_secret.size() > kMaxClientSecretChars) {
    gate_.Failed(client, peer);  // Wrong without a slow check.
    return wrong;
  }
  using Kind = ClientSecretGate::Outcome::Kind;
  ClientSecretGate::Outcome checked = gate_.Check(
      client, client_secret, peer, [&]() -> std::optional<std::string> {
        for (const store::ClientSecret* s : current) {
          if (crypto::VerifySecret(client_secret, s->secret_hash)) {
            return s->key_id;
          }
        }
        return std::nullopt;
      });
  switch (checked.kind) {
    case Kind::kMatched:
      return Issue(found->principal, resource);
    case Kind::kBackoff:
    case Kind::kBusy:
      return throttled(checked.kind == Kind::kBusy, checked.retry_after);
    case Kind::kWrong:
      break;
  }
  return wrong;
}

Result<AccessToken> IdentityService::ManagedIdentityToken(
    const std::string& object_id, const std::string& resource) {
  ASSIGN_OR_RETURN(store::Principal p,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.principals().Get(object_id);
                   }));
  if (p.kind != store::PrincipalKind::kManagedIdentity) {
    return InvalidArgumentError(object_id + " is not a managed identity");
  }
  std::string_view audience = resource;
  if (!audience.empty() && audience.back() == '/') audience.remove_suffix(1);
  const std::vector<std::string>& allowed = options_.managed_identity_audiences;
  if (audience.empty() ||
      std::find(allowed.begin(), allowed.end(), audience) == allowed.end()) {
    return Status(StatusCode::kPermissionDenied,
                  "a managed identity's token is minted only for a key vault "
                  "audience, not for '" +
                      resource + "'",
                  "AudienceNotAllowed");
  }
  return Issue(p, std::string(audience));
}

Result<AccessToken> IdentityService::Issue(const store::Principal& principal,
                                           const std::string& resource) {
  ASSIGN_OR_RETURN(LoadedKey key, ActiveKey(principal.tenant_id));
  const int64_t now = Now();
  const int64_t exp = now + options_.token_lifetime.count();
  const std::string app_id =
      principal.app_id.empty() ? principal.object_id : principal.app_id;
  json claims = {{"aud", resource},
                 {"iss", Issuer(principal.tenant_id)},
                 {"iat", now},
                 {"nbf", now},
                 {"exp", exp},
                 {"tid", principal.tenant_id},
                 {"oid", principal.object_id},
                 {"sub", principal.object_id},
                 {"appid", app_id},
                 {"azp", app_id},
                 {"idtyp", "app"},
                 {"ver", "2.0"},
                 {"uti", env_.random().NewUuid()}};
  ASSIGN_OR_RETURN(std::string token, SignJwt(claims, *key.key, key.kid));
  return AccessToken{.token = std::move(token),
                     .expires_in = options_.token_lifetime.count(),
                     .expires_on = exp};
}

json IdentityService::OpenIdConfiguration(const std::string& tenant_id) const {
  const std::string base = options_.authority + "/" + tenant_id;
  return {{"issuer", Issuer(tenant_id)},
          {"authorization_endpoint", base + "/oauth2/v2.0/authorize"},
          {"token_endpoint", base + "/oauth2/v2.0/token"},
          {"jwks_uri", base + "/discovery/v2.0/keys"},
          {"token_endpoint_auth_methods_supported",
           json::array({"client_secret_post"})},
          {"response_types_supported", json::array({"token"})},
          {"id_token_signing_alg_values_supported", json::array({"RS256"})},
          {"subject_types_supported", json::array({"pairwise"})},
          {"scopes_supported", json::array({"openid"})},
          {"grant_types_supported", json::array({"client_credentials"})},
          {"tenant_region_scope", nullptr},
          {"cloud_instance_name", "atrest"}};
}

Result<json> IdentityService::Jwks(const std::string& tenant_id) {
  // Publish a key before the first token is asked for, so that a client
  // that reads JWKS first finds the key that will sign.
  RETURN_IF_ERROR(store_.Read([&](store::Transaction& tx) {
    return tx.tenants().Get(tenant_id).status();
  }));
  RETURN_IF_ERROR(ActiveKey(tenant_id).status());
  ASSIGN_OR_RETURN(std::vector<LoadedKey> keys, ValidKeys(tenant_id));
  json out = json::array();
  for (const LoadedKey& k : keys) {
    json jwk = crypto::PublicKeyToJwk(k.key->PublicKey(), "RSA");
    jwk["kid"] = k.kid;
    jwk["use"] = "sig";
    jwk["alg"] = "RS256";
    out.push_back(std::move(jwk));
  }
  return json{{"keys", std::move(out)}};
}

Result<std::shared_ptr<const json>> IdentityService::VerifySignature(
    std::string_view token) {
  // The kid names the key; the tenant comes from the (not yet verified)
  // tid claim, and is checked again once the signature verifies.
  KeyResolver resolve =
      [&](std::string_view kid,
          const json& claims) -> Result<crypto::RsaPublicKey> {
    auto tid = claims.find("tid");
    if (tid == claims.end() || !tid->is_string()) {
      return NotFoundError("no tenant");
    }
    ASSIGN_OR_RETURN(std::vector<LoadedKey> keys,
                     ValidKeys(tid->get_ref<const std::string&>()));
    for (const LoadedKey& k : keys) {
      if (k.kid == kid) return k.key->PublicKey();
    }
    return NotFoundError("unknown kid");
  };
  JwtResult r = VerifyJwtSignature(token, resolve);
  if (!r.ok()) return r.failure->status;
  return std::make_shared<const json>(std::move(*r.claims));
}

Result<Caller> IdentityService::Authenticate(
    std::string_view token_view, const std::vector<std::string>& audiences,
    const std::optional<std::string>& tenant_id) {
  const std::string token(token_view);
  std::shared_ptr<const json> verified;
  {
    std::lock_guard lock(mu_);
    if (auto it = verified_.find(token); it != verified_.end()) {
      verified = it->second;
    }
  }
  if (!verified) {
    ASSIGN_OR_RETURN(verified, VerifySignature(token));
    std::lock_guard lock(mu_);
    if (verified_.size() >= kMaxVerifiedTokens) verified_.clear();
    verified_.emplace(token, verified);
  }
  JwtResult r = CheckJwtClaims(
      *verified, {.issuer = options_.authority + "/{tenantid}/v2.0",
                  .audiences = audiences,
                  .tenant_id = tenant_id,
                  .now = env_.clock().Now(),
                  .skew = options_.clock_skew});
  if (!r.ok()) return r.failure->status;
  const json& c = *r.claims;
  Caller caller{.tenant_id = c.value("tid", ""),
                .object_id = c.value("oid", ""),
                .app_id = c.value("appid", ""),
                .audience = c["aud"].is_string() ? c["aud"].get<std::string>()
                                                 : audiences.front()};
  // A deleted principal's tokens stop working at once (a disabled managed
  // identity must lose access to keys immediately).
  Result<store::Principal> p = store_.ReadResult([&](store::Transaction& tx) {
    return tx.principals().Get(caller.object_id);
  });
  if (!p.ok() || p->tenant_id != caller.tenant_id) {
    return UnauthenticatedError("the token's principal no longer exists");
  }
  return caller;
}

}  // namespace atrest::identity
