// KeyVaultClient: the key hierarchy's client of a key vault (DESIGN.md §3),
// speaking the Azure Key Vault keys REST API (reference/keyvault-api.md §3)
// over HTTPS with a bearer token, exactly as to a real Azure Key Vault. The
// built-in vault is reached through this same path, so its access policies,
// firewall and key attributes apply to atrest's own calls.
//
// Only vaults that VaultHosts allows are called (keys/vault_hosts.h): a
// vault URI outside the allowed suffixes and ports is refused with reason
// "KeyVaultUriInvalid" before anything is sent, on every call, so a
// reference stored before a suffix was removed stops working too.
//
// Authentication follows Key Vault's challenge: an unauthenticated request
// returns 401 with `WWW-Authenticate: Bearer authorization="<login>/<tenant>",
// resource="<resource>"`. The resource must be the Key Vault audience of the
// vault's suffix (else reason "KeyVaultChallengeResourceMismatch", and no
// token is asked for); the client then asks its TokenSource for a token of
// that tenant and audience and repeats the request with it.
//
// Errors keep Key Vault's codes in Status::reason() as "code" or
// "code/innererror" ("Forbidden/ForbiddenByPolicy", "KeyNotFound"), with
// the vault's message. Every transport failure (DNS, connect, TLS
// handshake or certificate, I/O, timeout) is Unavailable with reason
// "KeyVaultUnreachable" and one message that names neither the port nor
// the cause, so the field cannot probe what listens where. Wrapped and
// unwrapped key bytes never appear in messages.
//
// Thread safety: safe for concurrent use; each call is one or two blocking
// HTTPS requests.
#ifndef ATREST_KEYS_KEYVAULT_CLIENT_H_
#define ATREST_KEYS_KEYVAULT_CLIENT_H_

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/secret_bytes.h"
#include "keys/vault_hosts.h"
#include "net/https_client.h"

namespace atrest::keys {

// A key named by vault, name and (optionally) version, as in a key
// identifier "https://<vault>/keys/<name>[/<version>]".
struct VaultKeyId {
  std::string vault_uri;  // "https://host[:port]", no trailing slash.
  std::string name;
  std::string version;  // Empty: the current version.

  // Parses a key identifier. InvalidArgument with reason
  // "KeyVaultUriInvalid" for anything else (other schemes, paths, query).
  static Result<VaultKeyId> Parse(std::string_view key_uri);
  // Normalises a vault URI ("https://Vault.example/" ->
  // "https://vault.example").
  static Result<std::string> NormalizeVaultUri(std::string_view vault_uri);
  std::string ToString() const;  // The key identifier.
};

// What GET /keys/{name}[/{version}] says of a key version.
struct VaultKeyInfo {
  VaultKeyId id;  // With the version filled in.
  std::string kty;
  int key_bits = 0;  // From the modulus.
  std::vector<std::string> key_ops;
  bool enabled = true;
  std::optional<int64_t> not_before;
  std::optional<int64_t> expires;
  std::string recovery_level;
};

// Who the vault says it belongs to, from its challenge.
struct VaultChallenge {
  std::string tenant_id;
  std::string resource;  // The token audience the vault wants.
};

// Parsers of what a vault answers (untrusted input; fuzzed). Errors are
// Unavailable with reason "KeyVaultUnreachable".
// The tenant and resource of a `WWW-Authenticate: Bearer ...` challenge.
Result<VaultChallenge> ParseChallenge(std::string_view header);
// A key bundle (GET /keys/{name}[/{version}]).
Result<VaultKeyInfo> ParseKeyBundle(std::string_view body);

class KeyVaultClient {
 public:
  // Returns a bearer token for `tenant_id` and `resource`, which is always
  // one of VaultHosts::Audiences().
  using TokenSource = std::function<Result<std::string>(
      const std::string& tenant_id, const std::string& resource)>;

  // Calls only the vaults `hosts` allows. Answers larger than 1 MiB fail
  // (a key bundle is a few KiB), whatever `options` says.
  KeyVaultClient(net::HttpsOptions options, VaultHosts hosts);

  const VaultHosts& hosts() const { return hosts_; }

  // The vault's challenge, with `resource` the audience to ask a token for
  // (cached per vault once seen and verified, and asked for again when the
  // vault refuses a token made for it).
  // `refresh`: ask the vault even when a challenge is remembered.
  Result<VaultChallenge> Challenge(const std::string& vault_uri,
                                   bool refresh = false);

  Result<VaultKeyInfo> GetKey(const VaultKeyId& id, const TokenSource& tokens);
  // RSA-OAEP-256 wrap; returns the version that wrapped and the bytes.
  Result<std::pair<std::string, Bytes>> WrapKey(const VaultKeyId& id,
                                                const crypto::SecretBytes& key,
                                                const TokenSource& tokens);
  Result<crypto::SecretBytes> UnwrapKey(const VaultKeyId& id, ByteView wrapped,
                                        const TokenSource& tokens);

  static constexpr const char* kApiVersion = "7.4";
  static constexpr const char* kAlgorithm = "RSA-OAEP-256";

 private:
  // One request to an allowed vault; transport failures as described
  // above.
  Result<net::HttpsResponse> Send(const std::string& method,
                                  const std::string& url,
                                  const std::string& body,
                                  const std::string& token);
  // Sends with a token for the vault, answering a first challenge.
  Result<std::string> Call(const VaultKeyId& id, const std::string& method,
                           const std::string& path, const std::string& body,
                           const TokenSource& tokens);

  const VaultHosts hosts_;
  // Made once: loading the system's CAs costs more than a request.
  const Result<std::unique_ptr<net::HttpsClient>> https_;
  std::mutex mu_;
  std::map<std::string, VaultChallenge> challenges_;  // Guarded by mu_.
};

}  // namespace atrest::keys

#endif  // ATREST_KEYS_KEYVAULT_CLIENT_H_
