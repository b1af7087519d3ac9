// IdentityService: atrest's built-in Entra-like identity provider.
//
// It keeps tenants and principals (users, service principals with client
// secrets, managed identities) in the Store, issues RS256 access tokens by
// the OAuth 2.0 client-credentials grant, publishes OpenID discovery and
// JWKS per tenant, and validates tokens for every surface.
//
// Signing keys: each tenant has RSA-2048 signing keys, sealed at rest by a
// key derived from the service root key (AAD = tenant id and kid). A new key
// is made when the newest is older than `signing_key_rotation`; retired keys
// stay in JWKS and keep validating tokens until every token they signed has
// expired.
//
// Errors: InvalidArgument for a malformed request; Unauthenticated for a
// bad credential or token (messages never contain secrets or tokens);
// NotFound for an unknown tenant or principal.
//
// Thread safety: safe for concurrent use.
#ifndef ATREST_IDENTITY_IDENTITY_SERVICE_H_
#define ATREST_IDENTITY_IDENTITY_SERVICE_H_

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/rsa.h"
#include "env/env.h"
#include "identity/jwt.h"
#include "identity/secret_gate.h"
#include "store/model.h"
#include "store/store.h"

namespace atrest::identity {

struct IdentityOptions {
  // Scheme, host and port of the login surface, e.g.
  // "https://login.localhost:8443". Issuers are "<authority>/<tenant>/v2.0".
  std::string authority;
  std::chrono::seconds token_lifetime{3600};
  // Allowed difference between clocks when checking exp and nbf.
  std::chrono::seconds clock_skew{300};
  std::chrono::seconds signing_key_rotation{std::chrono::hours(24 * 30)};
  // The only audiences a managed identity's token is minted for: the key
  // vault audiences (keys::VaultHosts::Audiences()), as the second wall
  // behind the key vault client's own checks. Empty: none.
  std::vector<std::string> managed_identity_audiences;
  // Throttling of the client-credentials grant's secret check.
  SecretGateOptions secret_gate;
};

// A new service principal. `client_secret` is shown once and never stored.
struct ServicePrincipalCredentials {
  std::string tenant_id;
  std::string object_id;
  std::string app_id;
  std::string display_name;
  std::string client_secret;
};

struct AccessToken {
  std::string token;
  int64_t expires_in = 0;  // Seconds.
  int64_t expires_on = 0;  // Unix seconds.
};

// Who made a request, from a validated token.
struct Caller {
  std::string tenant_id;
  std::string object_id;
  std::string app_id;
  std::string audience;
};

class IdentityService {
 public:
  // `signing_key_seal` is the root-key-derived AEAD that seals signing keys.
  IdentityService(store::Store& store, env::Env& env,
                  std::unique_ptr<crypto::Aead> signing_key_seal,
                  IdentityOptions options);

  const IdentityOptions& options() const { return options_; }
  std::string Issuer(const std::string& tenant_id) const;

  Result<store::Tenant> CreateTenant(const std::string& display_name);

  Result<ServicePrincipalCredentials> CreateServicePrincipal(
      const std::string& tenant_id, const std::string& display_name);
  // Adds another secret to a service principal and returns it.
  Result<std::string> AddClientSecret(const std::string& object_id);
  Result<store::Principal> CreateManagedIdentity(
      const std::string& tenant_id, const std::string& resource_id,
      const std::string& display_name);
  // Deletes any principal with its secrets and role assignments.
  Status DeletePrincipal(const std::string& object_id);

  // The client-credentials grant. `scope` must be one "<resource>/.default".
  // The cheap checks come first, in this order: the scope; a secret
  // verified before (no PBKDF2, no throttling); the address's or client's
  // backoff (ClientSecretGate, secret_gate.h; `peer` is the caller's
  // address), before the store is read; a known client with a current
  // secret; a secret no longer than kMaxClientSecretChars. Only then, with
  // a place among the slow checks, PBKDF2. Errors: InvalidArgument
  // "invalid_scope", Unauthenticated "unauthorized_client" (unknown client
  // or tenant) or "invalid_client" (wrong secret), ResourceExhausted
  // "temporarily_unavailable" (too many failures from the address or for the
  // client) or "server_busy" (every slow check slot taken), with the time to
  // wait in `*retry_after` when given.
  Result<AccessToken> ClientCredentials(
      const std::string& tenant_id, const std::string& client_id,
      const std::string& client_secret, const std::string& scope,
      const std::string& peer = "",
      std::chrono::seconds* retry_after = nullptr);
  static constexpr size_t kMaxClientSecretChars = 256;
  // A token for one of atrest's own managed identities (no secret: the
  // caller is the service itself acting for that identity). PermissionDenied
  // with reason "AudienceNotAllowed" for a resource that is not one of
  // options.managed_identity_audiences (a trailing slash aside).
  Result<AccessToken> ManagedIdentityToken(const std::string& object_id,
                                           const std::string& resource);

  nlohmann::json OpenIdConfiguration(const std::string& tenant_id) const;
  Result<nlohmann::json> Jwks(const std::string& tenant_id);

  // Validates a bearer token for one of `audiences`; when `tenant_id` is set
  // the token must be from that tenant. The principal must still exist.
  // Tokens whose signature verified are remembered (in memory only, at most
  // kMaxVerifiedTokens), so a client reusing its token costs a lookup, not
  // an RSA verification; time, issuer, audience, tenant and the principal
  // are still checked on every call.
  Result<Caller> Authenticate(std::string_view token,
                              const std::vector<std::string>& audiences,
                              const std::optional<std::string>& tenant_id);

 private:
  struct LoadedKey {
    std::string kid;
    int64_t not_after = 0;
    std::shared_ptr<const crypto::RsaPrivateKey> key;
  };

  Result<AccessToken> Issue(const store::Principal& principal,
                            const std::string& resource);
  // The tenant's current signing key, made if missing or due for rotation.
  Result<LoadedKey> ActiveKey(const std::string& tenant_id);
  // All of the tenant's keys that may still validate a token.
  Result<std::vector<LoadedKey>> ValidKeys(const std::string& tenant_id);
  Result<LoadedKey> Unseal(const store::SigningKey& row);
  // The token's claims once its signature verifies with a key of the tenant
  // it names.
  Result<std::shared_ptr<const nlohmann::json>> VerifySignature(
      std::string_view token);
  int64_t Now() const;

  store::Store& store_;
  env::Env& env_;
  const std::unique_ptr<crypto::Aead> seal_;
  const IdentityOptions options_;
  ClientSecretGate gate_;

  std::mutex mu_;
  // (tenant, kid) -> unsealed key. Guarded by mu_.
  std::map<std::pair<std::string, std::string>, LoadedKey> cache_;
  // Token -> its verified claims. Guarded by mu_; cleared whole when full.
  static constexpr size_t kMaxVerifiedTokens = 4096;
  std::unordered_map<std::string, std::shared_ptr<const nlohmann::json>>
      verified_;
};

}  // namespace atrest::identity

#endif  // ATREST_IDENTITY_IDENTITY_SERVICE_H_
