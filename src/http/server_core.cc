#include "http/server_core.h"

// clang-format off
#include <utility>  // Before Asio: Boost 1.74's awaitable.hpp needs it.
// clang-format on
#include <algorithm>
#include <boost/asio/post.hpp>
#include <iterator>
#include <vector>

namespace atrest::http {

std::string ServerCore::NextRequestId() {
  static constexpr char kHex[] = "0123456789abcdef";
  uint8_t b[16];
  std::copy(std::begin(request_id_base_), std::end(request_id_base_), b);
  // The counter is added to the last 8 bytes, so ids never repeat within
  // 2^64 requests of one server.
  uint64_t n = request_count_.fetch_add(1, std::memory_order_relaxed);
  for (int i = 15; i >= 8 && n != 0; --i) {
    const unsigned sum = b[i] + static_cast<unsigned>(n & 0xff);
    b[i] = static_cast<uint8_t>(sum);
    n = (n >> 8) + (sum >> 8);
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // Version 4.
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant.
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

uint64_t ServerCore::Register(std::shared_ptr<ConnectionControl> control) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = next_id_++;
  conns_.emplace(id, std::move(control));
  return id;
}

void ServerCore::Unregister(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  conns_.erase(id);
  if (conns_.empty()) drained_.notify_all();
}

size_t ServerCore::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return conns_.size();
}

bool ServerCore::WaitDrained(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return drained_.wait_until(lock, deadline, [&] { return conns_.empty(); });
}

void ServerCore::ForEachConnection(
    const std::function<void(ConnectionControl&)>& fn) {
  std::vector<std::shared_ptr<ConnectionControl>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, c] : conns_) conns.push_back(c);
  }
  // Post outside the lock: no I/O scheduling while holding mu_.
  for (auto& c : conns) {
    asio::post(c->executor, [c, fn] { fn(*c); });
  }
}

void ServerCore::ReleaseHandlers() {
  // The pool first: its queued operations hold work on the I/O contexts and
  // own session frames whose sockets need those contexts' services alive.
  handler_pool.shutdown();
  // Destroys what is still queued (accept and read operations, posted
  // completions); the services themselves live on until ~io_context, so a
  // queued accept holding a socket of another context is destroyed safely.
  for (auto& ctx : io_contexts) ctx->shutdown();
  // Sessions destroyed above never reached Unregister(). Their executors
  // must go before ~io_context.
  std::map<uint64_t, std::shared_ptr<ConnectionControl>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns.swap(conns_);
  }
  drained_.notify_all();
}

}  // namespace atrest::http
