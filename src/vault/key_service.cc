// VaultService: the keys data plane (reference/keyvault-api.md §3).
#include <algorithm>
#include <cctype>
#include <cstring>

#include "base/base64.h"
#include "base/bytes.h"
#include "base/json.h"
#include "crypto/random.h"
#include "resources/roles.h"
#include "vault/vault_impl.h"

namespace atrest::vault {

using nlohmann::json;

namespace {

using Family = KeyPermissionFamily;

// Access policy permissions (lower case) per operation, and the RBAC data
// action Azure names for it.
const Permission kGet{"get", "Microsoft.KeyVault/vaults/keys/read",
                      Family::kRead};
const Permission kList{"list", "Microsoft.KeyVault/vaults/keys/read",
                       Family::kRead};
const Permission kCreate{
    "create", "Microsoft.KeyVault/vaults/keys/create/action", Family::kManage};
const Permission kImport{
    "import", "Microsoft.KeyVault/vaults/keys/import/action", Family::kManage};
const Permission kUpdate{"update", "Microsoft.KeyVault/vaults/keys/write",
                         Family::kManage};
const Permission kDelete{"delete", "Microsoft.KeyVault/vaults/keys/delete",
                         Family::kManage};
const Permission kRecover{"recover",
                          "Microsoft.KeyVault/vaults/keys/recover/action",
                          Family::kManage};
const Permission kPurge{"purge", "Microsoft.KeyVault/vaults/deletedKeys/delete",
                        Family::kManage};
const Permission kBackup{
    "backup", "Microsoft.KeyVault/vaults/keys/backup/action", Family::kManage};
const Permission kRestore{"restore",
                          "Microsoft.KeyVault/vaults/keys/restore/action",
                          Family::kManage};
const Permission kRotate{
    "rotate", "Microsoft.KeyVault/vaults/keys/rotate/action", Family::kManage};
const Permission kGetPolicy{
    "getrotationpolicy", "Microsoft.KeyVault/vaults/keys/rotationpolicy/read",
    Family::kRead};
const Permission kSetPolicy{
    "setrotationpolicy", "Microsoft.KeyVault/vaults/keys/rotationpolicy/write",
    Family::kManage};
const Permission kEncrypt{"encrypt",
                          "Microsoft.KeyVault/vaults/keys/encrypt/action",
                          Family::kCrypto};
const Permission kDecrypt{"decrypt",
                          "Microsoft.KeyVault/vaults/keys/decrypt/action",
                          Family::kCrypto};
const Permission kWrap{"wrapkey", "Microsoft.KeyVault/vaults/keys/wrap/action",
                       Family::kCrypto};
const Permission kUnwrap{"unwrapkey",
                         "Microsoft.KeyVault/vaults/keys/unwrap/action",
                         Family::kCrypto};
const Permission kSign{"sign", "Microsoft.KeyVault/vaults/keys/sign/action",
                       Family::kCrypto};
const Permission kVerify{
    "verify", "Microsoft.KeyVault/vaults/keys/verify/action", Family::kCrypto};
// Random bytes need no key permission, only a caller of the vault's tenant.
const Permission kAnyCaller{"", "", Family::kRead};

// The older permission names the real service also accepts for rotation
// policies (reference/keyvault-api.md §3.9: which one it checks is unknown,
// so either is enough).
const char* AlternativePermission(const Permission& p) {
  if (&p == &kGetPolicy) return "get";
  if (&p == &kSetPolicy) return "update";
  return nullptr;
}

// How Azure spells a permission in its messages.
std::string PermissionDisplay(const Permission& p) {
  std::string n = p.name;
  if (n == "wrapkey") return "wrapKey";
  if (n == "unwrapkey") return "unwrapKey";
  return n;
}

bool ContainsIgnoreCase(const std::vector<std::string>& list,
                        std::string_view value) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& s) { return Lower(s) == value; });
}

std::string CallerText(const identity::Caller& c) {
  return "appid=" + c.app_id + ";oid=" + c.object_id +
         ";iss=https://sts.windows.net/" + c.tenant_id + "/";
}

std::string VaultText(const store::Vault& v) {
  return v.name + ";location=" + v.location;
}

// IPv4 in host order; nullopt for anything else. Accepts "::ffff:a.b.c.d".
std::optional<uint32_t> ParseIpv4(std::string_view ip) {
  if (ip.starts_with("::ffff:")) ip.remove_prefix(7);
  uint32_t out = 0;
  int parts = 0;
  size_t start = 0;
  while (start <= ip.size()) {
    size_t dot = ip.find('.', start);
    std::string_view part =
        ip.substr(start, dot == std::string_view::npos ? std::string_view::npos
                                                       : dot - start);
    if (part.empty() || part.size() > 3) return std::nullopt;
    int value = 0;
    for (char c : part) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      value = value * 10 + (c - '0');
    }
    if (value > 255) return std::nullopt;
    out = (out << 8) | static_cast<uint32_t>(value);
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts != 4) return std::nullopt;
  return out;
}

bool IpMatches(const std::string& client_ip, const std::string& rule) {
  std::optional<uint32_t> ip = ParseIpv4(client_ip);
  size_t slash = rule.find('/');
  std::optional<uint32_t> net = ParseIpv4(rule.substr(0, slash));
  if (!ip || !net) return false;
  int bits =
      slash == std::string::npos ? 32 : std::stoi(rule.substr(slash + 1));
  if (bits == 0) return true;
  uint32_t mask = bits >= 32 ? 0xffffffffu : ~((1u << (32 - bits)) - 1);
  return (*ip & mask) == (*net & mask);
}

Status KeyNotFound(const std::string& name) {
  return KvError(StatusCode::kNotFound, "KeyNotFound",
                 "A key with (name/id) " + name +
                     " was not found in this key vault. If you recently "
                     "deleted this key you may be able to recover it using "
                     "the correct recovery command. For help resolving this "
                     "issue, please see "
                     "https://go.microsoft.com/fwlink/?linkid=2125182");
}

Status DeletedKeyNotFound(const std::string& name) {
  return KvError(StatusCode::kNotFound, "KeyNotFound",
                 "Deleted Key not found: " + name);
}

Status BadParameter(std::string message) {
  return KvError(StatusCode::kInvalidArgument, "BadParameter",
                 std::move(message));
}

Status DeletedButRecoverable(const std::string& name) {
  return KvError(StatusCode::kAlreadyExists,
                 "Conflict/ObjectIsDeletedButRecoverable",
                 "Key " + name +
                     " is currently in a deleted but recoverable state, and "
                     "its name cannot be reused; in this state, the key can "
                     "only be recovered or purged.");
}

bool ValidKeyName(const std::string& name) {
  return !name.empty() && name.size() <= 127 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
         });
}

int AuditStatus(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kInsufficientStorage:
      return 507;
    default:
      return 500;
  }
}

// Set by Begin() once it has authorized the caller of the call that
// Audited() runs on this thread. A call that fails without it came from a
// caller the vault did not (or did not yet) accept: another tenant's token,
// the firewall, no policy or role, or input refused before authorization.
// Such records are rate-limited (audit_writer.h); an authorized caller's
// are not.
thread_local bool t_caller_authorized = false;

