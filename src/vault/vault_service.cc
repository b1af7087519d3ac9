// VaultService: construction, the management plane, maintenance and the
// audit writer. The data plane is in key_service.cc.
#include "vault/vault_service.h"

#include <algorithm>
#include <cctype>

#include "base/json.h"
#include "crypto/random.h"
#include "vault/vault_impl.h"

namespace atrest::vault {

using nlohmann::json;

namespace {

Status ArmReason(StatusCode code, std::string reason, std::string message) {
  return Status(code, std::move(message), std::move(reason));
}

// ^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$ without "--" (Azure's rule).
bool ValidVaultName(const std::string& name) {
  if (name.size() < 3 || name.size() > 24) return false;
  if (!std::isalpha(static_cast<unsigned char>(name.front()))) return false;
  if (name.back() == '-') return false;
  if (name.find("--") != std::string::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
}

Status InvalidVaultName(const std::string& name) {
  return ArmReason(
      StatusCode::kInvalidArgument, "VaultNameNotValid",
      "The vault name '" + name +
          "' is invalid. A vault's name must be between 3-24 alphanumeric "
          "characters. The name must begin with a letter, end with a letter "
          "or digit, and not contain consecutive hyphens.");
}

Status VaultNotFound(const VaultRef& ref) {
  return ArmReason(StatusCode::kNotFound, "ResourceNotFound",
                   "The Resource 'Microsoft.KeyVault/vaults/" + ref.name +
                       "' under resource group '" + ref.resource_group +
                       "' was not found.");
}

bool SameText(const std::string& a, const std::string& b) {
  return Lower(a) == Lower(b);
}

}  // namespace

std::string Lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

std::string KeyCacheId(const std::string& vault, const std::string& name,
                       const std::string& version) {
  return Lower(vault) + "/" + Lower(name) + "/" + version;
}

Status KvError(StatusCode code, std::string reason, std::string message) {
  return Status(code, std::move(message), std::move(reason));
}

std::string VaultResourceId(const VaultRef& ref) {
  return resources::ResourceGroupScope(ref.subscription_id,
                                       ref.resource_group) +
         "/providers/Microsoft.KeyVault/vaults/" + ref.name;
}

// ---- Construction ----

Result<std::unique_ptr<VaultService>> VaultService::Create(
    store::Store& store, env::Env& env, const keys::RootKey& root_key,
    resources::ResourceManager& resources, hsm::Token* token, EventBus& events,
    VaultServiceOptions options) {
  ASSIGN_OR_RETURN(auto master_seal, root_key.DeriveAead("vault/master-keys"));
  ASSIGN_OR_RETURN(auto backup_seal, root_key.DeriveAead("vault/key-backups"));
  return std::unique_ptr<VaultService>(new VaultService(
      std::make_unique<Impl>(store, env, resources, token, events, options,
                             std::move(master_seal), std::move(backup_seal))));
}

VaultService::VaultService(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
VaultService::~VaultService() = default;

int64_t VaultService::Impl::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             env_.clock().Now().time_since_epoch())
      .count();
}

// ---- Shared helpers ----

std::string VaultService::Impl::StoredProperties(
    const VaultProperties& p, const std::map<std::string, std::string>& tags) {
  return DumpJson(
      json{{"tags", tags}, {"properties", VaultPropertiesJson(p, "")}});
}

Result<VaultInfo> VaultService::Impl::ToInfo(store::Vault row) {
  json j = ParseJsonOrDiscarded(row.properties_json, kStoredJsonLimits);
  if (!j.is_object()) {
    return Status(StatusCode::kDataLoss, "stored vault properties damaged");
  }
  VaultInfo info;
  ASSIGN_OR_RETURN(info.properties,
                   ApplyVaultProperties(j.value("properties", json::object()),
                                        VaultProperties{}));
  info.tags = j.value("tags", std::map<std::string, std::string>{});
  info.row = std::move(row);
  return info;
}

Result<VaultProperties> VaultService::Impl::Properties(
    const store::Vault& row) {
  const std::string id = Lower(row.name);
  {
    std::lock_guard lock(mu_);
    auto it = properties_.find(id);
    if (it != properties_.end() && it->second.first == row.properties_json) {
      return it->second.second;
    }
  }
  ASSIGN_OR_RETURN(VaultInfo info, ToInfo(row));
  std::lock_guard lock(mu_);
  if (properties_.size() >= kMaxCachedVaults) properties_.clear();
  properties_[id] = {row.properties_json, info.properties};
  return std::move(info.properties);
}

Result<VaultInfo> VaultService::Impl::Load(const std::string& name) {
  ASSIGN_OR_RETURN(store::Vault row,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.vaults().Get(name);
                   }));
  return ToInfo(std::move(row));
}

