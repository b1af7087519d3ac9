// IdentityService: the tenants' token-signing keys (see the class comment).
#include "base/base64.h"
#include "crypto/random.h"
#include "identity/identity_service.h"

namespace atrest::identity {
namespace {

Bytes SealAad(const std::string& tenant_id, const std::string& kid) {
  return ToBytes("identity signing key\n" + tenant_id + "\n" + kid);
}

}  // namespace

Result<IdentityService::LoadedKey> IdentityService::Unseal(
    const store::SigningKey& row) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find({row.tenant_id, row.kid});
    if (it != cache_.end()) return it->second;
  }
  Result<crypto::SecretBytes> der =
      seal_->Decrypt(row.sealed_private_key, SealAad(row.tenant_id, row.kid));
  if (!der.ok()) {
    return DataLossError("signing key " + row.kid + " of tenant " +
                         row.tenant_id + " cannot be unsealed");
  }
  ASSIGN_OR_RETURN(crypto::RsaPrivateKey key,
                   crypto::RsaPrivateKey::FromPkcs8Der(der->RevealSecret()));
  LoadedKey loaded{
      .kid = row.kid,
      .not_after = row.not_after,
      .key = std::make_shared<const crypto::RsaPrivateKey>(std::move(key))};
  std::lock_guard<std::mutex> lock(mu_);
  cache_.emplace(std::make_pair(row.tenant_id, row.kid), loaded);
  return loaded;
}

Result<std::vector<IdentityService::LoadedKey>> IdentityService::ValidKeys(
    const std::string& tenant_id) {
  const int64_t oldest = Now() - options_.token_lifetime.count();
  ASSIGN_OR_RETURN(
      std::vector<store::SigningKey> rows,
      store_.ReadResult([&](store::Transaction& tx)
                            -> Result<std::vector<store::SigningKey>> {
        RETURN_IF_ERROR(tx.tenants().Get(tenant_id).status());
        return tx.signing_keys().ListByTenant(tenant_id);
      }));
  std::vector<LoadedKey> keys;
  for (const store::SigningKey& row : rows) {
    if (row.not_after < oldest) continue;  // Every token it signed expired.
    ASSIGN_OR_RETURN(LoadedKey k, Unseal(row));
    keys.push_back(std::move(k));
  }
  return keys;
}

Result<IdentityService::LoadedKey> IdentityService::ActiveKey(
    const std::string& tenant_id) {
  const int64_t now = Now();
  auto newest = [&]() -> Result<std::optional<store::SigningKey>> {
    ASSIGN_OR_RETURN(std::vector<store::SigningKey> rows,
                     store_.ReadResult([&](store::Transaction& tx) {
                       return tx.signing_keys().ListByTenant(tenant_id);
                     }));
    for (const store::SigningKey& row : rows) {  // Newest first.
      if (row.created_at <= now && now <= row.not_after) {
        return std::optional<store::SigningKey>(row);
      }
    }
    return std::optional<store::SigningKey>();
  };
  ASSIGN_OR_RETURN(std::optional<store::SigningKey> current, newest());
  if (current) return Unseal(*current);

  // None usable: make one. Serialised in-process so that concurrent first
  // requests make one key, not several.
  static std::mutex create_mu;
  std::lock_guard<std::mutex> lock(create_mu);
  ASSIGN_OR_RETURN(current, newest());
  if (current) return Unseal(*current);

  ASSIGN_OR_RETURN(crypto::RsaPrivateKey key,
                   crypto::RsaPrivateKey::Generate(2048));
  ASSIGN_OR_RETURN(crypto::SecretBytes der, key.ToPkcs8Der());
  uint8_t kid_raw[16];
  crypto::RandomBytes(kid_raw);
  store::SigningKey row{
      .tenant_id = tenant_id,
      .kid = Base64UrlEncode(kid_raw),
      .created_at = now,
      .not_after = now + options_.signing_key_rotation.count(),
  };
  ASSIGN_OR_RETURN(
      row.sealed_private_key,
      seal_->Encrypt(der.RevealSecret(), SealAad(tenant_id, row.kid)));
  RETURN_IF_ERROR(store_.Transact(
      [&](store::Transaction& tx) { return tx.signing_keys().Add(row); }));
  return Unseal(row);
}

}  // namespace atrest::identity
