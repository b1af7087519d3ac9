// `atrest keyvault key ...`: the Key Vault keys data plane, named and
// behaving like `az keyvault key` (reference/keyvault-api.md §3), speaking
// api-version 7.5 to https://<vault>.vault.<domain>[:port] with the key vault
// token `atrest login` saved (cli/profile.h), and printing what the service
// returns: the KeyBundle, DeletedKeyBundle or list items.
//
// As in az: delete is a soft delete printing the deleted key bundle; purge
// and backup print nothing; backup writes the blob's bytes to a file and
// refuses to replace one; list and list-versions follow nextLink.
//
// Errors are as in cli/commands.h: the service's code (e.g. "KeyNotFound")
// in Status::reason() and its message; client-side refusals carry no reason.
//
// Thread safety: as cli/commands.h.
#ifndef ATREST_CLI_KEYVAULT_KEY_COMMANDS_H_
#define ATREST_CLI_KEYVAULT_KEY_COMMANDS_H_

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "cli/commands.h"

namespace atrest::cli {

// Which key: --vault-name, --name/-n and --version (empty: the latest).
struct KeyTarget {
  std::string vault_name;
  std::string name;
  std::string version;
};

// The attribute options create, import and set-attributes share. Times are
// ISO 8601 UTC ("2030-01-01T00:00:00Z"), sent as Unix seconds.
struct KeyAttributeOptions {
  std::optional<bool> enabled;  // Unset: the service's default / unchanged.
  std::string expires;          // Empty: none / unchanged.
  std::string not_before;
  std::optional<std::vector<std::string>> ops;   // Set: replaces key_ops.
  std::optional<std::vector<std::string>> tags;  // "key=value"; set: replaces.
};

struct KeyCreateOptions {
  KeyTarget key;
  std::string kty;          // "RSA" or "RSA-HSM"; empty: by protection.
  std::optional<int> size;  // 2048, 3072 or 4096; unset: the service's.
  std::string protection;   // "software" or "hsm"; empty: software.
  KeyAttributeOptions attributes;
};
Status KeyCreate(const CliContext& ctx, const KeyCreateOptions& o);

struct KeyImportOptions {
  KeyTarget key;
  std::string pem_file;    // PKCS#8 or PKCS#1 PEM, unencrypted RSA.
  std::string kty;         // "RSA" or "RSA-HSM"; empty: by protection.
  std::string protection;  // "software" or "hsm"; empty: software.
  KeyAttributeOptions attributes;
};
Status KeyImport(const CliContext& ctx, const KeyImportOptions& o);

Status KeyShow(const CliContext& ctx, const KeyTarget& key);
// Every key of the vault (items without versions).
Status KeyList(const CliContext& ctx, const std::string& vault_name);
Status KeyListVersions(const CliContext& ctx, const KeyTarget& key);
Status KeySetAttributes(const CliContext& ctx, const KeyTarget& key,
                        const KeyAttributeOptions& o);
Status KeyDelete(const CliContext& ctx, const KeyTarget& key);
Status KeyRecover(const CliContext& ctx, const KeyTarget& key);
Status KeyPurge(const CliContext& ctx, const KeyTarget& key);
Status KeyRotate(const CliContext& ctx, const KeyTarget& key);
// Writes the backup blob to `file`; FailedPrecondition when it exists.
Status KeyBackup(const CliContext& ctx, const KeyTarget& key,
                 const std::string& file);
// Restores the key(s) of a blob `file` written by KeyBackup.
Status KeyRestore(const CliContext& ctx, const std::string& vault_name,
                  const std::string& file);

}  // namespace atrest::cli

#endif  // ATREST_CLI_KEYVAULT_KEY_COMMANDS_H_