std::string AuditResult(const Status& s) {
  if (s.ok()) return "Success";
  std::string reason = s.reason();
  if (size_t slash = reason.find('/'); slash != std::string::npos) {
    return reason.substr(slash + 1);
  }
  return reason.empty() ? std::string(StatusCodeName(s.code())) : reason;
}

Bytes SealAad(const std::string& vault, const std::string& name,
              const std::string& version) {
  return ToBytes(KeyCacheId(vault, name, version));
}

// Refusals for a key operation on a version whose state forbids it.
Status CheckUsable(const KeyAttributes& a, const std::string& op, int64_t now) {
  if (!a.enabled) {
    return KvError(StatusCode::kPermissionDenied, "Forbidden/KeyDisabled",
                   "Operation " + op + " is not allowed on a disabled key.");
  }
  if (a.not_before && now < *a.not_before) {
    return KvError(
        StatusCode::kPermissionDenied, "Forbidden/KeyNotYetValid",
        "Operation " + op + " is not allowed: the key is not valid yet (nbf).");
  }
  if (a.expires && now >= *a.expires) {
    return KvError(
        StatusCode::kPermissionDenied, "Forbidden/KeyExpired",
        "Operation " + op + " is not allowed: the key has expired (exp).");
  }
  if (!ContainsIgnoreCase(a.key_ops, Lower(op))) {
    return KvError(StatusCode::kPermissionDenied,
                   "Forbidden/KeyOperationForbidden",
                   "Operation " + op + " is not allowed by the key's key_ops.");
  }
  return Status::Ok();
}

// An RSA-HSM key used (or made) on a server that has no token, e.g. after
// SoftHSM2 was uninstalled.
Status NoHsmToken() {
  return KvError(StatusCode::kFailedPrecondition, "BadParameter",
                 "This server has no HSM token configured.");
}

constexpr std::string_view kBackupMagic = "atrest-key-backup-v1\n";

}  // namespace

// ---- Authorization ----

Result<VaultContext> VaultService::Impl::Begin(const DataCaller& caller,
                                               const std::string& vault,
                                               const Permission& permission) {
  Result<store::Vault> row = store_.ReadResult(
      [&](store::Transaction& tx) { return tx.vaults().Get(vault); });
  if (!row.ok() && row.status().code() != StatusCode::kNotFound) {
    return row.status();
  }
  if (!row.ok() || row->deleted_at != 0) {
    return KvError(StatusCode::kNotFound, "VaultNotFound",
                   "The vault '" + vault + "' was not found.");
  }
  ASSIGN_OR_RETURN(VaultProperties properties, Properties(*row));
  VaultContext ctx{std::move(*row), std::move(properties)};
  const identity::Caller& who = caller.identity;
  if (who.tenant_id != ctx.row.tenant_id) {
    return KvError(StatusCode::kUnauthenticated, "Unauthorized",
                   "AKV10032: Invalid issuer. Expected one of "
                   "https://sts.windows.net/" +
                       ctx.row.tenant_id + "/, found https://sts.windows.net/" +
                       who.tenant_id + "/.");
  }

  // The firewall (reference/keyvault-api.md §6.4).
  const VaultProperties& p = ctx.properties;
  const bool public_off = p.public_network_access == "Disabled";
  if (public_off || p.network_acls.default_action == "Deny") {
    bool allowed = false;
    if (p.network_acls.bypass == "AzureServices") {
      // atrest's own services call with their managed identities: they are
      // the trusted services; they still need a policy below.
      Result<store::Principal> principal =
          store_.ReadResult([&](store::Transaction& tx) {
            return tx.principals().Get(who.object_id);
          });
      allowed = principal.ok() &&
                principal->kind == store::PrincipalKind::kManagedIdentity;
    }
    if (!allowed && !public_off) {
      allowed = std::any_of(
          p.network_acls.ip_rules.begin(), p.network_acls.ip_rules.end(),
          [&](const std::string& r) { return IpMatches(caller.client_ip, r); });
    }
    if (!allowed) {
      return KvError(StatusCode::kPermissionDenied,
                     "Forbidden/ForbiddenByFirewall",
                     "Client address is not authorized and caller is not a "
                     "trusted service.\r\nClient address: " +
                         caller.client_ip + "\r\nCaller: " + CallerText(who) +
                         "\r\nVault: " + VaultText(ctx.row));
    }
  }
  if (permission.name[0] == '\0') {
    t_caller_authorized = true;
    return ctx;
  }

  if (p.enable_rbac_authorization) {
    const std::string resource = VaultResourceId(
        {ctx.row.subscription_id, ctx.row.resource_group, ctx.row.name});
    ASSIGN_OR_RETURN(auto mine, store_.ReadResult([&](store::Transaction& tx) {
      return tx.role_assignments().ListForPrincipal(who.object_id);
    }));
    for (const store::RoleAssignment& a : mine) {
      std::optional<resources::RoleDefinition> role =
          resources::FindRole(a.role_name);
      if (!role || !resources::ScopeContains(a.scope, resource)) continue;
      const bool grants =
          (permission.family == Family::kRead && role->key_read) ||
          (permission.family == Family::kCrypto && role->key_crypto) ||
          (permission.family == Family::kManage && role->key_manage);
      if (grants) {
        t_caller_authorized = true;
        return ctx;
      }
    }
    return KvError(
        StatusCode::kPermissionDenied, "Forbidden/ForbiddenByRbac",
        "Caller is not authorized to perform action on resource.\r\nIf role "
        "assignments, deny assignments or role definitions were changed "
        "recently, please observe propagation time.\r\nCaller: " +
            CallerText(who) + "\r\nAction: '" + permission.data_action +
            "'\r\nResource: '" + Lower(resource) +
            "'\r\nAssignment: (not found)\r\nDecisionReason: "
            "'DeniedWithNoValidRBAC'\r\nVault: " +
            VaultText(ctx.row) + "\r\n");
  }

  const char* alternative = AlternativePermission(permission);
  for (const AccessPolicy& a : p.access_policies) {
    if (a.tenant_id != who.tenant_id || a.object_id != Lower(who.object_id)) {
      continue;
    }
    if (!a.application_id.empty() && a.application_id != Lower(who.app_id)) {
      continue;
    }
    if (ContainsIgnoreCase(a.keys, "all") ||
        ContainsIgnoreCase(a.keys, permission.name) ||
        (alternative && ContainsIgnoreCase(a.keys, alternative))) {
      t_caller_authorized = true;
      return ctx;
    }
  }
  return KvError(StatusCode::kPermissionDenied, "Forbidden/ForbiddenByPolicy",
                 "The user, group or application '" + CallerText(who) +
                     "' does not have keys " + PermissionDisplay(permission) +
                     " permission on key vault '" + VaultText(ctx.row) +
                     "'. For help resolving this issue, please see "
                     "https://go.microsoft.com/fwlink/?linkid=2125287");
}

