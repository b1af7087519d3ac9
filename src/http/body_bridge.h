// BodyBridge: hands a streaming request body from a connection's I/O thread
// to the handler thread that pulls it. Internal to the http module.
//
// The session reads the body ahead of the handler into a small queue of
// chunks, so the socket is read (and TLS decrypted) while the handler
// processes the previous chunk:
//
//   session (I/O thread)                handler (handler-pool thread)
//   TakeBuffer() -> read -> Push()  ->  queue  ->  Read() copies out, or
//                                                  Lend() lends a chunk
//          ^ parked when the queue is full; Read() wakes it when half empty
//
// Reading starts only with the handler's first Read(). Memory is bounded:
// at most kMaxChunks buffers of kChunkBytes exist per streaming request
// (queued, being filled by the session, or being copied out by Read()), so
// 4 x 256 KiB = 1 MiB per connection at most; when they are all full the
// session stops reading and TCP flow control throttles the client.
//
// Thread safety: Read() (through MakeSource()) on one handler thread at a
// time; TakeBuffer(), Push(), Finish() and Close() on the session's I/O
// thread; the accessors from any thread. Share it through shared_ptr: both
// sides may outlive the other.
#ifndef ATREST_HTTP_BODY_BRIDGE_H_
#define ATREST_HTTP_BODY_BRIDGE_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/status.h"
#include "http/request.h"

namespace atrest::http {

class BodyBridge : public std::enable_shared_from_this<BodyBridge> {
 public:
  // The largest chunk the session reads at once, and how many chunks may
  // exist at a time: the bound on a streaming request's body memory.
  static constexpr size_t kChunkBytes = 256 * 1024;
  static constexpr size_t kMaxChunks = 4;

  // Called (from the handler thread, never under the bridge's lock) when
  // the session should try TakeBuffer() again after it returned false:
  // the handler started reading, or made room in the queue. Must not block
  // or call back into the bridge; it posts to the session's I/O thread.
  using Wake = std::function<void()>;

  explicit BodyBridge(Wake wake);
  BodyBridge(const BodyBridge&) = delete;
  BodyBridge& operator=(const BodyBridge&) = delete;

  // A BodySource reading through this bridge (holds a shared_ptr to it).
  std::unique_ptr<BodySource> MakeSource();

  // Session side. True with an empty buffer of kChunkBytes in `*buffer`
  // when the session should read the next chunk now. False when it should
  // not: the handler has not started reading or the queue is full (then
  // the bridge calls Wake once that changes), or the body has ended, or
  // the bridge is closed.
  bool TakeBuffer(std::vector<uint8_t>* buffer);
  // Session side: `buffer` (from TakeBuffer()) holds `n` > 0 body bytes.
  void Push(std::vector<uint8_t> buffer, size_t n);
  // Session side: a buffer from TakeBuffer() that will not be pushed.
  void Return(std::vector<uint8_t> buffer);
  // Session side: the body ended (OK) or failed. Read() hands out what is
  // queued first, then returns 0 or this error, sticky.
  void Finish(Status status);
  // No more reads: a waiting and every later Read() fails with Unavailable;
  // queued chunks are dropped.
  void Close();

  // Total body bytes delivered to the handler.
  uint64_t bytes_read() const;
  // True when the handler has read to the end of the body.
  bool finished() const;
  // True when Read() has returned the error given to Finish().
  bool error_delivered() const;

 private:
  friend class BridgeSource;
  struct Chunk {
    std::vector<uint8_t> data;
    size_t size = 0;    // Bytes of data that are body.
    size_t offset = 0;  // Bytes already handed out.
  };
  Result<size_t> Read(MutableByteView out);
  Result<ByteView> Lend();
  // With mu_ held: waits for the body's next bytes (or its end); false
  // when there are none to hand out.
  bool AwaitLocked(std::unique_lock<std::mutex>& lock);
  // With mu_ held: the result of a read that found nothing to hand out.
  Status EndLocked();
  // With mu_ held: takes back the chunk Lend() handed out last.
  void ReturnLentLocked();
  // With mu_ held: whether the parked session should be woken now (and
  // marks it unparked).
  bool ShouldWakeLocked();

  const Wake wake_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> queue_;    // Guarded by mu_.
  std::optional<Chunk> lent_;  // Guarded by mu_; counted in buffers_out_.
  std::vector<std::vector<uint8_t>> free_;  // Guarded by mu_; recycled.
  size_t buffers_out_ = 0;  // Guarded by mu_; taken by session or Read().
  bool started_ = false;    // Guarded by mu_; the handler called Read().
  bool parked_ = false;     // Guarded by mu_; TakeBuffer() refused, no Wake.
  bool ended_ = false;      // Guarded by mu_; Finish() was called.
  Status end_status_;       // Guarded by mu_; what Finish() got.
  bool closed_ = false;     // Guarded by mu_.
  bool finished_ = false;   // Guarded by mu_; Read() returned 0.
  Status error_;            // Guarded by mu_; sticky once returned.
  bool error_delivered_ = false;  // Guarded by mu_.
  uint64_t bytes_read_ = 0;       // Guarded by mu_.
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_BODY_BRIDGE_H_