Status VaultService::Impl::AuthorizeVault(const identity::Caller& caller,
                                          const VaultRef& ref,
                                          resources::Action action) {
  return resources_.Authorize(caller, VaultResourceId(ref), action);
}

Result<std::shared_ptr<const crypto::Aead>> VaultService::Impl::MasterKey(
    const store::Vault& vault) {
  const std::string id = Lower(vault.name);
  {
    std::lock_guard lock(mu_);
    if (auto it = master_keys_.find(id); it != master_keys_.end()) {
      return it->second;
    }
  }
  ASSIGN_OR_RETURN(
      crypto::SecretBytes key,
      crypto::UnwrapKey(*master_seal_, vault.sealed_master_key, AsBytes(id)));
  ASSIGN_OR_RETURN(std::unique_ptr<crypto::Aead> aead,
                   crypto::Aead::Create(std::move(key)));
  std::shared_ptr<const crypto::Aead> shared = std::move(aead);
  std::lock_guard lock(mu_);
  master_keys_[id] = shared;
  return shared;
}

void VaultService::Impl::ReleaseKeyMaterial(
    const std::vector<store::VaultKeyVersion>& versions) {
  for (const store::VaultKeyVersion& v : versions) {
    if (!v.hsm_handle.empty() && token_ != nullptr) {
      // NotFound is fine: an earlier attempt may have destroyed it.
      (void)token_->Destroy(v.hsm_handle);
    }
    std::lock_guard lock(mu_);
    key_cache_.erase(KeyCacheId(v.vault, v.name, v.version));
  }
}

Status VaultService::Impl::PurgeKeyNow(const store::Vault& vault,
                                       const store::VaultKey& key) {
  ASSIGN_OR_RETURN(auto versions,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.vault_keys().ListVersions(vault.name, key.name);
                   }));
  RETURN_IF_ERROR(store_.Transact([&](store::Transaction& tx) {
    return tx.vault_keys().Delete(vault.name, key.name);
  }));
  // The rows are gone first: from here on nothing refers to the material.
  ReleaseKeyMaterial(versions);
  events_.Publish({VaultEvent::Kind::kKeyPurged, vault.name, key.name, ""});
  return Status::Ok();
}

Status VaultService::Impl::PurgeVaultNow(const store::Vault& vault) {
  std::vector<store::VaultKeyVersion> all;
  RETURN_IF_ERROR(store_.Read([&](store::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(auto keys, tx.vault_keys().List(vault.name));
    for (const store::VaultKey& k : keys) {
      ASSIGN_OR_RETURN(auto versions,
                       tx.vault_keys().ListVersions(vault.name, k.name));
      all.insert(all.end(), versions.begin(), versions.end());
    }
    return Status::Ok();
  }));
  RETURN_IF_ERROR(store_.Transact(
      [&](store::Transaction& tx) { return tx.vaults().Delete(vault.name); }));
  ReleaseKeyMaterial(all);
  {
    std::lock_guard lock(mu_);
    master_keys_.erase(Lower(vault.name));
  }
  events_.Publish({VaultEvent::Kind::kVaultPurged, vault.name, "", ""});
  return Status::Ok();
}

// ---- Management plane ----

