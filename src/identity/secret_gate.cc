#include "identity/secret_gate.h"

#include <arpa/inet.h>

#include <algorithm>
#include <thread>

#include "crypto/hkdf.h"
#include "crypto/random.h"

namespace atrest::identity {
namespace {

int DefaultConcurrency(int configured) {
  if (configured > 0) return configured;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, cores / 2);
}

std::chrono::seconds CeilSeconds(env::MonoTime::duration d) {
  auto s = std::chrono::ceil<std::chrono::seconds>(d);
  return std::max(s, std::chrono::seconds(1));
}

}  // namespace

ClientSecretGate::ClientSecretGate(const env::Clock& clock,
                                   SecretGateOptions options)
    : clock_(clock),
      options_(options),
      max_concurrent_(DefaultConcurrency(options.max_concurrent)),
      max_waiters_(options.max_waiters > 0 ? options.max_waiters
                                           : 4 * max_concurrent_),
      digest_key_(crypto::NewRandomSecret(32)) {}

std::string ClientSecretGate::AddressKey(std::string_view peer) {
  const std::string text(peer);
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    // An IPv4 address in IPv6 form is that IPv4 address.
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0,    0,
                                            0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped, kMapped + 12, v6.s6_addr)) {
      char v4[INET_ADDRSTRLEN];
      if (inet_ntop(AF_INET, v6.s6_addr + 12, v4, sizeof v4) != nullptr) {
        return v4;
      }
    }
    std::fill(v6.s6_addr + 8, v6.s6_addr + 16, uint8_t{0});
    char out[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, &v6, out, sizeof out) != nullptr) {
      return std::string(out) + "/64";
    }
  }
  return text;
}

std::string ClientSecretGate::Digest(std::string_view client,
                                     std::string_view secret) const {
  Result<crypto::SecretBytes> d = crypto::HkdfSha256(
      AsBytes(secret), digest_key_.RevealSecret(), AsBytes(client), 32);
  if (!d.ok()) return "";
  ByteView b = d->RevealSecret();
  return std::string(b.begin(), b.end());
}

std::optional<std::string> ClientSecretGate::Remembered(
    std::string_view client, std::string_view secret) const {
  const std::string digest = Digest(client, secret);
  if (digest.empty()) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = remembered_.find(digest);
  if (it == remembered_.end()) return std::nullopt;
  return it->second;
}

void ClientSecretGate::Remember(std::string_view client,
                                std::string_view secret,
                                const std::string& key_id) {
  std::string digest = Digest(client, secret);
  if (digest.empty()) return;
  std::lock_guard lock(mu_);
  if (remembered_.size() >= options_.max_remembered) remembered_.clear();
  remembered_[std::move(digest)] = key_id;
}

const ClientSecretGate::Record* ClientSecretGate::Find(Table& table,
                                                       const std::string& key,
                                                       env::MonoTime now) {
  auto it = table.find(key);
  if (it == table.end()) return nullptr;
  if (now - it->second.last >= options_.forget_after) {
    table.erase(it);
    return nullptr;
  }
  return &it->second;
}

void ClientSecretGate::Count(Table& table, const std::string& key,
                             env::MonoTime now) {
  if (table.find(key) == table.end() && table.size() >= options_.max_tracked) {
    // Full: drop the stale records, and if none is, the oldest one.
    std::erase_if(table, [&](const auto& entry) {
      return now - entry.second.last >= options_.forget_after;
    });
    if (table.size() >= options_.max_tracked) {
      table.erase(std::min_element(table.begin(), table.end(),
                                   [](const auto& a, const auto& b) {
                                     return a.second.last < b.second.last;
                                   }));
    }
  }
  Record& r = table[key];
  if (r.failures > 0 && now - r.last >= options_.forget_after) r = Record{};
  ++r.failures;
  r.last = now;
  if (r.failures >= options_.free_failures) {
    const int doublings = std::min(r.failures - options_.free_failures, 30);
    auto delay = options_.base_delay * (int64_t{1} << doublings);
    r.until = now + std::min<std::chrono::seconds>(delay, options_.max_delay);
  }
}

std::optional<env::MonoTime> ClientSecretGate::WaitUntil(
    std::string_view client, const std::string& address, env::MonoTime now) {
  const Record* a = Find(addresses_, address, now);
  const Record* c = Find(clients_, std::string(client), now);
  const bool address_waits = a != nullptr && now < a->until;
  // A client in backoff still accepts a check from an address that has not
  // failed itself (its owner's, most likely).
  const bool client_waits =
      c != nullptr && now < c->until && a != nullptr && a->failures > 0;
  if (!address_waits && !client_waits) return std::nullopt;
  env::MonoTime until = address_waits ? a->until : env::MonoTime{};
  if (client_waits) until = std::max(until, c->until);
  return until;
}

