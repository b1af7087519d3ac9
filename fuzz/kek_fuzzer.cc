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
//  - a vault URI the allowed hosts accept (keys/vault_hosts.h) is normal,
//    has no user info, is "https://<one label>.<suffix>" at the suffix's
//    port, and checks again to the same endpoint;
//  - an accepted challenge names a tenant and a resource, and the audience
//    a vault's challenge may yield is always one of the allowed audiences;
//  - an accepted key bundle has a key name and a non-negative size;
//  - accepted encryption settings survive their ARM form unchanged.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "accounts/account_keys.h"
#include "base/json.h"
#include "fuzz_check.h"
#include "keys/keyvault_client.h"
#include "keys/vault_hosts.h"

namespace {

using atrest::Result;
using atrest::accounts::EncryptionSettings;
using atrest::accounts::KeyStatus;
using atrest::keys::VaultKeyId;

const atrest::keys::VaultHosts& Hosts() {
  static const atrest::keys::VaultHosts hosts = [] {
    auto allowed = atrest::keys::ParseVaultSuffixes(
        std::string(atrest::keys::kAzureVaultSuffixes) + ",vault.test:4443");
    FUZZ_CHECK(allowed.ok());
    auto h = atrest::keys::VaultHosts::Create(
        {.host = "vault.localhost", .port = 8443}, *allowed);
    FUZZ_CHECK(h.ok());
    return *h;
  }();
  return hosts;
}

void FuzzVaultHosts(const std::string& text) {
  Result<atrest::keys::VaultEndpoint> v = Hosts().Check(text);
  if (!v.ok()) return;
  FUZZ_CHECK(v->uri.find('@') == std::string::npos);
  FUZZ_CHECK(v->host == v->name + "." + v->suffix.host);
  FUZZ_CHECK(v->name.find('.') == std::string::npos && !v->name.empty());
  FUZZ_CHECK(v->port == v->suffix.port);
  Result<atrest::keys::VaultEndpoint> again = Hosts().Check(v->uri);
  FUZZ_CHECK(again.ok() && again->uri == v->uri);
  // Whatever a challenge says, the audience is one of the allowed ones.
  const std::vector<std::string> audiences = Hosts().Audiences();
  Result<std::string> audience = Hosts().ChallengeAudience(*v, text);
  if (audience.ok()) {
    FUZZ_CHECK(std::find(audiences.begin(), audiences.end(), *audience) !=
               audiences.end());
  }
}

void FuzzKeyId(const std::string& text) {
  FuzzVaultHosts(text);
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
  if (c.ok()) {
    FUZZ_CHECK(!c->tenant_id.empty() && !c->resource.empty());
    const std::vector<std::string> audiences = Hosts().Audiences();
    for (const char* vault :
         {"https://kv.vault.azure.net", "https://kv.vault.localhost:8443"}) {
      Result<std::string> audience =
          Hosts().ChallengeAudience(*Hosts().Check(vault), c->resource);
      if (audience.ok()) {
        FUZZ_CHECK(std::find(audiences.begin(), audiences.end(), *audience) !=
                   audiences.end());
      }
    }
  }
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
