// BodyBridge: hands a streaming request body from a connection's I/O thread
// to the route's BodyConsumer (body_consumer.h) on the handler pool.
// Internal to the http module.
//
// The session reads the body ahead of the consumer into a small set of
// chunk buffers, so the socket is read (and TLS decrypted) while the
// consumer processes the previous chunk. A drain task on the handler pool
// runs only while chunks are queued: it lends each to Consume(), in order,
// and returns when the queue is empty; the next Push() schedules a new one.
// So at most one Consume() runs per request, and no pool thread ever waits
// for the client:
//
//   session (I/O thread)                       drain (handler pool)
//   TakeBuffer() -> read -> Push()  ->  queue  ->  Consume(chunk), ...
//          ^ parked when all buffers are out; Wake once one comes back
//
// Memory is bounded: at most kMaxChunks buffers of kChunkBytes exist per
// request (being filled, queued, or being consumed), 4 x 256 KiB = 1 MiB;
// when they are all out the session stops reading and TCP flow control
// throttles the client.
//
// Thread safety: TakeBuffer(), Push(), Return(), Close() and Idle() on the
// session's I/O thread; the drain on the handler pool; the accessors from
// any thread. Share it through shared_ptr: a scheduled drain holds it.
#ifndef ATREST_HTTP_BODY_BRIDGE_H_
#define ATREST_HTTP_BODY_BRIDGE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "base/status.h"
#include "http/body_consumer.h"

namespace atrest::http {

class BodyBridge : public std::enable_shared_from_this<BodyBridge> {
 public:
  // The largest chunk the session reads at once, and how many chunks may
  // exist at a time: the bound on a streaming request's body memory.
  static constexpr size_t kChunkBytes = 256 * 1024;
  static constexpr size_t kMaxChunks = 4;

  // Runs `task` on the handler pool, later (never inline).
  using Schedule = std::function<void(std::function<void()> task)>;
  // Called (from the pool, never under the bridge's lock) when the session
  // parked by a false TakeBuffer() or Idle() should look again, and when
  // the consumer failed (the session should stop reading the body). Must
  // not block or call back into the bridge; it posts to the session's
  // thread.
  using Wake = std::function<void()>;

  BodyBridge(std::shared_ptr<BodyConsumer> consumer, Schedule schedule,
             Wake wake);
  BodyBridge(const BodyBridge&) = delete;
  BodyBridge& operator=(const BodyBridge&) = delete;

  // True with an empty buffer of kChunkBytes in `*buffer` when the session
  // may read the next chunk now. False when all buffers are out (Wake comes
  // once one is back), or the consumer failed, or the bridge is closed.
  bool TakeBuffer(std::vector<uint8_t>* buffer);
  // `buffer` (from TakeBuffer()) holds `n` > 0 body bytes for the consumer;
  // starts a drain unless one runs.
  void Push(std::vector<uint8_t> buffer, size_t n);
  // A buffer from TakeBuffer() that will not be pushed.
  void Return(std::vector<uint8_t> buffer);
  // No more Consume() calls start; queued chunks are dropped. The call in
  // progress, if any, still ends normally.
  void Close();
  // True when no chunk is queued and no Consume() runs: the consumer may be
  // finished. Else false, and Wake comes once that holds.
  bool Idle();

  // The first error Consume() returned (or threw, as Internal); OK if none.
  Status consumer_status() const;
  // Body bytes handed to Consume() so far.
  uint64_t bytes_consumed() const;

 private:
  struct Chunk {
    std::vector<uint8_t> data;
    size_t size = 0;  // Bytes of data that are body.
  };
  // The drain task: consumes queued chunks until the queue is empty.
  void Drain();

  const std::shared_ptr<BodyConsumer> consumer_;
  const Schedule schedule_;
  const Wake wake_;
  mutable std::mutex mu_;
  std::deque<Chunk> queue_;                 // Guarded by mu_.
  std::vector<std::vector<uint8_t>> free_;  // Guarded by mu_; recycled.
  size_t buffers_out_ = 0;  // Guarded by mu_: filling, queued or consumed.
  bool draining_ = false;   // Guarded by mu_: a drain is scheduled or runs.
  bool parked_ = false;     // Guarded by mu_: the session waits for Wake.
  bool closed_ = false;     // Guarded by mu_.
  Status consumer_status_;  // Guarded by mu_.
  uint64_t consumed_ = 0;   // Guarded by mu_.
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_BODY_BRIDGE_H_