template <typename T, typename Fn>
Result<T> VaultService::Impl::Audited(const DataCaller& caller,
                                      const std::string& vault,
                                      const char* operation,
                                      const std::string& key, Fn&& fn) {
  // A name from the request path outside Key Vault's rules is refused for
  // every operation, whoever the caller is, before anything looks it up;
  // the refusal is recorded like any refused call, with the name in its
  // compact form (audit_writer.h), so an outsider cannot grow the log.
  const bool bad_name = !key.empty() && !ValidKeyName(key);
  std::string version;
  const env::MonoTime start = env_.clock().Monotonic();
  store::AuditEvent event{.time = Now(),
                          .vault = vault,
                          .caller_tenant_id = caller.identity.tenant_id,
                          .caller_object_id = caller.identity.object_id,
                          .caller_app_id = caller.identity.app_id,
                          .client_ip = caller.client_ip,
                          .key_name = key,
                          .operation = operation};
  // A call runs only when its record can be kept (audit_writer.h).
  if (Status admitted = audit_.Admit(vault, event); !admitted.ok()) {
    if (options_.on_operation) {
      options_.on_operation(operation, AuditResult(admitted), 0);
    }
    return admitted;  // Counted in a summary record by Admit.
  }
  t_caller_authorized = false;
  Result<T> result =
      bad_name ? Result<T>(BadParameter(
                     "The request URI contains an invalid name: key names "
                     "are 1-127 letters, digits and '-'."))
               : fn(version);
  const bool outsider = !result.ok() && !t_caller_authorized;
  const Status& status = result.status();
  if (options_.on_operation) {
    options_.on_operation(
        operation, AuditResult(status),
        std::chrono::duration<double>(env_.clock().Monotonic() - start)
            .count());
  }
  event.key_version = version;
  event.result = AuditResult(status);
  event.status_code = AuditStatus(status);
  audit_.Add(std::move(event), outsider);
  return result;
}

// ---- Helpers ----

std::string VaultService::Impl::NewVersionId() {
  Bytes raw(16);
  crypto::RandomBytes(raw);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : raw) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

Result<KeyBundle> VaultService::Impl::Bundle(const VaultContext& ctx,
                                             store::VaultKey key,
                                             store::VaultKeyVersion version) {
  ASSIGN_OR_RETURN(KeyAttributes attrs,
                   ParseKeyAttributesStoreJson(version.attributes_json));
  ASSIGN_OR_RETURN(crypto::RsaPublicKey pub,
                   crypto::RsaPublicKey::FromSpkiDer(version.public_key));
  return KeyBundle{std::move(key),
                   std::move(version),
                   std::move(attrs),
                   std::move(pub),
                   RecoveryLevel(ctx.properties),
                   ctx.properties.soft_delete_retention_days};
}

Result<store::VaultKeyVersion> VaultService::Impl::ResolveVersion(
    store::Transaction& tx, const VaultContext& ctx, const std::string& name,
    const std::string& version, store::VaultKey* key_out) {
  Result<store::VaultKey> key = tx.vault_keys().Get(ctx.row.name, name);
  if (!key.ok()) {
    if (key.status().code() == StatusCode::kNotFound) return KeyNotFound(name);
    return key.status();
  }
  if (key->deleted_at != 0) return KeyNotFound(name);
  Result<store::VaultKeyVersion> v =
      version.empty() ? tx.vault_keys().LatestVersion(ctx.row.name, name)
                      : tx.vault_keys().GetVersion(ctx.row.name, name, version);
  if (!v.ok() && v.status().code() == StatusCode::kNotFound) {
    return KeyNotFound(version.empty() ? name : name + "/" + version);
  }
  if (key_out != nullptr) *key_out = *key;
  return v;
}

Result<std::shared_ptr<const crypto::RsaPrivateKey>>
VaultService::Impl::SoftwareKey(const VaultContext& ctx,
                                const store::VaultKeyVersion& v) {
  const std::string id = KeyCacheId(ctx.row.name, v.name, v.version);
  {
    std::lock_guard lock(mu_);
    if (auto it = key_cache_.find(id); it != key_cache_.end()) {
      return it->second;
    }
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const crypto::Aead> master,
                   MasterKey(ctx.row));
  ASSIGN_OR_RETURN(crypto::SecretBytes der,
                   master->Decrypt(v.sealed_private_key,
                                   SealAad(ctx.row.name, v.name, v.version)));
  ASSIGN_OR_RETURN(crypto::RsaPrivateKey key,
                   crypto::RsaPrivateKey::FromPkcs8Der(der.RevealSecret()));
  auto shared = std::make_shared<const crypto::RsaPrivateKey>(std::move(key));
  std::lock_guard lock(mu_);
  if (key_cache_.size() >= options_.key_cache_entries) key_cache_.clear();
  key_cache_[id] = shared;
  return shared;
}

Result<KeyBundle> VaultService::Impl::AddVersion(
    const VaultContext& ctx, const std::string& name, const std::string& kty,
    int bits, const crypto::RsaPrivateKey* imported, KeyAttributes attributes,
    bool create_key_row, bool allow_existing) {
  if (kty == "RSA-HSM") {
    if (ctx.properties.sku_name != "premium") {
      return BadParameter(
          "Hardware key operation not allowed on standard vault");
    }
    if (token_ == nullptr) return NoHsmToken();
  }
  const int64_t now = Now();
  store::VaultKeyVersion v{
      .vault = ctx.row.name,
      .name = name,
      .version = NewVersionId(),
      .kty = kty,
      .attributes_json = DumpJson(KeyAttributesStoreJson(attributes)),
      .created_at = now,
      .updated_at = now};
  if (kty == "RSA-HSM") {
    ASSIGN_OR_RETURN(v.hsm_handle, imported ? token_->ImportRsa(*imported)
                                            : token_->GenerateRsa(bits));
    Result<crypto::RsaPublicKey> pub = token_->PublicKey(v.hsm_handle);
    Result<Bytes> spki = pub.ok() ? pub->ToSpkiDer() : pub.status();
    if (!spki.ok()) {
      (void)token_->Destroy(v.hsm_handle);
      return spki.status();
    }
    v.public_key = std::move(*spki);
  } else {
    std::optional<crypto::RsaPrivateKey> generated;
    if (imported == nullptr) {
      ASSIGN_OR_RETURN(generated, crypto::RsaPrivateKey::Generate(bits));
    }
    const crypto::RsaPrivateKey& key = imported ? *imported : *generated;
    ASSIGN_OR_RETURN(v.public_key, key.PublicKey().ToSpkiDer());
    ASSIGN_OR_RETURN(crypto::SecretBytes der, key.ToPkcs8Der());
    ASSIGN_OR_RETURN(std::shared_ptr<const crypto::Aead> master,
                     MasterKey(ctx.row));
    ASSIGN_OR_RETURN(v.sealed_private_key,
                     master->Encrypt(der.RevealSecret(),
                                     SealAad(ctx.row.name, name, v.version)));
  }
  bool new_key = false;
  store::VaultKey key_row;
  Status s = store_.Transact([&](store::Transaction& tx) -> Status {
    Result<store::VaultKey> existing = tx.vault_keys().Get(ctx.row.name, name);
    if (existing.ok()) {
      if (existing->deleted_at != 0) return DeletedButRecoverable(name);
      if (!allow_existing) {
        return KvError(StatusCode::kAlreadyExists, "Conflict",
                       "Key " + name + " already exists in this vault.");
      }
      key_row = *existing;
    } else if (existing.status().code() == StatusCode::kNotFound &&
               create_key_row) {
      key_row = {.vault = ctx.row.name, .name = name, .created_at = now};
      RETURN_IF_ERROR(tx.vault_keys().Create(key_row));
      new_key = true;
    } else if (existing.status().code() == StatusCode::kNotFound) {
      return KeyNotFound(name);
    } else {
      return existing.status();
    }
    v.name = key_row.name;
    return tx.vault_keys().AddVersion(v);
  });
  if (!s.ok()) {
    if (!v.hsm_handle.empty()) (void)token_->Destroy(v.hsm_handle);
    return s;
  }
  events_.Publish({new_key ? VaultEvent::Kind::kKeyCreated
                           : VaultEvent::Kind::kKeyVersionCreated,
                   ctx.row.name, key_row.name, v.version});
  return Bundle(ctx, std::move(key_row), std::move(v));
}

