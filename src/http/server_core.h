// ServerCore: state shared by the listener and every session of one Server.
// Internal to the http module; sessions hold it through shared_ptr.
//
// Thread safety: the const members are set before the first session starts;
// the connection registry is guarded by mu_; counters are atomic.
#ifndef ATREST_HTTP_SERVER_CORE_H_
#define ATREST_HTTP_SERVER_CORE_H_

// clang-format off
#include <utility>  // Before Asio: Boost 1.74's awaitable.hpp needs it.
// clang-format on
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

#include "env/env.h"
#include "http/access_log.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server_options.h"

namespace atrest::http {

namespace asio = boost::asio;

// What Stop() needs to reach one live connection. All fields are used on
// the connection's strand only.
struct ConnectionControl {
  explicit ConnectionControl(asio::any_io_executor s) : strand(std::move(s)) {}
  const asio::any_io_executor strand;
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
  using asio::io_context::shutdown;
};
class HandlerPool : public asio::thread_pool {
 public:
  using asio::thread_pool::shutdown;
  using asio::thread_pool::thread_pool;
};

struct ServerCore {
  ServerCore(ServerOptions opts, const Router& r, env::Clock& c, AccessLog* log,
             asio::ssl::context tls)
      : options(std::move(opts)),
        router(r),
        clock(c),
        access_log(log),
        ssl(std::move(tls)),
        handler_pool(static_cast<size_t>(options.handler_threads)) {}

  const ServerOptions options;
  const Router& router;
  env::Clock& clock;
  AccessLog* const access_log;  // May be null.
  asio::ssl::context ssl;
  HandlerPool handler_pool;

  // Metric families; null when the server has no registry.
  CounterFamily* requests_total = nullptr;
  HistogramFamily* request_seconds = nullptr;
  CounterFamily* handshakes_total = nullptr;
  CounterFamily* handshake_failures = nullptr;
  CounterFamily* connections_rejected = nullptr;

  std::atomic<bool> stopping{false};

  // Registers a live connection; returns its id for Unregister().
  uint64_t Register(std::shared_ptr<ConnectionControl> control);
  void Unregister(uint64_t id);
  size_t active() const;
  // Waits until no session is registered or `deadline`; true when drained.
  bool WaitDrained(std::chrono::steady_clock::time_point deadline);
  // Posts `fn(control)` to every live connection's strand.
  void ForEachConnection(const std::function<void(ConnectionControl&)>& fn);
  // Destroys every handler still queued in handler_pool and ioc, and the
  // registry entries of sessions that never unregistered, dropping the
  // shared_ptr<ServerCore> they hold. Only after every io thread and the
  // handler pool have been joined; the server cannot run again afterwards.
  void ReleaseHandlers();

 private:
  mutable std::mutex mu_;
  std::condition_variable drained_;
  uint64_t next_id_ = 1;  // Guarded by mu_.
  std::map<uint64_t, std::shared_ptr<ConnectionControl>> conns_;  // Guarded.

 public:
  // Declared last so it is destroyed first: handlers it still holds may
  // touch the members above when destroyed.
  IoContext ioc;
};

}  // namespace atrest::http

#endif  // ATREST_HTTP_SERVER_CORE_H_
