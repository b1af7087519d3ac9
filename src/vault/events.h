// EventBus: in-process notifications of every change to a vault, its keys,
// versions, access policies or network rules (DESIGN.md §3 revocation).
// Subscribers (the accounts service) drop cached keys when they hear of a
// change they depend on.
//
// Publish runs every handler on the publishing thread, after the change has
// committed; handlers must be quick and must not publish.
//
// Thread safety: safe for concurrent use.
#ifndef ATREST_VAULT_EVENTS_H_
#define ATREST_VAULT_EVENTS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace atrest::vault {

struct VaultEvent {
  enum class Kind {
    kVaultCreated,
    kVaultUpdated,  // Properties, access policies or network rules.
    kVaultDeleted,
    kVaultRecovered,
    kVaultPurged,
    kKeyCreated,         // Create, import or restore.
    kKeyVersionCreated,  // Rotation (manual or by policy).
    kKeyUpdated,         // Attributes, key_ops or tags of a version.
    kKeyDeleted,
    kKeyRecovered,
    kKeyPurged,
    kRotationPolicyChanged,
  };
  Kind kind;
  std::string vault;    // Vault name as created.
  std::string key;      // Empty for vault-level events.
  std::string version;  // Empty unless one version changed.
};

const char* EventKindName(VaultEvent::Kind kind);

class EventBus {
 public:
  using Handler = std::function<void(const VaultEvent&)>;
  // Returns an id for Unsubscribe.
  uint64_t Subscribe(Handler handler);
  void Unsubscribe(uint64_t id);
  void Publish(const VaultEvent& event);

 private:
  std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Handler> handlers_;  // Guarded by mu_.
};

}  // namespace atrest::vault

#endif  // ATREST_VAULT_EVENTS_H_