Result<KeyBundle> VaultService::Impl::RotateNow(const VaultContext& ctx,
                                                const std::string& name) {
  store::VaultKey key;
  ASSIGN_OR_RETURN(store::VaultKeyVersion latest,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return ResolveVersion(tx, ctx, name, "", &key);
                   }));
  ASSIGN_OR_RETURN(KeyAttributes previous,
                   ParseKeyAttributesStoreJson(latest.attributes_json));
  ASSIGN_OR_RETURN(crypto::RsaPublicKey pub,
                   crypto::RsaPublicKey::FromSpkiDer(latest.public_key));
  KeyAttributes next{.key_ops = previous.key_ops, .tags = previous.tags};
  if (!key.rotation_policy_json.empty()) {
    ASSIGN_OR_RETURN(RotationPolicy policy,
                     ParseRotationPolicyStoreJson(key.rotation_policy_json));
    if (!policy.expiry_time.empty()) {
      ASSIGN_OR_RETURN(int64_t expiry, ParseIsoDuration(policy.expiry_time));
      next.expires = Now() + expiry;
    }
  }
  return AddVersion(ctx, key.name, latest.kty, pub.bits(), nullptr, next,
                    /*create_key_row=*/false, /*allow_existing=*/true);
}

// ---- Data plane ----

Result<std::string> VaultService::VaultTenant(const std::string& vault) {
  Result<store::Vault> row = impl_->store_.ReadResult(
      [&](store::Transaction& tx) { return tx.vaults().Get(vault); });
  if (row.ok() && row->deleted_at == 0) return row->tenant_id;
  if (row.ok() || row.status().code() == StatusCode::kNotFound) {
    return KvError(StatusCode::kNotFound, "VaultNotFound",
                   "The vault '" + vault + "' was not found.");
  }
  return row.status();
}

namespace {

// Validates what create and import share; returns the key_ops to keep.
Result<std::vector<std::string>> KeyOpsFor(
    const std::optional<std::vector<std::string>>& requested) {
  std::vector<std::string> ops = requested ? *requested : DefaultRsaKeyOps();
  RETURN_IF_ERROR(ValidateKeyOps(ops));
  return ops;
}

}  // namespace

Result<KeyBundle> VaultService::CreateKey(const DataCaller& caller,
                                          const std::string& vault,
                                          const std::string& name,
                                          const CreateKeyParams& params) {
  return impl_->Audited<KeyBundle>(
      caller, vault, "KeyCreate", name,
      [&](std::string& version) -> Result<KeyBundle> {
        ASSIGN_OR_RETURN(VaultContext ctx,
                         impl_->Begin(caller, vault, kCreate));
        if (!ValidKeyName(name)) {
          return BadParameter("The key name '" + name +
                              "' is invalid: use 1-127 letters, digits and "
                              "dashes.");
        }
        if (params.kty != "RSA" && params.kty != "RSA-HSM") {
          return BadParameter("Key type '" + params.kty +
                              "' is not supported by this vault; use RSA or "
                              "RSA-HSM.");
        }
        if (params.key_size != 2048 && params.key_size != 3072 &&
            params.key_size != 4096) {
          return BadParameter("RSA key size must be 2048, 3072 or 4096.");
        }
        if (params.public_exponent && *params.public_exponent != 65537) {
          return BadParameter("Only the public exponent 65537 is supported.");
        }
        KeyAttributes attrs = params.attributes;
        ASSIGN_OR_RETURN(attrs.key_ops, KeyOpsFor(params.key_ops));
        ASSIGN_OR_RETURN(
            KeyBundle b,
            impl_->AddVersion(ctx, name, params.kty, params.key_size, nullptr,
                              attrs, true, true));
        version = b.version.version;
        return b;
      });
}

Result<KeyBundle> VaultService::ImportKey(const DataCaller& caller,
                                          const std::string& vault,
                                          const std::string& name,
                                          const ImportKeyParams& params) {
  return impl_->Audited<KeyBundle>(
      caller, vault, "KeyImport", name,
      [&](std::string& version) -> Result<KeyBundle> {
        ASSIGN_OR_RETURN(VaultContext ctx,
                         impl_->Begin(caller, vault, kImport));
        if (!ValidKeyName(name)) {
          return BadParameter("The key name '" + name + "' is invalid.");
        }
        Result<crypto::RsaPrivateKey> key =
            crypto::RsaPrivateKey::FromComponents(params.key);
        if (!key.ok()) {
          return BadParameter("The key is not a valid RSA private key.");
        }
        const int bits = key->bits();
        if (bits != 2048 && bits != 3072 && bits != 4096) {
          return BadParameter("RSA key size must be 2048, 3072 or 4096.");
        }
        KeyAttributes attrs = params.attributes;
        ASSIGN_OR_RETURN(attrs.key_ops, KeyOpsFor(params.key_ops));
        ASSIGN_OR_RETURN(
            KeyBundle b,
            impl_->AddVersion(ctx, name, params.hsm ? "RSA-HSM" : "RSA", bits,
                              &*key, attrs, true, true));
        version = b.version.version;
        return b;
      });
}

Result<KeyBundle> VaultService::GetKey(const DataCaller& caller,
                                       const KeyRef& ref) {
  return impl_->Audited<KeyBundle>(
      caller, ref.vault, "KeyGet", ref.name,
      [&](std::string& version) -> Result<KeyBundle> {
        ASSIGN_OR_RETURN(VaultContext ctx,
                         impl_->Begin(caller, ref.vault, kGet));
        store::VaultKey key;
        ASSIGN_OR_RETURN(store::VaultKeyVersion v,
                         impl_->store_.ReadResult([&](store::Transaction& tx) {
                           return impl_->ResolveVersion(tx, ctx, ref.name,
                                                        ref.version, &key);
                         }));
        version = v.version;
        return impl_->Bundle(ctx, std::move(key), std::move(v));
      });
}

namespace {

// Pages `items` (already in order) after the cursor `after`, which must be
// the key of one of them.
template <typename T, typename KeyFn>
std::vector<T> PageAfter(std::vector<T> items, const std::string& after,
                         size_t max, KeyFn key, std::string* next) {
  std::vector<T> out;
  bool started = after.empty();
  for (T& item : items) {
    if (!started) {
      if (key(item) == after) started = true;
      continue;
    }
    if (out.size() == max) {
      *next = key(out.back());
      return out;
    }
    out.push_back(std::move(item));
  }
  next->clear();
  return out;
}

}  // namespace

