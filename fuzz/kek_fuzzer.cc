// Fuzzes what atrest reads from key vaults and from customers when a
// customer-managed key is set: key identifiers and vault URIs, a vault's
// challenge header and key bundle (keys/keyvault_client.h), and an ARM
// account's properties.encryption and stored key state
// (accounts/account_keys.h). The first byte chooses the parser.
//
// Invariants, each checked with abort():
//  - no parser crashes or throws; each returns a value or an error;
//  - an accepted key identifier prints back to an identifier that parses to
//    the same parts; an accepted vault URI is normal (parsing it again
//    changes nothing);
//  - an accepted challenge names a tenant and a resource;
//  - an accepted key bundle has a key name and a non-negative size;
//  - accepted encryption settings survive their ARM form unchanged.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "accounts/account_keys.h"
#include "base/json.h"
#include "fuzz_check.h"
#include "keys/keyvault_client.h"

namespace {

using atrest::Result;
using atrest::accounts::EncryptionSettings;
using atrest::accounts::KeyStatus;
using atrest::keys::VaultKeyId;

void FuzzKeyId(const std::string& text) {
  Result<VaultKeyId> id = VaultKeyId::Parse(text);
  if (id.ok()) {
    Result<VaultKeyId> again = VaultKeyId::Parse(id->ToString());
    FUZZ_CHECK(again.ok() && again->vault_uri == id->vault_uri &&
               again->name == id->name && again->version == id->version);
  }
  Result<std::string> uri = VaultKeyId::NormalizeVaultUri(text);
  if (uri.ok()) {
    Result<std::string> again = VaultKeyId::NormalizeVaultUri(*uri);
    FUZZ_CHECK(again.ok() && *again == *uri);
  }
}

void FuzzVaultAnswers(const std::string& text) {
  Result<atrest::keys::VaultChallenge> c = atrest::keys::ParseChallenge(text);
  if (c.ok()) FUZZ_CHECK(!c->tenant_id.empty() && !c->resource.empty());
  Result<atrest::keys::VaultKeyInfo> k = atrest::keys::ParseKeyBundle(text);
  if (k.ok()) FUZZ_CHECK(!k->id.name.empty() && k->key_bits >= 0);
}

void FuzzEncryption(const std::string& text) {
  nlohmann::json j =
      atrest::ParseJsonOrDiscarded(text, atrest::kRequestJsonLimits);
  if (!j.is_discarded()) {
    Result<EncryptionSettings> e = EncryptionSettings::FromArm(j);
    if (e.ok()) {
      Result<EncryptionSettings> again =
          EncryptionSettings::FromArm(e->ToArm());
      FUZZ_CHECK(again.ok() && *again == *e);
    }
  }
  KeyStatus s = KeyStatus::FromJson(text);
  FUZZ_CHECK(!s.state.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      FuzzKeyId(text);
      break;
    case 1:
      FuzzVaultAnswers(text);
      break;
    default:
      FuzzEncryption(text);
  }
  return 0;
}
