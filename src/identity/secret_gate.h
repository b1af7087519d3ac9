// ClientSecretGate: what stands between the token endpoint and its slow
// secret check (PBKDF2, crypto/secret_hash.h), so that the check is never a
// lever against the service or against one client.
//
//  * Verified secrets are remembered: a keyed hash (HKDF-SHA256 under a key
//    drawn at random when the gate is made, never stored) of the client and
//    the secret maps to the id of the stored secret it matched. A correct
//    secret seen since the server started costs no PBKDF2 and is never
//    throttled, whatever others do with the same client id. At most
//    `max_remembered` entries (all forgotten when full).
//  * Failures are counted per client ("<tenant>/<client id>") and per
//    address (an IPv4 address; the /64 of an IPv6 one). After
//    `free_failures` failures of a key, each further failure doubles the
//    wait before its next slow check (`base_delay`, up to `max_delay`).
//    A key's failures are forgotten `forget_after` after its last one.
//    - From an address in backoff, no slow check runs at all.
//    - For a client in backoff, slow checks run only for addresses with no
//      failure of their own, so someone who knows a client id and fails
//      from one address cannot lock its owner out from another.
//  * At most `max_concurrent` slow checks run at once. A request that finds
//    them all busy waits at most `slot_wait` for one, and only while fewer
//    than `max_waiters` wait; otherwise it is refused at once. An unbounded
//    queue would hold the handler threads that requests with remembered
//    secrets need.
//  * A check of the same client and secret that is already running is not
//    run again: the requests that ask for it meanwhile (a burst of clients
//    starting with one secret) share its outcome.
// A refusal says how long to wait (the token endpoint's Retry-After).
//
// Thread safety: safe for concurrent use. Backoff times come from the Env
// clock (monotonic), so tests move them by hand; the waits for a place or
// for a shared check are real time, bounded as above.
#ifndef ATREST_IDENTITY_SECRET_GATE_H_
#define ATREST_IDENTITY_SECRET_GATE_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "crypto/secret_bytes.h"
#include "env/env.h"

namespace atrest::identity {

struct SecretGateOptions {
  int max_concurrent = 0;  // 0: half the cores, at least 1.
  int free_failures = 5;
  std::chrono::seconds base_delay{1};
  std::chrono::seconds max_delay{60};
  std::chrono::seconds forget_after{900};
  size_t max_tracked = 10000;  // Per table (clients, addresses).
  size_t max_remembered = 4096;
  std::chrono::milliseconds slot_wait{250};
  int max_waiters = 0;  // 0: four per place.
};

class ClientSecretGate {
 public:
  ClientSecretGate(const env::Clock& clock, SecretGateOptions options);
  ClientSecretGate(const ClientSecretGate&) = delete;
  ClientSecretGate& operator=(const ClientSecretGate&) = delete;

  // The id of the stored secret that `secret` matched for `client` before,
  // if it did (the caller still checks that secret exists and is valid).
  std::optional<std::string> Remembered(std::string_view client,
                                        std::string_view secret) const;
  // Remembers that `secret` matched the stored secret `key_id` of `client`.
  void Remember(std::string_view client, std::string_view secret,
                const std::string& key_id);

  // A place among the slow checks, held until destroyed.
  class Permit {
   public:
    Permit(Permit&& other) noexcept : gate_(other.gate_) {
      other.gate_ = nullptr;
    }
    Permit& operator=(Permit&& other) noexcept;
    ~Permit();

   private:
    friend class ClientSecretGate;
    explicit Permit(ClientSecretGate* gate) : gate_(gate) {}
    ClientSecretGate* gate_;
  };

  struct Decision {
    enum class Refusal { kNone, kBackoff, kBusy };
    std::optional<Permit> permit;  // Set when the slow check may run.
    Refusal refusal = Refusal::kNone;
    std::chrono::seconds retry_after{0};  // At least 1 s when refused.
  };
  // How long a slow check for `client` from the address `peer` must wait
  // (nullopt: it need not); takes no place. For refusing early, before any
  // other work.
  std::optional<std::chrono::seconds> Backoff(std::string_view client,
                                              std::string_view peer);
  // Whether a slow check for `client` from the address `peer` may run now:
  // not in backoff, and a place is free (within slot_wait).
  Decision Admit(std::string_view client, std::string_view peer);

  // Counts a failed check (a wrong secret) against `client` and `peer`.
  void Failed(std::string_view client, std::string_view peer);

  // The slow check of `secret` for `client` from `peer`, end to end:
  // `verify` (the check itself: the id of the stored secret that matches,
  // or nullopt) runs once admitted, or, when the same check is running
  // already, its outcome is shared. A match is remembered; a wrong secret
  // counts as a failure of `client` and `peer`.
  struct Outcome {
    enum class Kind { kMatched, kWrong, kBackoff, kBusy };
    Kind kind = Kind::kWrong;
    std::string key_id;                   // kMatched.
    std::chrono::seconds retry_after{0};  // kBackoff, kBusy.
  };
  Outcome Check(std::string_view client, std::string_view secret,
                std::string_view peer,
                const std::function<std::optional<std::string>()>& verify);

  // The table key of an address: an IPv4 address as is, the /64 of an
  // IPv6 one ("2001:db8:1:2::/64"), anything else as given.
  static std::string AddressKey(std::string_view peer);

 private:
  struct Record {
    int failures = 0;
    env::MonoTime last{};
    env::MonoTime until{};  // No slow check before this once in backoff.
  };
  using Table = std::unordered_map<std::string, Record>;
  // A check that is running, for the requests that wait for its outcome.
  struct Flight {
    bool done = false;
    Outcome outcome;
  };

  // The record of `key`, forgotten when stale. Requires mu_.
  const Record* Find(Table& table, const std::string& key, env::MonoTime now);
  // Until when a check must wait, if it must. Requires mu_.
  std::optional<env::MonoTime> WaitUntil(std::string_view client,
                                         const std::string& address,
                                         env::MonoTime now);
  void Count(Table& table, const std::string& key, env::MonoTime now);
  std::string Digest(std::string_view client, std::string_view secret) const;
  void Release();

  const env::Clock& clock_;
  const SecretGateOptions options_;
  const int max_concurrent_;
  const int max_waiters_;
  const crypto::SecretBytes digest_key_;

  mutable std::mutex mu_;
  std::condition_variable slot_freed_;
  std::condition_variable flight_done_;
  Table clients_;                                            // Guarded by mu_.
  Table addresses_;                                          // Guarded by mu_.
  std::unordered_map<std::string, std::string> remembered_;  // Guarded.
  // By digest of client and secret. Guarded by mu_.
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
  int running_ = 0;  // Guarded by mu_.
  int waiting_ = 0;  // Guarded by mu_.
};

}  // namespace atrest::identity

#endif  // ATREST_IDENTITY_SECRET_GATE_H_
