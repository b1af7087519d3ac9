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
  Result<ByteView> Lend() override { return bridge_->Lend(); }

 private:
  const std::shared_ptr<BodyBridge> bridge_;
};

BodyBridge::BodyBridge(Wake wake) : wake_(std::move(wake)) {}

std::unique_ptr<BodySource> BodyBridge::MakeSource() {
  return std::make_unique<BridgeSource>(shared_from_this());
}

bool BodyBridge::ShouldWakeLocked() {
  // Half empty, so that one wake-up lets the session read several chunks.
  if (!parked_ || !started_ || closed_ || ended_) return false;
  if (queue_.size() + buffers_out_ > kMaxChunks / 2) return false;
  parked_ = false;
  return true;
}

void BodyBridge::ReturnLentLocked() {
  if (!lent_) return;
  --buffers_out_;
  if (!closed_) free_.push_back(std::move(lent_->data));
  lent_.reset();
}

bool BodyBridge::AwaitLocked(std::unique_lock<std::mutex>& lock) {
  if (!started_) {
    started_ = true;
    if (ShouldWakeLocked()) {
      lock.unlock();
      wake_();
      lock.lock();
    }
  }
  cv_.wait(lock, [&] { return !queue_.empty() || ended_ || closed_; });
  return !queue_.empty() && !closed_;
}

Status BodyBridge::EndLocked() {
  if (closed_) {
    error_ = UnavailableError("connection closed while reading the body");
    return error_;
  }
  // The queue is empty and the body has ended.
  if (end_status_.ok()) {
    finished_ = true;
    return Status::Ok();
  }
  error_ = end_status_;
  error_delivered_ = true;
  return error_;
}

Result<size_t> BodyBridge::Read(MutableByteView out) {
  std::unique_lock<std::mutex> lock(mu_);
  ReturnLentLocked();
  if (!error_.ok()) return error_;
  if (finished_ || out.empty()) return size_t{0};
  if (closed_) return UnavailableError("request body is no longer readable");
  AwaitLocked(lock);
  // Hands out as many queued bytes as fit, copying outside the lock so the
  // session can queue the next chunk meanwhile.
  size_t total = 0;
  while (total < out.size() && !queue_.empty() && !closed_) {
    Chunk c = std::move(queue_.front());
    queue_.pop_front();
    ++buffers_out_;
    lock.unlock();
    const size_t n = std::min(out.size() - total, c.size - c.offset);
    std::memcpy(out.data() + total, c.data.data() + c.offset, n);
    c.offset += n;
    total += n;
    lock.lock();
    --buffers_out_;
    if (closed_) break;  // Close() dropped the queue; drop this one too.
    if (c.offset < c.size) {
      queue_.push_front(std::move(c));  // Only Read() pops: still in order.
    } else {
      free_.push_back(std::move(c.data));
    }
  }
  bytes_read_ += total;
  if (total == 0) {
    RETURN_IF_ERROR(EndLocked());
    return size_t{0};
  }
  const bool wake = ShouldWakeLocked();
  lock.unlock();
  if (wake) wake_();
  return total;
}

Result<ByteView> BodyBridge::Lend() {
  std::unique_lock<std::mutex> lock(mu_);
  ReturnLentLocked();
  if (!error_.ok()) return error_;
  if (finished_) return ByteView();
  if (closed_) return UnavailableError("request body is no longer readable");
  if (!AwaitLocked(lock)) {
    RETURN_IF_ERROR(EndLocked());
    return ByteView();
  }
  // The chunk stays out (counted in buffers_out_) until the next call; its
  // heap buffer does not move with it, so the view stays valid.
  lent_ = std::move(queue_.front());
  queue_.pop_front();
  ++buffers_out_;
  const ByteView view(lent_->data.data() + lent_->offset,
                      lent_->size - lent_->offset);
  bytes_read_ += view.size();
  const bool wake = ShouldWakeLocked();
  lock.unlock();
  if (wake) wake_();
  return view;
}

bool BodyBridge::TakeBuffer(std::vector<uint8_t>* buffer) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || ended_) return false;
  if (!started_ || queue_.size() + buffers_out_ >= kMaxChunks) {
    parked_ = true;
    return false;
  }
  parked_ = false;
  ++buffers_out_;
  if (!free_.empty()) {
    *buffer = std::move(free_.back());
    free_.pop_back();
  } else {
    buffer->resize(kChunkBytes);
  }
  return true;
}

void BodyBridge::Push(std::vector<uint8_t> buffer, size_t n) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --buffers_out_;
    if (closed_) return;
    const size_t size = std::min(n, buffer.size());
    queue_.push_back(Chunk{std::move(buffer), size, 0});
  }
  cv_.notify_one();
}

void BodyBridge::Return(std::vector<uint8_t> buffer) {
  std::lock_guard<std::mutex> lock(mu_);
  --buffers_out_;
  if (!closed_) free_.push_back(std::move(buffer));
}

void BodyBridge::Finish(Status status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ended_) return;
    ended_ = true;
    end_status_ = std::move(status);
  }
  cv_.notify_all();
}

void BodyBridge::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    queue_.clear();
    free_.clear();
  }
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

bool BodyBridge::error_delivered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_delivered_;
}

}  // namespace atrest::http
