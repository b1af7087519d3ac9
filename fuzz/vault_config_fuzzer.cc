// Fuzzes the parsers of vault/config.h, which read untrusted ARM request
// bodies (vault properties, access policies) and Key Vault rotation
// policies, and the ISO 8601 duration parser behind them. The first byte
// chooses the parser; the rest is its input.
//
// Invariants, each checked with abort():
//  - every parser returns a value or an error, never crashes or throws;
//  - accepted vault properties are within the rules (retention 7-90, soft
//    delete on, access policies in the vault's tenant) and survive a round
//    trip through their JSON form unchanged;
//  - an accepted rotation policy has at most one Rotate and one Notify
//    action and round-trips through its stored form;
//  - an accepted duration is not negative.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "base/json.h"
#include "fuzz_check.h"
#include "vault/config.h"

namespace atrest::vault {
namespace {

void FuzzVaultProperties(const std::string& text) {
  // As the ARM surface reads a body: through the one entry point.
  nlohmann::json j = ParseJsonOrDiscarded(text, kRequestJsonLimits);
  if (j.is_discarded()) return;
  Result<vault::VaultProperties> p = ApplyVaultProperties(j, {});
  if (!p.ok()) {
    FUZZ_CHECK(p.status().code() == StatusCode::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(p->soft_delete_retention_days >= 7 &&
             p->soft_delete_retention_days <= 90);
  FUZZ_CHECK(p->enable_soft_delete);
  for (const AccessPolicy& a : p->access_policies) {
    FUZZ_CHECK(a.tenant_id == p->tenant_id);
  }
  Result<vault::VaultProperties> again =
      ApplyVaultProperties(VaultPropertiesJson(*p, ""), {});
  FUZZ_CHECK(again.ok() && *again == *p);
}

void FuzzRotationPolicy(const std::string& text) {
  nlohmann::json j = ParseJsonOrDiscarded(text, kRequestJsonLimits);
  if (j.is_discarded()) return;
  Result<vault::RotationPolicy> p = ParseRotationPolicy(j);
  if (!p.ok()) return;
  int rotate = 0, notify = 0;
  for (const LifetimeAction& a : p->lifetime_actions) {
    rotate += a.action == "Rotate";
    notify += a.action == "Notify";
  }
  FUZZ_CHECK(rotate <= 1 && notify == 1);
  Result<vault::RotationPolicy> stored =
      ParseRotationPolicyStoreJson(DumpJson(RotationPolicyStoreJson(*p)));
  FUZZ_CHECK(stored.ok() && *stored == *p);
}

void FuzzDuration(const std::string& text) {
  Result<int64_t> seconds = ParseIsoDuration(text);
  if (seconds.ok()) FUZZ_CHECK(*seconds >= 0);
}

}  // namespace
}  // namespace atrest::vault

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      atrest::vault::FuzzVaultProperties(text);
      break;
    case 1:
      atrest::vault::FuzzRotationPolicy(text);
      break;
    default:
      atrest::vault::FuzzDuration(text);
      break;
  }
  return 0;
}