Result<VaultService::KeyPage> VaultService::Impl::KeysPage(
    const VaultContext& ctx, bool deleted, const std::string& after,
    size_t max) {
  max = std::clamp<size_t>(max, 1, options_.max_page);
  ASSIGN_OR_RETURN(auto keys, store_.ReadResult([&](store::Transaction& tx) {
    return tx.vault_keys().List(ctx.row.name);
  }));
  // Keys come ordered by name ignoring case, so the next page is what
  // follows the cursor by name, even when the cursor's key has been
  // deleted (or recovered, or purged) since the last page.
  std::erase_if(keys, [&](const auto& k) {
    return (k.deleted_at != 0) != deleted ||
           (!after.empty() && Lower(k.name) <= after);
  });
  KeyPage page;
  auto chosen = PageAfter(
      std::move(keys), "", max,
      [](const store::VaultKey& k) { return Lower(k.name); }, &page.next);
  for (store::VaultKey& k : chosen) {
    ASSIGN_OR_RETURN(
        auto latest, store_.ReadResult([&](store::Transaction& tx) {
          return tx.vault_keys().LatestVersion(ctx.row.name, k.name);
        }));
    ASSIGN_OR_RETURN(KeyBundle b, Bundle(ctx, std::move(k), std::move(latest)));
    page.items.push_back(std::move(b));
  }
  return page;
}

Result<VaultService::KeyPage> VaultService::ListKeys(const DataCaller& caller,
                                                     const std::string& vault,
                                                     const std::string& after,
                                                     size_t max) {
  return impl_->Audited<KeyPage>(
      caller, vault, "KeyList", "", [&](std::string&) -> Result<KeyPage> {
        ASSIGN_OR_RETURN(VaultContext ctx, impl_->Begin(caller, vault, kList));
        return impl_->KeysPage(ctx, /*deleted=*/false, after, max);
      });
}

Result<VaultService::KeyPage> VaultService::ListKeyVersions(
    const DataCaller& caller, const std::string& vault, const std::string& name,
    const std::string& after, size_t max) {
  return impl_->Audited<KeyPage>(
      caller, vault, "KeyListVersions", name,
      [&](std::string&) -> Result<KeyPage> {
        ASSIGN_OR_RETURN(VaultContext ctx, impl_->Begin(caller, vault, kList));
        max = std::clamp<size_t>(max, 1, impl_->options_.max_page);
        store::VaultKey key;
        std::vector<store::VaultKeyVersion> versions;
        RETURN_IF_ERROR(
            impl_->store_.Read([&](store::Transaction& tx) -> Status {
              RETURN_IF_ERROR(
                  impl_->ResolveVersion(tx, ctx, name, "", &key).status());
              ASSIGN_OR_RETURN(
                  versions, tx.vault_keys().ListVersions(ctx.row.name, name));
              return Status::Ok();
            }));
        KeyPage page;
        auto chosen = PageAfter(
            std::move(versions), after, max,
            [](const store::VaultKeyVersion& v) { return v.version; },
            &page.next);
        for (store::VaultKeyVersion& v : chosen) {
          ASSIGN_OR_RETURN(KeyBundle b, impl_->Bundle(ctx, key, std::move(v)));
          page.items.push_back(std::move(b));
        }
        return page;
      });
}

Result<KeyBundle> VaultService::UpdateKey(const DataCaller& caller,
                                          const KeyRef& ref,
                                          const UpdateKeyParams& params) {
  return impl_->Audited<KeyBundle>(
      caller, ref.vault, "KeyUpdate", ref.name,
      [&](std::string& version) -> Result<KeyBundle> {
        ASSIGN_OR_RETURN(VaultContext ctx,
                         impl_->Begin(caller, ref.vault, kUpdate));
        if (params.key_ops) RETURN_IF_ERROR(ValidateKeyOps(*params.key_ops));
        store::VaultKey key;
        store::VaultKeyVersion v;
        KeyAttributes attrs;
        RETURN_IF_ERROR(
            impl_->store_.Transact([&](store::Transaction& tx) -> Status {
              ASSIGN_OR_RETURN(v, impl_->ResolveVersion(tx, ctx, ref.name,
                                                        ref.version, &key));
              ASSIGN_OR_RETURN(attrs,
                               ParseKeyAttributesStoreJson(v.attributes_json));
              if (params.key_ops) attrs.key_ops = *params.key_ops;
              if (params.enabled) attrs.enabled = *params.enabled;
              if (params.not_before) attrs.not_before = *params.not_before;
              if (params.expires) attrs.expires = *params.expires;
              if (params.tags) attrs.tags = *params.tags;
              v.attributes_json = DumpJson(KeyAttributesStoreJson(attrs));
              v.updated_at = impl_->Now();
              return tx.vault_keys().UpdateVersion(v);
            }));
        version = v.version;
        impl_->events_.Publish(
            {VaultEvent::Kind::kKeyUpdated, ctx.row.name, key.name, v.version});
        return impl_->Bundle(ctx, std::move(key), std::move(v));
      });
}

Result<KeyBundle> VaultService::DeleteKey(const DataCaller& caller,
                                          const std::string& vault,
                                          const std::string& name) {
  return impl_->Audited<KeyBundle>(
      caller, vault, "KeyDelete", name, [&](std::string&) -> Result<KeyBundle> {
        ASSIGN_OR_RETURN(VaultContext ctx,
                         impl_->Begin(caller, vault, kDelete));
        store::VaultKey key;
        store::VaultKeyVersion latest;
        RETURN_IF_ERROR(
            impl_->store_.Transact([&](store::Transaction& tx) -> Status {
              ASSIGN_OR_RETURN(latest,
                               impl_->ResolveVersion(tx, ctx, name, "", &key));
              key.deleted_at = impl_->Now();
              key.scheduled_purge_at =
                  key.deleted_at +
                  int64_t{ctx.properties.soft_delete_retention_days} * 86400;
              return tx.vault_keys().Update(key);
            }));
        impl_->events_.Publish(
            {VaultEvent::Kind::kKeyDeleted, ctx.row.name, key.name, ""});
        return impl_->Bundle(ctx, std::move(key), std::move(latest));
      });
}

Result<KeyBundle> VaultService::GetDeletedKey(const DataCaller& caller,
                                              const std::string& vault,
                                              const std::string& name) {
  return impl_->Audited<KeyBundle>(
      caller, vault, "KeyGetDeleted", name,
      [&](std::string&) -> Result<KeyBundle> {
        ASSIGN_OR_RETURN(VaultContext ctx, impl_->Begin(caller, vault, kGet));
        store::VaultKey key;
        store::VaultKeyVersion latest;
        RETURN_IF_ERROR(
            impl_->store_.Read([&](store::Transaction& tx) -> Status {
              Result<store::VaultKey> k =
                  tx.vault_keys().Get(ctx.row.name, name);
              if (!k.ok() || k->deleted_at == 0)
                return DeletedKeyNotFound(name);
              key = *k;
              ASSIGN_OR_RETURN(
                  latest, tx.vault_keys().LatestVersion(ctx.row.name, name));
              return Status::Ok();
            }));
        return impl_->Bundle(ctx, std::move(key), std::move(latest));
      });
}

Result<VaultService::KeyPage> VaultService::ListDeletedKeys(
    const DataCaller& caller, const std::string& vault,
    const std::string& after, size_t max) {
  return impl_->Audited<KeyPage>(
      caller, vault, "KeyListDeleted", "",
      [&](std::string&) -> Result<KeyPage> {
        ASSIGN_OR_RETURN(VaultContext ctx, impl_->Begin(caller, vault, kList));
        return impl_->KeysPage(ctx, /*deleted=*/true, after, max);
      });
}

