#include "http/body_bridge.h"

#include <algorithm>
#include <exception>

namespace atrest::http {

BodyBridge::BodyBridge(std::shared_ptr<BodyConsumer> consumer,
                       Schedule schedule, Wake wake)
    : consumer_(std::move(consumer)),
      schedule_(std::move(schedule)),
      wake_(std::move(wake)) {}

bool BodyBridge::TakeBuffer(std::vector<uint8_t>* buffer) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || !consumer_status_.ok()) return false;
  if (buffers_out_ >= kMaxChunks) {
    parked_ = true;
    return false;
  }
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
  bool schedule = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || !consumer_status_.ok()) {
      --buffers_out_;
      if (!closed_) free_.push_back(std::move(buffer));
      return;
    }
    queue_.push_back(Chunk{std::move(buffer), std::min(n, kChunkBytes)});
    if (!draining_) draining_ = schedule = true;
  }
  if (schedule) {
    schedule_([self = shared_from_this()] { self->Drain(); });
  }
}

void BodyBridge::Return(std::vector<uint8_t> buffer) {
  std::lock_guard<std::mutex> lock(mu_);
  --buffers_out_;
  if (!closed_) free_.push_back(std::move(buffer));
}

void BodyBridge::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  buffers_out_ -= queue_.size();
  queue_.clear();
  free_.clear();
}

bool BodyBridge::Idle() {
  std::lock_guard<std::mutex> lock(mu_);
  // A drain ends only with the queue empty, so none running means idle.
  if (!draining_) return true;
  parked_ = true;
  return false;
}

void BodyBridge::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!queue_.empty() && !closed_) {
    Chunk chunk = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Status s;
    try {
      s = consumer_->Consume(ByteView(chunk.data.data(), chunk.size));
    } catch (const std::exception&) {
      s = InternalError("the request body's consumer failed");
    }
    lock.lock();
    consumed_ += chunk.size;
    --buffers_out_;
    if (!closed_) free_.push_back(std::move(chunk.data));
    if (!s.ok()) {
      consumer_status_ = std::move(s);
      buffers_out_ -= queue_.size();
      queue_.clear();
      // Whatever the session waits for (a read of a body nobody wants now,
      // or a buffer), it should stop.
      parked_ = true;
    }
    if (parked_ && !queue_.empty()) {
      // A buffer came back while the session waits for one.
      parked_ = false;
      lock.unlock();
      wake_();
      lock.lock();
    }
  }
  draining_ = false;
  const bool wake = parked_;
  parked_ = false;
  lock.unlock();
  if (wake) wake_();
}

Status BodyBridge::consumer_status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return consumer_status_;
}

uint64_t BodyBridge::bytes_consumed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return consumed_;
}

}  // namespace atrest::http
