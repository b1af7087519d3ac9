// ServerCore: state shared by the listener and every session of one Server.
// Internal to the http module; sessions hold it through shared_ptr.
//
// Thread safety: the const members are set before the first session starts;
// the connection registry is guarded by mu_; counters are atomic.
//
// Threads: one io_context per I/O thread, each run by exactly that thread.
// A connection stays on the context it was accepted onto, so its handlers
// run one at a time on one thread: the context's executor serialises them
// as a strand would, without a strand's locking and per-operation
// allocations.
#ifndef ATREST_HTTP_SERVER_CORE_H_
#define ATREST_HTTP_SERVER_CORE_H_

// clang-format off
#include <utility>  // Before Asio: Boost 1.74's awaitable.hpp needs it.
// clang-format on
#include <algorithm>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "env/env.h"
#include "http/access_log.h"
#include "http/event_log.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server_options.h"

namespace atrest::http {

namespace asio = boost::asio;

// What Stop() needs to reach one live connection. All fields are used on
// the connection's executor (its I/O thread) only.
struct ConnectionControl {
  explicit ConnectionControl(asio::any_io_executor ex)
      : executor(std::move(ex)) {}
  const asio::any_io_executor executor;
  bool idle = false;                   // Waiting for the next request.
  std::function<void()> close_socket;  // Empty once the session ended.
};

// Asio destroys the handlers still queued in a context (parked coroutine
// frames, each holding a shared_ptr<ServerCore>) only when the context shuts
// down. The contexts belong to the ServerCore, so without an explicit
// shutdown those frames and the core would keep each other alive forever.
// These expose execution_context::shutdown() for ServerCore::ReleaseHandlers.
class IoContext : public asio::io_context {
 public:
  // Run by one thread only: concurrency hint 1 lets Asio skip waking other
  // threads for work posted from its own thread.
  IoContext() : asio::io_context(1) {}
  using asio::io_context::shutdown;
};
class HandlerPool : public asio::thread_pool {
 public:
  using asio::thread_pool::shutdown;
  using asio::thread_pool::thread_pool;
};

struct ServerCore {
  ServerCore(ServerOptions opts, const Router& r, env::Env& env, AccessLog* log,
             EventLog* events, asio::ssl::context tls)
      : options(std::move(opts)),
        router(r),
        largest_header_limit(r.LargestHeaderLimit()),
        clock(env.clock()),
        access_log(log),
        event_log(events),
        ssl(std::move(tls)),
        handler_pool(static_cast<size_t>(options.handler_threads)) {
    env.random().Fill(
        MutableByteView(request_id_base_, sizeof(request_id_base_)));
    for (int i = 0; i < std::max(1, options.io_threads); ++i) {
      io_contexts.push_back(std::make_unique<IoContext>());
    }
  }

  const ServerOptions options;
  const Router& router;
  const size_t largest_header_limit;  // router.LargestHeaderLimit().
  env::Clock& clock;
  AccessLog* const access_log;  // May be null.
  EventLog* const event_log;    // May be null.
  asio::ssl::context ssl;
  HandlerPool handler_pool;

  // Metric families; null when the server has no registry.
  CounterFamily* requests_total = nullptr;
  HistogramFamily* request_seconds = nullptr;
  CounterFamily* handshakes_total = nullptr;
  CounterFamily* handshake_failures = nullptr;
  CounterFamily* connections_rejected = nullptr;

  std::atomic<bool> stopping{false};

  // A new request id: a UUID (version 4 layout) unique within this server,
  // a random base drawn at start plus a counter; not a secret.
  std::string NextRequestId();

  // Registers a live connection; returns its id for Unregister().
  uint64_t Register(std::shared_ptr<ConnectionControl> control);
  void Unregister(uint64_t id);
  size_t active() const;
  // Waits until no session is registered or `deadline`; true when drained.
  bool WaitDrained(std::chrono::steady_clock::time_point deadline);
  // The context for the next accepted connection, round robin. Called by
  // the accept loop only.
  IoContext& NextContext() {
    return *io_contexts[next_context_++ % io_contexts.size()];
  }
  // Posts `fn(control)` to every live connection's executor.
  void ForEachConnection(const std::function<void(ConnectionControl&)>& fn);
  // Destroys every handler still queued in handler_pool and io_contexts, and
  // the registry entries of sessions that never unregistered, dropping the
  // shared_ptr<ServerCore> they hold. Only after every io thread and the
  // handler pool have been joined; the server cannot run again afterwards.
  void ReleaseHandlers();

 private:
  mutable std::mutex mu_;
  std::condition_variable drained_;
  uint64_t next_id_ = 1;  // Guarded by mu_.
  std::map<uint64_t, std::shared_ptr<ConnectionControl>> conns_;  // Guarded.
  size_t next_context_ = 0;  // Used by the accept loop only.
  uint8_t request_id_base_[16] = {};
  std::atomic<uint64_t> request_count_{0};

 public:
  // One per I/O thread (options.io_threads); the acceptor runs on the first.
  // Declared last so they are destroyed first: handlers they still hold may
  // touch the members above when destroyed.
  std::vector<std::unique_ptr<IoContext>> io_contexts;
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_SERVER_CORE_H_