Result<KeyBundle> VaultService::RecoverDeletedKey(const DataCaller& caller,
                                                  const std::string& vault,
                                                  const std::string& name) {
  return impl_->Audited<KeyBundle>(
      caller, vault, "KeyRecover", name,
      [&](std::string&) -> Result<KeyBundle> {
        ASSIGN_OR_RETURN(VaultContext ctx,
                         impl_->Begin(caller, vault, kRecover));
        store::VaultKey key;
        store::VaultKeyVersion latest;
        RETURN_IF_ERROR(
            impl_->store_.Transact([&](store::Transaction& tx) -> Status {
              Result<store::VaultKey> k =
                  tx.vault_keys().Get(ctx.row.name, name);
              if (!k.ok() || k->deleted_at == 0) return KeyNotFound(name);
              key = *k;
              key.deleted_at = 0;
              key.scheduled_purge_at = 0;
              RETURN_IF_ERROR(tx.vault_keys().Update(key));
              ASSIGN_OR_RETURN(
                  latest, tx.vault_keys().LatestVersion(ctx.row.name, name));
              return Status::Ok();
            }));
        impl_->events_.Publish(
            {VaultEvent::Kind::kKeyRecovered, ctx.row.name, key.name, ""});
        return impl_->Bundle(ctx, std::move(key), std::move(latest));
      });
}

Status VaultService::PurgeDeletedKey(const DataCaller& caller,
                                     const std::string& vault,
                                     const std::string& name) {
  return impl_
      ->Audited<bool>(
          caller, vault, "KeyPurge", name,
          [&](std::string&) -> Result<bool> {
            ASSIGN_OR_RETURN(VaultContext ctx,
                             impl_->Begin(caller, vault, kPurge));
            Result<store::VaultKey> key =
                impl_->store_.ReadResult([&](store::Transaction& tx) {
                  return tx.vault_keys().Get(ctx.row.name, name);
                });
            if (!key.ok() || key->deleted_at == 0) {
              return DeletedKeyNotFound(name);
            }
            // Under purge protection a deleted key stays until its
            // scheduled purge date; from then on purging it is what
            // maintenance would do anyway.
            if (ctx.properties.enable_purge_protection &&
                impl_->Now() < key->scheduled_purge_at) {
              return KvError(
                  StatusCode::kPermissionDenied, "Forbidden",
                  "Operation \"purge\" is not allowed because purge "
                  "protection is enabled for this vault. Key Vault service "
                  "will automatically purge it after the retention period "
                  "has passed.\r\nVault: " +
                      VaultText(ctx.row));
            }
            RETURN_IF_ERROR(impl_->PurgeKeyNow(ctx.row, *key));
            return true;
          })
      .status();
}

Result<Bytes> VaultService::BackupKey(const DataCaller& caller,
                                      const std::string& vault,
                                      const std::string& name) {
  return impl_->Audited<Bytes>(
      caller, vault, "KeyBackup", name, [&](std::string&) -> Result<Bytes> {
        ASSIGN_OR_RETURN(VaultContext ctx,
                         impl_->Begin(caller, vault, kBackup));
        store::VaultKey key;
        std::vector<store::VaultKeyVersion> versions;
        RETURN_IF_ERROR(
            impl_->store_.Read([&](store::Transaction& tx) -> Status {
              RETURN_IF_ERROR(
                  impl_->ResolveVersion(tx, ctx, name, "", &key).status());
              ASSIGN_OR_RETURN(
                  versions, tx.vault_keys().ListVersions(ctx.row.name, name));
              return Status::Ok();
            }));
        // Layout of the sealed plaintext: u32 length + JSON metadata (no
        // secrets), then per version u32 length + PKCS#8, all in a
        // zeroizing buffer.
        json meta = {{"name", key.name},
                     {"created", key.created_at},
                     {"rotationPolicy", key.rotation_policy_json},
                     {"versions", json::array()}};
        std::vector<crypto::SecretBytes> ders;
        for (const store::VaultKeyVersion& v : versions) {
          if (!v.hsm_handle.empty()) {
            return BadParameter(
                "Backup of RSA-HSM keys is not supported: their private keys "
                "never leave the HSM token.");
          }
          ASSIGN_OR_RETURN(std::shared_ptr<const crypto::Aead> master,
                           impl_->MasterKey(ctx.row));
          ASSIGN_OR_RETURN(
              crypto::SecretBytes der,
              master->Decrypt(v.sealed_private_key,
                              SealAad(ctx.row.name, v.name, v.version)));
          meta["versions"].push_back({{"version", v.version},
                                      {"kty", v.kty},
                                      {"attributes", v.attributes_json},
                                      {"created", v.created_at},
                                      {"updated", v.updated_at}});
          ders.push_back(std::move(der));
        }
        const std::string meta_text = DumpJson(meta);
        size_t total = 4 + meta_text.size();
        for (const auto& d : ders) total += 4 + d.size();
        crypto::SecretBytes plain(total);
        uint8_t* out = plain.MutableSecret().data();
        StoreBigEndian32(static_cast<uint32_t>(meta_text.size()), out);
        std::memcpy(out + 4, meta_text.data(), meta_text.size());
        out += 4 + meta_text.size();
        for (const auto& d : ders) {
          StoreBigEndian32(static_cast<uint32_t>(d.size()), out);
          std::memcpy(out + 4, d.RevealSecret().data(), d.size());
          out += 4 + d.size();
        }
        const std::string header =
            std::string(kBackupMagic) + ctx.row.tenant_id + "\n";
        ASSIGN_OR_RETURN(Bytes sealed,
                         impl_->backup_seal_->Encrypt(plain.RevealSecret(),
                                                      AsBytes(header)));
        Bytes blob = ToBytes(header);
        blob.insert(blob.end(), sealed.begin(), sealed.end());
        return blob;
      });
}

