#include "http/body_bridge.h"

#include <algorithm>
#include <cstring>

namespace atrest::http {

class BridgeSource final : public BodySource {
 public:
  explicit BridgeSource(std::shared_ptr<BodyBridge> bridge)
      : bridge_(std::move(bridge)) {}
  Result<size_t> Read(MutableByteView out) override {
    return bridge_->Read(out);
  }

 private:
  const std::shared_ptr<BodyBridge> bridge_;
};

BodyBridge::BodyBridge(StartRead start_read)
    : start_read_(std::move(start_read)), buffer_(kChunkBytes) {}

std::unique_ptr<BodySource> BodyBridge::MakeSource() {
  return std::make_unique<BridgeSource>(shared_from_this());
}

Result<size_t> BodyBridge::Read(MutableByteView out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!error_.ok()) return error_;
  if (finished_ || out.empty()) return size_t{0};
  if (closed_) return UnavailableError("request body is no longer readable");
  in_flight_ = true;
  // The session runs the read on its I/O thread and calls Complete(); it never
  // calls back synchronously, so holding the lock here cannot deadlock.
  start_read_(shared_from_this(), std::min(out.size(), kChunkBytes));
  cv_.wait(lock, [&] { return !in_flight_ || closed_; });
  if (in_flight_) {
    // Closed while a read was in flight: the session may still write into
    // buffer_, which stays alive through the session's shared_ptr.
    error_ = UnavailableError("connection closed while reading the body");
    return error_;
  }
  if (!result_.ok()) {
    error_ = result_.status();
    return error_;
  }
  size_t n = *result_;
  if (n == 0) {
    finished_ = true;
    return n;
  }
  std::memcpy(out.data(), buffer_.data(), n);
  bytes_read_ += n;
  return n;
}

void BodyBridge::Complete(Result<size_t> n) {
  std::lock_guard<std::mutex> lock(mu_);
  result_ = std::move(n);
  in_flight_ = false;
  cv_.notify_all();
}

void BodyBridge::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

uint64_t BodyBridge::bytes_read() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_read_;
}

bool BodyBridge::finished() const {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_;
}

}  // namespace atrest::http