Result<VaultService::PutVaultResult> VaultService::PutVault(
    const identity::Caller& caller, const VaultRef& ref,
    const std::string& location, const std::map<std::string, std::string>& tags,
    const json& properties) {
  if (!ValidVaultName(ref.name)) return InvalidVaultName(ref.name);
  RETURN_IF_ERROR(
      impl_->AuthorizeVault(caller, ref, resources::Action::kWrite));
  const std::string loc = resources::NormalizeLocation(location);
  if (loc.empty()) {
    return ArmReason(StatusCode::kInvalidArgument, "LocationRequired",
                     "The location property is required for this definition.");
  }
  const bool recover =
      properties.is_object() &&
      properties.value("createMode", json()) == json("recover");
  Result<store::Vault> existing = impl_->store_.ReadResult(
      [&](store::Transaction& tx) { return tx.vaults().Get(ref.name); });
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) {
    return existing.status();
  }
  const bool same_place =
      existing.ok() && existing->subscription_id == ref.subscription_id &&
      SameText(existing->resource_group, ref.resource_group);
  if (existing.ok() && existing->deleted_at != 0) {
    if (!recover || !same_place) {
      return ArmReason(StatusCode::kAlreadyExists, "ConflictError",
                       "A vault with the same name '" + ref.name +
                           "' exists in the deleted state. Recover it with "
                           "createMode 'recover' or purge it first.");
    }
  } else if (recover) {
    return ArmReason(StatusCode::kNotFound, "ResourceNotFound",
                     "No deleted vault named '" + ref.name +
                         "' to recover in this resource group.");
  }
  if (existing.ok() && !same_place) {
    return ArmReason(StatusCode::kAlreadyExists, "VaultAlreadyExists",
                     "The vault name '" + ref.name +
                         "' is already in use. Vault names are globally "
                         "unique so it is possible that the name is already "
                         "taken.");
  }

  PutVaultResult result;
  const int64_t now = impl_->Now();
  if (existing.ok()) {
    ASSIGN_OR_RETURN(VaultInfo current, impl_->ToInfo(*existing));
    if (existing->location != loc) {
      return ArmReason(StatusCode::kInvalidArgument, "InvalidResourceLocation",
                       "The resource '" + ref.name +
                           "' already exists in location '" +
                           existing->location + "' in resource group '" +
                           existing->resource_group +
                           "'. A resource with the same name cannot be "
                           "created in location '" +
                           loc + "'.");
    }
    // PUT replaces the definition; a recover PUT may carry only createMode.
    json effective = properties;
    if (recover) effective.erase("createMode");
    VaultProperties next = current.properties;
    if (!recover || effective.size() > 0) {
      ASSIGN_OR_RETURN(next,
                       ApplyVaultProperties(effective, VaultProperties{}));
      // What cannot change stays as it is when the PUT leaves it out.
      if (!effective.contains("softDeleteRetentionInDays")) {
        next.soft_delete_retention_days =
            current.properties.soft_delete_retention_days;
      }
      if (current.properties.enable_purge_protection &&
          effective.value("enablePurgeProtection", json()) != json(false)) {
        next.enable_purge_protection = true;
      }
    }
    if (current.properties.enable_purge_protection &&
        !next.enable_purge_protection) {
      return ArmReason(StatusCode::kInvalidArgument, "BadRequest",
                       "Purge protection cannot be disabled once it has been "
                       "enabled.");
    }
    if (next.soft_delete_retention_days !=
        current.properties.soft_delete_retention_days) {
      return ArmReason(StatusCode::kInvalidArgument, "BadRequest",
                       "softDeleteRetentionInDays cannot be changed after "
                       "the vault is created.");
    }
    if (next.tenant_id != caller.tenant_id) {
      return ArmReason(StatusCode::kInvalidArgument, "BadRequest",
                       "The vault's tenantId must be the tenant of its "
                       "subscription, '" +
                           caller.tenant_id + "'.");
    }
    store::Vault row = *existing;
    row.properties_json = impl_->StoredProperties(next, tags);
    row.updated_at = now;
    row.deleted_at = 0;
    row.scheduled_purge_at = 0;
    RETURN_IF_ERROR(impl_->store_.Transact(
        [&](store::Transaction& tx) { return tx.vaults().Update(row); }));
    impl_->events_.Publish({recover ? VaultEvent::Kind::kVaultRecovered
                                    : VaultEvent::Kind::kVaultUpdated,
                            row.name, "", ""});
    result.vault = {row, next, tags};
    result.created = false;
    return result;
  }

  ASSIGN_OR_RETURN(VaultProperties props,
                   ApplyVaultProperties(properties, VaultProperties{}));
  if (props.tenant_id != caller.tenant_id) {
    return ArmReason(StatusCode::kInvalidArgument, "BadRequest",
                     "The vault's tenantId must be the tenant of its "
                     "subscription, '" +
                         caller.tenant_id + "'.");
  }
  crypto::SecretBytes master = crypto::NewAes256Key();
  ASSIGN_OR_RETURN(Bytes sealed, crypto::WrapKey(*impl_->master_seal_, master,
                                                 AsBytes(Lower(ref.name))));
  store::Vault row{.name = ref.name,
                   .subscription_id = ref.subscription_id,
                   .resource_group = ref.resource_group,
                   .location = loc,
                   .tenant_id = props.tenant_id,
                   .properties_json = impl_->StoredProperties(props, tags),
                   .sealed_master_key = std::move(sealed),
                   .created_at = now,
                   .updated_at = now};
  Status created = impl_->store_.Transact(
      [&](store::Transaction& tx) { return tx.vaults().Create(row); });
  if (created.code() == StatusCode::kNotFound) {
    return ArmReason(
        StatusCode::kNotFound, "ResourceGroupNotFound",
        "Resource group '" + ref.resource_group + "' could not be found.");
  }
  if (created.code() == StatusCode::kAlreadyExists) {
    return ArmReason(StatusCode::kAlreadyExists, "VaultAlreadyExists",
                     "The vault name '" + ref.name + "' is already in use.");
  }
  RETURN_IF_ERROR(created);
  impl_->events_.Publish({VaultEvent::Kind::kVaultCreated, row.name, "", ""});
  result.vault = {row, props, tags};
  result.created = true;
  return result;
}

