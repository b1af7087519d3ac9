// VaultHosts: the key vault hosts atrest may call with an identity's token,
// and the one token audience each may ask for (DESIGN.md §7: an identity's
// token is minted only for the audience it needs and sent only to hosts
// that serve that audience).
//
// A vault URI is allowed when it is "https://<name>.<suffix>[:<port>][/]"
// with
//  - <name> one DNS label (letters, digits and dashes, 1-63 characters, not
//    starting or ending with a dash): Key Vault's "<vault>.vault.azure.net";
//  - <suffix> the built-in vault's ("vault.<domain>", at the server's own
//    port) or one of the configured suffixes, each served at port 443 unless
//    its entry names a port ("vault.test.localhost:4443");
//  - the port, if any, that of the suffix;
//  - no user info, IP literal, path, query or fragment.
// Anything else is InvalidArgument with reason "KeyVaultUriInvalid" and a
// message saying which part is wrong; nothing is sent to such a host.
//
// The audience of a suffix is "https://<suffix>" (for a suffix served at
// another port than 443, "https://<suffix>:<port>" too, as the built-in
// vault's challenge names it). A vault's challenge must name exactly that
// audience (a trailing slash aside), which is the Azure SDKs' challenge
// resource verification (the vault's host ends in "." + the resource's host)
// made strict: never a parent domain, never another suffix, never another
// surface (management, login). Anything else is PermissionDenied with reason
// "KeyVaultChallengeResourceMismatch", and no token is asked for.
//
// Thread safety: immutable after Create; safe for concurrent use.
#ifndef ATREST_KEYS_VAULT_HOSTS_H_
#define ATREST_KEYS_VAULT_HOSTS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace atrest::keys {

// Azure's public Key Vault suffixes (public cloud, China, US Government,
// Germany): the default of accounts.vault_suffixes.
inline constexpr std::string_view kAzureVaultSuffixes =
    "vault.azure.net,vault.azure.cn,vault.usgovcloudapi.net,"
    "vault.microsoftazure.de";

// One allowed suffix: vault hosts are "<name>.<host>", served at `port`.
struct VaultSuffix {
  std::string host;  // Lower case, e.g. "vault.azure.net".
  uint16_t port = 443;

  // "host" or "host:port" when the port is not 443.
  std::string ToString() const;
  friend bool operator==(const VaultSuffix&, const VaultSuffix&) = default;
};

// Parses a list of suffixes separated by commas or spaces ("vault.azure.net,
// vault.test.localhost:4443"); empty entries are skipped, so "" is the empty
// list. InvalidArgument naming the bad entry: not a DNS name of at least two
// labels, an IP address, or a port outside 1-65535.
Result<std::vector<VaultSuffix>> ParseVaultSuffixes(std::string_view text);

// An allowed vault, as VaultHosts::Check found it.
struct VaultEndpoint {
  std::string uri;  // Normal form: "https://<host>[:<port>]", no slash.
  std::string host;
  uint16_t port = 443;
  std::string name;      // The vault's label: "kv1".
  VaultSuffix suffix;    // The suffix it is under.
  bool builtin = false;  // Under the built-in vault's suffix.
};

class VaultHosts {
 public:
  // Allows no vault at all.
  VaultHosts() = default;

  // `builtin`: the built-in vault's suffix and port (an empty host: no
  // built-in vault); `allowed`: the configured suffixes. InvalidArgument
  // for a suffix that ParseVaultSuffixes would refuse.
  static Result<VaultHosts> Create(VaultSuffix builtin,
                                   std::vector<VaultSuffix> allowed);

  // Checks a vault URI against the rules above.
  Result<VaultEndpoint> Check(std::string_view vault_uri) const;

  // The audience to ask a token for when `vault`'s challenge names
  // `resource`; KeyVaultChallengeResourceMismatch unless `resource` is the
  // audience of the vault's suffix.
  Result<std::string> ChallengeAudience(const VaultEndpoint& vault,
                                        std::string_view resource) const;

  // Every audience a vault allowed here may ask for (with and without the
  // port): the only audiences a managed identity's token may be minted for.
  std::vector<std::string> Audiences() const;

  // "vault.localhost:8443, vault.azure.net, ...": for messages.
  std::string Describe() const;

 private:
  VaultHosts(VaultSuffix builtin, std::vector<VaultSuffix> allowed)
      : builtin_(std::move(builtin)), allowed_(std::move(allowed)) {}

  VaultSuffix builtin_;
  std::vector<VaultSuffix> allowed_;
};

}  // namespace atrest::keys

#endif  // ATREST_KEYS_VAULT_HOSTS_H_
