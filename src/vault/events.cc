#include "vault/events.h"

#include <vector>

namespace atrest::vault {

const char* EventKindName(VaultEvent::Kind kind) {
  using K = VaultEvent::Kind;
  switch (kind) {
    case K::kVaultCreated:
      return "VaultCreated";
    case K::kVaultUpdated:
      return "VaultUpdated";
    case K::kVaultDeleted:
      return "VaultDeleted";
    case K::kVaultRecovered:
      return "VaultRecovered";
    case K::kVaultPurged:
      return "VaultPurged";
    case K::kKeyCreated:
      return "KeyCreated";
    case K::kKeyVersionCreated:
      return "KeyVersionCreated";
    case K::kKeyUpdated:
      return "KeyUpdated";
    case K::kKeyDeleted:
      return "KeyDeleted";
    case K::kKeyRecovered:
      return "KeyRecovered";
    case K::kKeyPurged:
      return "KeyPurged";
    case K::kRotationPolicyChanged:
      return "RotationPolicyChanged";
  }
  return "Unknown";
}

uint64_t EventBus::Subscribe(Handler handler) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  handlers_.emplace(id, std::move(handler));
  return id;
}

void EventBus::Unsubscribe(uint64_t id) {
  std::lock_guard lock(mu_);
  handlers_.erase(id);
}

void EventBus::Publish(const VaultEvent& event) {
  // Copy so that a handler may Unsubscribe without deadlocking.
  std::vector<Handler> handlers;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, h] : handlers_) handlers.push_back(h);
  }
  for (const Handler& h : handlers) h(event);
}

}  // namespace atrest::vault