Result<VaultInfo> VaultService::PatchVault(
    const identity::Caller& caller, const VaultRef& ref,
    const std::optional<std::map<std::string, std::string>>& tags,
    const json& properties) {
  ASSIGN_OR_RETURN(VaultInfo current, GetVault(caller, ref));
  RETURN_IF_ERROR(
      impl_->AuthorizeVault(caller, ref, resources::Action::kWrite));
  json patch = properties.is_null() ? json::object() : properties;
  if (patch.contains("softDeleteRetentionInDays") &&
      patch["softDeleteRetentionInDays"] !=
          json(current.properties.soft_delete_retention_days)) {
    return ArmReason(StatusCode::kInvalidArgument, "BadRequest",
                     "softDeleteRetentionInDays cannot be changed after the "
                     "vault is created.");
  }
  ASSIGN_OR_RETURN(VaultProperties next,
                   ApplyVaultProperties(patch, current.properties));
  if (next.tenant_id != current.properties.tenant_id &&
      next.tenant_id != caller.tenant_id) {
    return ArmReason(StatusCode::kInvalidArgument, "BadRequest",
                     "The vault's tenantId must be the caller's tenant.");
  }
  const std::map<std::string, std::string> next_tags =
      tags ? *tags : current.tags;
  store::Vault row = current.row;
  row.properties_json = impl_->StoredProperties(next, next_tags);
  row.updated_at = impl_->Now();
  RETURN_IF_ERROR(impl_->store_.Transact(
      [&](store::Transaction& tx) { return tx.vaults().Update(row); }));
  impl_->events_.Publish({VaultEvent::Kind::kVaultUpdated, row.name, "", ""});
  return VaultInfo{row, next, next_tags};
}

Result<VaultInfo> VaultService::GetVault(const identity::Caller& caller,
                                         const VaultRef& ref) {
  RETURN_IF_ERROR(impl_->AuthorizeVault(caller, ref, resources::Action::kRead));
  Result<VaultInfo> info = impl_->Load(ref.name);
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kNotFound) {
      return VaultNotFound(ref);
    }
    return info.status();
  }
  if (info->row.deleted_at != 0 ||
      info->row.subscription_id != ref.subscription_id ||
      !SameText(info->row.resource_group, ref.resource_group)) {
    return VaultNotFound(ref);
  }
  return info;
}

Result<VaultInfo> VaultService::DescribeVault(const std::string& name) {
  ASSIGN_OR_RETURN(VaultInfo info, impl_->Load(name));
  if (info.row.deleted_at != 0) {
    return NotFoundError("vault '" + name + "' is deleted");
  }
  return info;
}