std::optional<std::chrono::seconds> ClientSecretGate::Backoff(
    std::string_view client, std::string_view peer) {
  const env::MonoTime now = clock_.Monotonic();
  const std::string address = AddressKey(peer);
  std::lock_guard lock(mu_);
  std::optional<env::MonoTime> until = WaitUntil(client, address, now);
  if (!until) return std::nullopt;
  return CeilSeconds(*until - now);
}

ClientSecretGate::Decision ClientSecretGate::Admit(std::string_view client,
                                                   std::string_view peer) {
  const env::MonoTime now = clock_.Monotonic();
  const std::string address = AddressKey(peer);
  std::unique_lock lock(mu_);
  Decision d;
  if (std::optional<env::MonoTime> until = WaitUntil(client, address, now)) {
    d.refusal = Decision::Refusal::kBackoff;
    d.retry_after = CeilSeconds(*until - now);
    return d;
  }
  if (running_ >= max_concurrent_ && waiting_ < max_waiters_ &&
      options_.slot_wait.count() > 0) {
    ++waiting_;
    slot_freed_.wait_for(lock, options_.slot_wait,
                         [&] { return running_ < max_concurrent_; });
    --waiting_;
  }
  if (running_ >= max_concurrent_) {
    d.refusal = Decision::Refusal::kBusy;
    d.retry_after = std::chrono::seconds(1);
    return d;
  }
  ++running_;
  d.permit.emplace(Permit(this));
  return d;
}

ClientSecretGate::Outcome ClientSecretGate::Check(
    std::string_view client, std::string_view secret, std::string_view peer,
    const std::function<std::optional<std::string>()>& verify) {
  using Kind = Outcome::Kind;
  const std::string digest = Digest(client, secret);
  std::shared_ptr<Flight> flight;
  if (!digest.empty()) {  // Empty only if HKDF failed: nothing is shared.
    std::unique_lock lock(mu_);
    if (auto it = flights_.find(digest); it != flights_.end()) {
      // The same check is running: wait for its outcome. Its runner waits
      // at most slot_wait for a place and then checks once.
      std::shared_ptr<Flight> running = it->second;
      const bool done = flight_done_.wait_for(
          lock, options_.slot_wait + std::chrono::seconds(30),
          [&] { return running->done; });
      if (!done) {
        return Outcome{.kind = Kind::kBusy,
                       .retry_after = std::chrono::seconds(1)};
      }
      if (running->outcome.kind == Kind::kWrong) {
        const env::MonoTime now = clock_.Monotonic();
        Count(clients_, std::string(client), now);
        Count(addresses_, AddressKey(peer), now);
      }
      return running->outcome;
    }
    flight = std::make_shared<Flight>();
    flights_[digest] = flight;
  }
  Outcome out;
  Decision d = Admit(client, peer);
  if (!d.permit) {
    out.kind =
        d.refusal == Decision::Refusal::kBusy ? Kind::kBusy : Kind::kBackoff;
    out.retry_after = d.retry_after;
  } else if (std::optional<std::string> key_id = verify()) {
    out.kind = Kind::kMatched;
    out.key_id = std::move(*key_id);
  }
  d.permit.reset();
  if (out.kind == Kind::kMatched) Remember(client, secret, out.key_id);
  if (out.kind == Kind::kWrong) Failed(client, peer);
  if (flight) {
    std::lock_guard lock(mu_);
    flight->done = true;
    flight->outcome = out;
    flights_.erase(digest);
  }
  flight_done_.notify_all();
  return out;
}

void ClientSecretGate::Failed(std::string_view client, std::string_view peer) {
  const env::MonoTime now = clock_.Monotonic();
  const std::string address = AddressKey(peer);
  std::lock_guard lock(mu_);
  Count(clients_, std::string(client), now);
  Count(addresses_, address, now);
}

void ClientSecretGate::Release() {
  {
    std::lock_guard lock(mu_);
    --running_;
  }
  slot_freed_.notify_one();
}

ClientSecretGate::Permit& ClientSecretGate::Permit::operator=(
    Permit&& other) noexcept {
  if (this != &other) {
    if (gate_ != nullptr) gate_->Release();
    gate_ = other.gate_;
    other.gate_ = nullptr;
  }
  return *this;
}

ClientSecretGate::Permit::~Permit() {
  if (gate_ != nullptr) gate_->Release();
}

}  // namespace atrest::identity
