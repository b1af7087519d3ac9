// BodyBridge: hands a streaming request body from a connection's I/O thread
// to the handler thread that pulls it. Internal to the http module.
//
// The handler calls Read() (via the BodySource returned by MakeSource());
// Read() asks the session, through `start_read`, to fill the bridge's own
// buffer with up to `want` bytes from the socket, and blocks until the
// session calls Complete(). At most one read is in flight, so a streaming
// upload holds at most kChunkBytes per connection in memory, and the client
// is throttled by TCP flow control while the handler is busy.
//
// Thread safety: Read() on one handler thread; Complete() and Close() from
// any thread. Share it through shared_ptr: both sides may outlive the other.
#ifndef ATREST_HTTP_BODY_BRIDGE_H_
#define ATREST_HTTP_BODY_BRIDGE_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "base/status.h"
#include "http/request.h"

namespace atrest::http {

class BodyBridge : public std::enable_shared_from_this<BodyBridge> {
 public:
  static constexpr size_t kChunkBytes = 64 * 1024;

  // Called with this bridge and the byte count wanted (1..kChunkBytes);
  // must arrange for Complete() to be called exactly once, from any thread,
  // and must not call it synchronously.
  using StartRead =
      std::function<void(std::shared_ptr<BodyBridge> self, size_t want)>;

  explicit BodyBridge(StartRead start_read);
  BodyBridge(const BodyBridge&) = delete;
  BodyBridge& operator=(const BodyBridge&) = delete;

  // A BodySource reading through this bridge (holds a shared_ptr to it).
  std::unique_ptr<BodySource> MakeSource();

  // Session side: the buffer a started read fills.
  uint8_t* buffer() { return buffer_.data(); }
  // Session side: the in-flight read finished with `n` bytes in buffer()
  // (0 = end of body) or an error.
  void Complete(Result<size_t> n);
  // No more reads: a waiting and every later Read() fails with Unavailable.
  void Close();

  // Total body bytes delivered to the handler.
  uint64_t bytes_read() const;
  // True when the handler has read to the end of the body.
  bool finished() const;

 private:
  friend class BridgeSource;
  Result<size_t> Read(MutableByteView out);

  const StartRead start_read_;
  std::vector<uint8_t> buffer_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool in_flight_ = false;     // Guarded by mu_.
  bool closed_ = false;        // Guarded by mu_.
  bool finished_ = false;      // Guarded by mu_.
  Status error_;               // Guarded by mu_; sticky.
  Result<size_t> result_ = 0;  // Guarded by mu_; valid when !in_flight_.
  uint64_t bytes_read_ = 0;    // Guarded by mu_.
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_BODY_BRIDGE_H_