Result<std::vector<VaultInfo>> VaultService::ListVaults(
    const identity::Caller& caller, const std::string& subscription_id,
    const std::string& resource_group) {
  const std::string scope =
      resource_group.empty()
          ? resources::SubscriptionScope(subscription_id)
          : resources::ResourceGroupScope(subscription_id, resource_group);
  RETURN_IF_ERROR(
      impl_->resources_.Authorize(caller, scope, resources::Action::kRead));
  if (!resource_group.empty()) {
    RETURN_IF_ERROR(
        impl_->resources_
            .GetResourceGroup(caller, subscription_id, resource_group)
            .status());
  }
  ASSIGN_OR_RETURN(auto rows,
                   impl_->store_.ReadResult([&](store::Transaction& tx) {
                     return tx.vaults().ListBySubscription(subscription_id);
                   }));
  std::vector<VaultInfo> out;
  for (store::Vault& row : rows) {
    if (row.deleted_at != 0) continue;
    if (!resource_group.empty() &&
        !SameText(row.resource_group, resource_group)) {
      continue;
    }
    ASSIGN_OR_RETURN(VaultInfo info, impl_->ToInfo(std::move(row)));
    out.push_back(std::move(info));
  }
  return out;
}

Status VaultService::DeleteVault(const identity::Caller& caller,
                                 const VaultRef& ref) {
  RETURN_IF_ERROR(
      impl_->AuthorizeVault(caller, ref, resources::Action::kDelete));
  ASSIGN_OR_RETURN(VaultInfo info, GetVault(caller, ref));
  store::Vault row = info.row;
  row.deleted_at = impl_->Now();
  row.scheduled_purge_at =
      row.deleted_at +
      int64_t{info.properties.soft_delete_retention_days} * 86400;
  RETURN_IF_ERROR(impl_->store_.Transact(
      [&](store::Transaction& tx) { return tx.vaults().Update(row); }));
  impl_->events_.Publish({VaultEvent::Kind::kVaultDeleted, row.name, "", ""});
  return Status::Ok();
}

Status VaultService::DeleteVaultsInGroup(const std::string& subscription_id,
                                         const std::string& resource_group) {
  ASSIGN_OR_RETURN(auto rows,
                   impl_->store_.ReadResult([&](store::Transaction& tx) {
                     return tx.vaults().ListBySubscription(subscription_id);
                   }));
  for (store::Vault& row : rows) {
    if (row.deleted_at != 0 || !SameText(row.resource_group, resource_group)) {
      continue;
    }
    ASSIGN_OR_RETURN(VaultInfo info, impl_->ToInfo(row));
    row.deleted_at = impl_->Now();
    row.scheduled_purge_at =
        row.deleted_at +
        int64_t{info.properties.soft_delete_retention_days} * 86400;
    RETURN_IF_ERROR(impl_->store_.Transact(
        [&](store::Transaction& tx) { return tx.vaults().Update(row); }));
    impl_->events_.Publish({VaultEvent::Kind::kVaultDeleted, row.name, "", ""});
  }
  return Status::Ok();
}

Result<std::vector<VaultInfo>> VaultService::ListDeletedVaults(
    const identity::Caller& caller, const std::string& subscription_id) {
  RETURN_IF_ERROR(impl_->resources_.Authorize(
      caller, resources::SubscriptionScope(subscription_id),
      resources::Action::kRead));
  ASSIGN_OR_RETURN(auto rows,
                   impl_->store_.ReadResult([&](store::Transaction& tx) {
                     return tx.vaults().ListBySubscription(subscription_id);
                   }));
  std::vector<VaultInfo> out;
  for (store::Vault& row : rows) {
    if (row.deleted_at == 0) continue;
    ASSIGN_OR_RETURN(VaultInfo info, impl_->ToInfo(std::move(row)));
    out.push_back(std::move(info));
  }
  return out;
}

Result<VaultInfo> VaultService::GetDeletedVault(
    const identity::Caller& caller, const std::string& subscription_id,
    const std::string& location, const std::string& name) {
  ASSIGN_OR_RETURN(auto deleted, ListDeletedVaults(caller, subscription_id));
  for (VaultInfo& v : deleted) {
    if (SameText(v.row.name, name) &&
        v.row.location == resources::NormalizeLocation(location)) {
      return std::move(v);
    }
  }
  return ArmReason(
      StatusCode::kNotFound, "ResourceNotFound",
      "The deleted vault '" + name + "' was not found in '" + location + "'.");
}