Result<KeyBundle> VaultService::RestoreKey(const DataCaller& caller,
                                           const std::string& vault,
                                           ByteView blob) {
  return impl_->Audited<KeyBundle>(
      caller, vault, "KeyRestore", "",
      [&](std::string& version) -> Result<KeyBundle> {
        ASSIGN_OR_RETURN(VaultContext ctx,
                         impl_->Begin(caller, vault, kRestore));
        const Status malformed =
            KvError(StatusCode::kInvalidArgument, "Malformed backup blob",
                    "Backup blob contains invalid or corrupt version.");
        std::string_view text = AsString(blob);
        if (!text.starts_with(kBackupMagic)) return malformed;
        size_t newline = text.find('\n', kBackupMagic.size());
        if (newline == std::string_view::npos) return malformed;
        const std::string tenant(
            text.substr(kBackupMagic.size(), newline - kBackupMagic.size()));
        if (tenant != ctx.row.tenant_id) {
          return BadParameter(
              "The backup was made in another tenant; it can be restored "
              "only into a vault of the tenant it came from.");
        }
        const size_t header_size = newline + 1;
        Result<crypto::SecretBytes> plain = impl_->backup_seal_->Decrypt(
            blob.subspan(header_size), blob.first(header_size));
        if (!plain.ok()) return malformed;
        ByteView p = plain->RevealSecret();
        auto take = [&](ByteView& from) -> std::optional<ByteView> {
          if (from.size() < 4) return std::nullopt;
          uint32_t n = LoadBigEndian32(from.data());
          if (from.size() - 4 < n) return std::nullopt;
          ByteView part = from.subspan(4, n);
          from = from.subspan(4 + n);
          return part;
        };
        std::optional<ByteView> meta_bytes = take(p);
        if (!meta_bytes) return malformed;
        json meta =
            ParseJsonOrDiscarded(AsString(*meta_bytes), kStoredJsonLimits);
        if (!meta.is_object() || !meta.value("name", json()).is_string() ||
            !meta.value("versions", json()).is_array() ||
            meta["versions"].empty()) {
          return malformed;
        }
        const std::string name = meta["name"].get<std::string>();
        std::shared_ptr<const crypto::Aead> master;
        ASSIGN_OR_RETURN(master, impl_->MasterKey(ctx.row));
        std::vector<store::VaultKeyVersion> versions;
        for (const json& m : meta["versions"]) {
          std::optional<ByteView> der = take(p);
          if (!der || !m.is_object()) return malformed;
          // Proves the material is a key before it is stored.
          if (!crypto::RsaPrivateKey::FromPkcs8Der(*der).ok()) return malformed;
          Result<crypto::RsaPrivateKey> k =
              crypto::RsaPrivateKey::FromPkcs8Der(*der);
          store::VaultKeyVersion v{
              .vault = ctx.row.name,
              .name = name,
              .version = m.value("version", ""),
              .kty = m.value("kty", "RSA"),
              .attributes_json = m.value("attributes", "{}"),
              .created_at = m.value("created", int64_t{0}),
              .updated_at = m.value("updated", int64_t{0})};
          ASSIGN_OR_RETURN(v.public_key, k->PublicKey().ToSpkiDer());
          ASSIGN_OR_RETURN(
              v.sealed_private_key,
              master->Encrypt(*der, SealAad(ctx.row.name, name, v.version)));
          versions.push_back(std::move(v));
        }
        store::VaultKey key{
            .vault = ctx.row.name,
            .name = name,
            .rotation_policy_json = meta.value("rotationPolicy", ""),
            .created_at = meta.value("created", int64_t{0})};
        RETURN_IF_ERROR(
            impl_->store_.Transact([&](store::Transaction& tx) -> Status {
              Result<store::VaultKey> existing =
                  tx.vault_keys().Get(ctx.row.name, name);
              if (existing.ok()) {
                if (existing->deleted_at != 0)
                  return DeletedButRecoverable(name);
                return KvError(StatusCode::kAlreadyExists, "Conflict",
                               "Key " + name +
                                   " already exists in this vault; restore "
                                   "needs a free name.");
              }
              RETURN_IF_ERROR(tx.vault_keys().Create(key));
              for (const store::VaultKeyVersion& v : versions) {
                RETURN_IF_ERROR(tx.vault_keys().AddVersion(v));
              }
              return Status::Ok();
            }));
        impl_->events_.Publish(
            {VaultEvent::Kind::kKeyCreated, ctx.row.name, name, ""});
        version = versions.back().version;
        return impl_->Bundle(ctx, std::move(key), std::move(versions.back()));
      });
}

Result<KeyBundle> VaultService::RotateKey(const DataCaller& caller,
                                          const std::string& vault,
                                          const std::string& name) {
  return impl_->Audited<KeyBundle>(
      caller, vault, "KeyRotate", name,
      [&](std::string& version) -> Result<KeyBundle> {
        ASSIGN_OR_RETURN(VaultContext ctx,
                         impl_->Begin(caller, vault, kRotate));
        ASSIGN_OR_RETURN(KeyBundle b, impl_->RotateNow(ctx, name));
        version = b.version.version;
        return b;
      });
}

Result<RotationPolicy> VaultService::GetRotationPolicy(
    const DataCaller& caller, const std::string& vault,
    const std::string& name) {
  return impl_->Audited<RotationPolicy>(
      caller, vault, "KeyRotationPolicyGet", name,
      [&](std::string&) -> Result<RotationPolicy> {
        ASSIGN_OR_RETURN(VaultContext ctx,
                         impl_->Begin(caller, vault, kGetPolicy));
        store::VaultKey key;
        RETURN_IF_ERROR(impl_->store_.Read([&](store::Transaction& tx) {
          return impl_->ResolveVersion(tx, ctx, name, "", &key).status();
        }));
        if (key.rotation_policy_json.empty()) {
          // A key without a policy shows the service default.
          return RotationPolicy{
              .lifetime_actions = {
                  {.time_before_expiry = "P30D", .action = "Notify"}}};
        }
        return ParseRotationPolicyStoreJson(key.rotation_policy_json);
      });
}

Result<RotationPolicy> VaultService::SetRotationPolicy(
    const DataCaller& caller, const std::string& vault, const std::string& name,
    const RotationPolicy& policy) {
  return impl_->Audited<RotationPolicy>(
      caller, vault, "KeyRotationPolicySet", name,
      [&](std::string&) -> Result<RotationPolicy> {
        ASSIGN_OR_RETURN(VaultContext ctx,
                         impl_->Begin(caller, vault, kSetPolicy));
        store::VaultKey key;
        RotationPolicy stored = policy;
        RETURN_IF_ERROR(
            impl_->store_.Transact([&](store::Transaction& tx) -> Status {
              RETURN_IF_ERROR(
                  impl_->ResolveVersion(tx, ctx, name, "", &key).status());
              const int64_t now = impl_->Now();
              stored.created = now;
              if (!key.rotation_policy_json.empty()) {
                ASSIGN_OR_RETURN(
                    RotationPolicy old,
                    ParseRotationPolicyStoreJson(key.rotation_policy_json));
                stored.created = old.created;
              }
              stored.updated = now;
              key.rotation_policy_json =
                  DumpJson(RotationPolicyStoreJson(stored));
              return tx.vault_keys().Update(key);
            }));
        impl_->events_.Publish({VaultEvent::Kind::kRotationPolicyChanged,
                                ctx.row.name, key.name, ""});
        return stored;
      });
}

Result<UsableKey> VaultService::Impl::Usable(const DataCaller& caller,
                                             const KeyRef& ref,
                                             const Permission& permission,
                                             const char* operation,
                                             std::string& version_out) {
  ASSIGN_OR_RETURN(VaultContext ctx, Begin(caller, ref.vault, permission));
  ASSIGN_OR_RETURN(
      store::VaultKeyVersion v, store_.ReadResult([&](store::Transaction& tx) {
        return ResolveVersion(tx, ctx, ref.name, ref.version, nullptr);
      }));
  version_out = v.version;
  ASSIGN_OR_RETURN(KeyAttributes attrs,
                   ParseKeyAttributesStoreJson(v.attributes_json));
  RETURN_IF_ERROR(CheckUsable(attrs, operation, Now()));
  return UsableKey{std::move(ctx), std::move(v)};
}