Status VaultService::PurgeDeletedVault(const identity::Caller& caller,
                                       const std::string& subscription_id,
                                       const std::string& location,
                                       const std::string& name) {
  ASSIGN_OR_RETURN(VaultInfo v,
                   GetDeletedVault(caller, subscription_id, location, name));
  RETURN_IF_ERROR(impl_->resources_.Authorize(
      caller, VaultResourceId({subscription_id, v.row.resource_group, name}),
      resources::Action::kDelete));
  if (v.properties.enable_purge_protection &&
      impl_->Now() < v.row.scheduled_purge_at) {
    return ArmReason(StatusCode::kPermissionDenied, "Forbidden",
                     "Operation 'purge' is not allowed because purge "
                     "protection is enabled for vault '" +
                         v.row.name +
                         "'. It will be purged automatically after its "
                         "retention period.");
  }
  return impl_->PurgeVaultNow(v.row);
}

Result<VaultService::NameAvailability> VaultService::CheckNameAvailability(
    const identity::Caller& caller, const std::string& subscription_id,
    const std::string& name) {
  RETURN_IF_ERROR(impl_->resources_.Authorize(
      caller, resources::SubscriptionScope(subscription_id),
      resources::Action::kRead));
  NameAvailability out;
  if (!ValidVaultName(name)) {
    out.available = false;
    out.reason = "AccountNameInvalid";
    out.message = InvalidVaultName(name).message();
    return out;
  }
  Result<store::Vault> existing = impl_->store_.ReadResult(
      [&](store::Transaction& tx) { return tx.vaults().Get(name); });
  if (existing.ok()) {
    out.available = false;
    out.reason = "AlreadyExists";
    out.message = "The vault name '" + name + "' is already in use.";
  } else if (existing.status().code() != StatusCode::kNotFound) {
    return existing.status();
  }
  return out;
}

Result<std::vector<AccessPolicy>> VaultService::UpdateAccessPolicies(
    const identity::Caller& caller, const VaultRef& ref,
    const std::string& operation_kind,
    const std::vector<AccessPolicy>& entries) {
  ASSIGN_OR_RETURN(VaultInfo current, GetVault(caller, ref));
  RETURN_IF_ERROR(
      impl_->AuthorizeVault(caller, ref, resources::Action::kWrite));
  std::vector<AccessPolicy> policies = current.properties.access_policies;
  auto same = [](const AccessPolicy& a, const AccessPolicy& b) {
    return a.tenant_id == b.tenant_id && a.object_id == b.object_id &&
           a.application_id == b.application_id;
  };
  const std::string kind = Lower(operation_kind);
  for (const AccessPolicy& e : entries) {
    if (e.tenant_id != current.properties.tenant_id) {
      return ArmReason(StatusCode::kInvalidArgument, "BadRequest",
                       "Every access policy must use the vault's tenant.");
    }
    auto it = std::find_if(policies.begin(), policies.end(),
                           [&](const AccessPolicy& p) { return same(p, e); });
    if (kind == "add") {
      if (it == policies.end()) {
        policies.push_back(e);
        continue;
      }
      // "add" merges permissions into the existing entry, as ARM does.
      auto merge = [](std::vector<std::string>& into,
                      const std::vector<std::string>& more) {
        for (const std::string& m : more) {
          if (std::none_of(into.begin(), into.end(),
                           [&](const auto& x) { return SameText(x, m); })) {
            into.push_back(m);
          }
        }
      };
      merge(it->keys, e.keys);
      merge(it->secrets, e.secrets);
      merge(it->certificates, e.certificates);
      merge(it->storage, e.storage);
    } else if (kind == "replace") {
      if (it == policies.end()) {
        policies.push_back(e);
      } else {
        *it = e;
      }
    } else if (kind == "remove") {
      if (it == policies.end()) continue;
      // "remove" takes away the listed permissions; an entry left with
      // none goes.
      auto strip = [](std::vector<std::string>& from,
                      const std::vector<std::string>& less) {
        std::erase_if(from, [&](const std::string& x) {
          return std::any_of(less.begin(), less.end(),
                             [&](const auto& l) { return SameText(x, l); });
        });
      };
      const bool whole = e.keys.empty() && e.secrets.empty() &&
                         e.certificates.empty() && e.storage.empty();
      strip(it->keys, e.keys);
      strip(it->secrets, e.secrets);
      strip(it->certificates, e.certificates);
      strip(it->storage, e.storage);
      if (whole || (it->keys.empty() && it->secrets.empty() &&
                    it->certificates.empty() && it->storage.empty())) {
        policies.erase(it);
      }
    } else {
      return ArmReason(StatusCode::kInvalidArgument, "BadRequest",
                       "operationKind must be add, replace or remove.");
    }
  }
  if (policies.size() > 1024) {
    return ArmReason(StatusCode::kInvalidArgument, "BadRequest",
                     "A vault may have at most 1024 access policies.");
  }
  VaultProperties next = current.properties;
  next.access_policies = policies;
  store::Vault row = current.row;
  row.properties_json = impl_->StoredProperties(next, current.tags);
  row.updated_at = impl_->Now();
  RETURN_IF_ERROR(impl_->store_.Transact(
      [&](store::Transaction& tx) { return tx.vaults().Update(row); }));
  impl_->events_.Publish({VaultEvent::Kind::kVaultUpdated, row.name, "", ""});
  return policies;
}

Result<std::vector<store::AuditEvent>> VaultService::ReadAudit(
    const identity::Caller& caller, const VaultRef& ref, int64_t after_seq,
    size_t limit) {
  RETURN_IF_ERROR(GetVault(caller, ref).status());
  impl_->audit_.Flush();
  return impl_->store_.ReadResult([&](store::Transaction& tx) {
    return tx.audit().List(ref.name, after_seq, limit);
  });
}

// ---- Maintenance ----

Result<int> VaultService::RunMaintenance() {
  const int64_t now = impl_->Now();
  int done = 0;
  // A vault or key that cannot be handled now (an RSA-HSM key to rotate on
  // a server without its token, say) must not hold up the others: go on,
  // and report the first failure at the end.
  Status first_error;
  auto note = [&](const Status& s) {
    if (first_error.ok()) first_error = s;
  };
  // Purges or rotates one key of a live vault when its time has come.
  auto maintain_key = [&](const VaultInfo& info,
                          const store::VaultKey& k) -> Status {
    if (k.deleted_at != 0) {
      if (now < k.scheduled_purge_at) return Status::Ok();
      RETURN_IF_ERROR(impl_->PurgeKeyNow(info.row, k));
      ++done;
      return Status::Ok();
    }
    if (k.rotation_policy_json.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(RotationPolicy policy,
                     ParseRotationPolicyStoreJson(k.rotation_policy_json));
    ASSIGN_OR_RETURN(store::VaultKeyVersion latest,
                     impl_->store_.ReadResult([&](store::Transaction& tx) {
                       return tx.vault_keys().LatestVersion(info.row.name,
                                                            k.name);
                     }));
    ASSIGN_OR_RETURN(KeyAttributes attrs,
                     ParseKeyAttributesStoreJson(latest.attributes_json));
    bool due = false;
    for (const LifetimeAction& a : policy.lifetime_actions) {
      if (a.action != "Rotate") continue;
      if (!a.time_after_create.empty()) {
        ASSIGN_OR_RETURN(int64_t after, ParseIsoDuration(a.time_after_create));
        due = due || now >= latest.created_at + after;
      }
      if (!a.time_before_expiry.empty() && attrs.expires) {
        ASSIGN_OR_RETURN(int64_t before,
                         ParseIsoDuration(a.time_before_expiry));
        due = due || now >= *attrs.expires - before;
      }
    }
    if (!due) return Status::Ok();
    RETURN_IF_ERROR(
        impl_->RotateNow({info.row, info.properties}, k.name).status());
    ++done;
    return Status::Ok();
  };

  ASSIGN_OR_RETURN(auto vaults,
                   impl_->store_.ReadResult([&](store::Transaction& tx) {
                     return tx.vaults().List();
                   }));
  for (const store::Vault& v : vaults) {
    if (v.deleted_at != 0) {
      if (now >= v.scheduled_purge_at) {
        Status purged = impl_->PurgeVaultNow(v);
        if (purged.ok()) ++done;
        note(purged);
      }
      continue;
    }
    Result<VaultInfo> info = impl_->ToInfo(v);
    if (!info.ok()) {
      note(info.status());
      continue;
    }
    Result<std::vector<store::VaultKey>> keys = impl_->store_.ReadResult(
        [&](store::Transaction& tx) { return tx.vault_keys().List(v.name); });
    if (!keys.ok()) {
      note(keys.status());
      continue;
    }
    for (const store::VaultKey& k : *keys) note(maintain_key(*info, k));
  }
  if (!first_error.ok()) return first_error;
  return done;
}

}  // namespace atrest::vault