// Encrypt and wrap use the public key; decrypt and unwrap the private key,
// in memory or in the token.
Result<KeyOperationResult> VaultService::Impl::Cipher(
    const DataCaller& caller, const KeyRef& ref, const std::string& alg,
    ByteView input, CryptoOp op, std::string& version_out) {
  Impl& impl = *this;
  const Permission& perm = op == CryptoOp::kEncrypt   ? kEncrypt
                           : op == CryptoOp::kDecrypt ? kDecrypt
                           : op == CryptoOp::kWrap    ? kWrap
                                                      : kUnwrap;
  const char* op_name = op == CryptoOp::kEncrypt   ? "encrypt"
                        : op == CryptoOp::kDecrypt ? "decrypt"
                        : op == CryptoOp::kWrap    ? "wrapKey"
                                                   : "unwrapKey";
  ASSIGN_OR_RETURN(UsableKey usable,
                   impl.Usable(caller, ref, perm, op_name, version_out));
  const VaultContext& ctx = usable.ctx;
  const store::VaultKeyVersion& v = usable.version;
  Result<crypto::RsaPadding> padding = crypto::ParseRsaPadding(alg);
  if (!padding.ok()) {
    return BadParameter("Algorithm '" + alg +
                        "' is not supported for RSA keys; use RSA-OAEP, "
                        "RSA-OAEP-256 or RSA1_5.");
  }
  if (op == CryptoOp::kEncrypt || op == CryptoOp::kWrap) {
    ASSIGN_OR_RETURN(crypto::RsaPublicKey pub,
                     crypto::RsaPublicKey::FromSpkiDer(v.public_key));
    Result<Bytes> out = pub.Encrypt(*padding, input);
    if (!out.ok()) {
      return BadParameter(
          "The value is too long for this key and "
          "algorithm.");
    }
    return KeyOperationResult{v.version, std::move(*out)};
  }
  if (!v.hsm_handle.empty() && impl.token_ == nullptr) return NoHsmToken();
  Result<crypto::SecretBytes> plain =
      v.hsm_handle.empty() ? [&]() -> Result<crypto::SecretBytes> {
    ASSIGN_OR_RETURN(auto key, impl.SoftwareKey(ctx, v));
    return key->Decrypt(*padding, input);
  }()
      : impl.token_->Decrypt(v.hsm_handle, *padding, input);
  if (!plain.ok()) {
    if (plain.status().code() == StatusCode::kInvalidArgument ||
        plain.status() == crypto::DecryptionFailed()) {
      return BadParameter(
          "The ciphertext cannot be decrypted with this key "
          "and algorithm.");
    }
    return plain.status();
  }
  ByteView bytes = plain->RevealSecret();
  return KeyOperationResult{v.version, Bytes(bytes.begin(), bytes.end())};
}

Result<KeyOperationResult> VaultService::Encrypt(const DataCaller& caller,
                                                 const KeyRef& ref,
                                                 const std::string& alg,
                                                 ByteView plaintext) {
  return impl_->Audited<KeyOperationResult>(
      caller, ref.vault, "KeyEncrypt", ref.name, [&](std::string& version) {
        return impl_->Cipher(caller, ref, alg, plaintext, CryptoOp::kEncrypt,
                             version);
      });
}

Result<KeyOperationResult> VaultService::Decrypt(const DataCaller& caller,
                                                 const KeyRef& ref,
                                                 const std::string& alg,
                                                 ByteView ciphertext) {
  return impl_->Audited<KeyOperationResult>(
      caller, ref.vault, "KeyDecrypt", ref.name, [&](std::string& version) {
        return impl_->Cipher(caller, ref, alg, ciphertext, CryptoOp::kDecrypt,
                             version);
      });
}

Result<KeyOperationResult> VaultService::WrapKey(const DataCaller& caller,
                                                 const KeyRef& ref,
                                                 const std::string& alg,
                                                 ByteView key) {
  return impl_->Audited<KeyOperationResult>(
      caller, ref.vault, "KeyWrap", ref.name, [&](std::string& version) {
        return impl_->Cipher(caller, ref, alg, key, CryptoOp::kWrap, version);
      });
}

Result<KeyOperationResult> VaultService::UnwrapKey(const DataCaller& caller,
                                                   const KeyRef& ref,
                                                   const std::string& alg,
                                                   ByteView wrapped) {
  return impl_->Audited<KeyOperationResult>(
      caller, ref.vault, "KeyUnwrap", ref.name, [&](std::string& version) {
        return impl_->Cipher(caller, ref, alg, wrapped, CryptoOp::kUnwrap,
                             version);
      });
}

Result<KeyOperationResult> VaultService::Sign(const DataCaller& caller,
                                              const KeyRef& ref,
                                              const std::string& alg,
                                              ByteView digest) {
  return impl_->Audited<KeyOperationResult>(
      caller, ref.vault, "KeySign", ref.name,
      [&](std::string& version) -> Result<KeyOperationResult> {
        ASSIGN_OR_RETURN(UsableKey usable,
                         impl_->Usable(caller, ref, kSign, "sign", version));
        const VaultContext& ctx = usable.ctx;
        const store::VaultKeyVersion& v = usable.version;
        Result<crypto::RsaSignatureAlgorithm> a =
            crypto::ParseRsaSignatureAlgorithm(alg);
        if (!a.ok()) {
          return BadParameter("Algorithm '" + alg +
                              "' is not supported for RSA keys.");
        }
        if (digest.size() != crypto::DigestSize(*a)) {
          return BadParameter("The digest must be " +
                              std::to_string(crypto::DigestSize(*a)) +
                              " bytes for " + alg + ".");
        }
        std::shared_ptr<const crypto::RsaPrivateKey> key;
        if (v.hsm_handle.empty()) {
          ASSIGN_OR_RETURN(key, impl_->SoftwareKey(ctx, v));
        } else if (impl_->token_ == nullptr) {
          return NoHsmToken();
        }
        Result<Bytes> sig = key ? key->Sign(*a, digest)
                                : impl_->token_->Sign(v.hsm_handle, *a, digest);
        RETURN_IF_ERROR(sig.status());
        return KeyOperationResult{v.version, std::move(*sig)};
      });
}

Result<bool> VaultService::Verify(const DataCaller& caller, const KeyRef& ref,
                                  const std::string& alg, ByteView digest,
                                  ByteView signature) {
  return impl_->Audited<bool>(
      caller, ref.vault, "KeyVerify", ref.name,
      [&](std::string& version) -> Result<bool> {
        ASSIGN_OR_RETURN(UsableKey usable, impl_->Usable(caller, ref, kVerify,
                                                         "verify", version));
        const store::VaultKeyVersion& v = usable.version;
        Result<crypto::RsaSignatureAlgorithm> a =
            crypto::ParseRsaSignatureAlgorithm(alg);
        if (!a.ok()) {
          return BadParameter("Algorithm '" + alg +
                              "' is not supported for RSA keys.");
        }
        ASSIGN_OR_RETURN(crypto::RsaPublicKey pub,
                         crypto::RsaPublicKey::FromSpkiDer(v.public_key));
        Status s = pub.Verify(*a, digest, signature);
        if (s.code() == StatusCode::kInvalidArgument) {
          return BadParameter(s.message());
        }
        return s.ok();
      });
}

Result<Bytes> VaultService::RandomBytes(const DataCaller& caller,
                                        const std::string& vault, int count) {
  return impl_->Audited<Bytes>(
      caller, vault, "RandomBytesGet", "", [&](std::string&) -> Result<Bytes> {
        RETURN_IF_ERROR(impl_->Begin(caller, vault, kAnyCaller).status());
        if (count < 1 || count > 128) {
          return BadParameter(
              "GetRandomBytesRequest: count cannot be greater than 128 or "
              "less than 1.");
        }
        Bytes out(static_cast<size_t>(count));
        crypto::RandomBytes(out);
        return out;
      });
}

}  // namespace atrest::vault
