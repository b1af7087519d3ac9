#include "http/server.h"

// clang-format off
#include <utility>  // Before Asio: Boost 1.74's awaitable.hpp needs it.
// clang-format on
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>
#include <vector>

#include "http/server_core.h"
#include "http/session.h"
#include "http/tls_context.h"

namespace atrest::http {
namespace {

using asio::ip::tcp;

// Accepts until the acceptor is closed by Stop().
asio::awaitable<void> AcceptLoop(std::shared_ptr<ServerCore> core,
                                 tcp::acceptor& acceptor) {
  for (;;) {
    boost::system::error_code ec;
    // The connection lives on the next I/O context, round robin. A named
    // executor: g++ 12 may destroy a temporary in a co_await operand twice
    // (GCC PR 99576).
    asio::any_io_executor executor = core->NextContext().get_executor();
    tcp::socket socket = co_await acceptor.async_accept(
        executor, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (core->stopping || !acceptor.is_open()) co_return;
      // Out of descriptors or similar: back off instead of spinning.
      asio::steady_timer pause(acceptor.get_executor(),
                               std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (core->stopping || core->active() >= core->options.max_connections) {
      // Refused before any TLS work: cheap under overload.
      if (core->connections_rejected) core->connections_rejected->Inc({});
      socket.close(ec);
      continue;
    }
    auto control = std::make_shared<ConnectionControl>(socket.get_executor());
    uint64_t id = core->Register(control);
    asio::co_spawn(socket.get_executor(),
                   RunSession(core, std::move(socket), control, id),
                   asio::detached);
  }
}

Status RegisterMetrics(ServerCore& core, MetricsRegistry& m) {
  ASSIGN_OR_RETURN(
      core.requests_total,
      m.AddCounter("atrest_http_requests_total",
                   "HTTP requests by route and status.", {"route", "status"}));
  ASSIGN_OR_RETURN(
      core.request_seconds,
      m.AddHistogram("atrest_http_request_duration_seconds",
                     "Time from request start to the end of the response.",
                     {"route"},
                     {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                      1, 2.5, 5, 10, 30, 60}));
  ASSIGN_OR_RETURN(core.handshakes_total,
                   m.AddCounter("atrest_tls_handshakes_total",
                                "TLS handshakes attempted.", {}));
  ASSIGN_OR_RETURN(core.handshake_failures,
                   m.AddCounter("atrest_tls_handshake_failures_total",
                                "TLS handshakes that failed.", {}));
  ASSIGN_OR_RETURN(core.connections_rejected,
                   m.AddCounter("atrest_http_connections_rejected_total",
                                "Connections closed at accept because the "
                                "connection cap was reached.",
                                {}));
  return Status::Ok();
}

}  // namespace

struct Server::Runtime {
  explicit Runtime(asio::io_context& ioc) : acceptor(ioc) {}
  tcp::acceptor acceptor;
  // Keep each context's run() going while it has no connection yet.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> io_threads;
};

Result<std::unique_ptr<Server>> Server::Create(
    ServerOptions options, const Router& router, const TlsFiles& tls,
    env::Env& env, AccessLog* access_log, MetricsRegistry* metrics,
    EventLog* event_log) {
  if (options.io_threads < 1 || options.handler_threads < 1 ||
      options.max_connections < 1) {
    return InvalidArgumentError(
        "server: io_threads, handler_threads and max_connections must be "
        ">= 1");
  }
  if (options.min_body_rate > 0 &&
      options.min_body_rate_window < std::chrono::seconds(1)) {
    return InvalidArgumentError(
        "server: min_body_rate_window must be at least 1 s");
  }
  ASSIGN_OR_RETURN(auto ssl, MakeServerTlsContext(tls));
  auto core = std::make_shared<ServerCore>(
      std::move(options), router, env, access_log, event_log, std::move(*ssl));
  if (metrics != nullptr) RETURN_IF_ERROR(RegisterMetrics(*core, *metrics));
  return std::unique_ptr<Server>(new Server(std::move(core)));
}

Server::Server(std::shared_ptr<ServerCore> core) : core_(std::move(core)) {}

Server::~Server() { Stop(std::chrono::milliseconds(0)); }

size_t Server::active_connections() const { return core_->active(); }

Status Server::Start() {
  if (runtime_ || core_->stopping) {
    return FailedPreconditionError("server already started");
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(core_->options.address, ec);
  if (ec) {
    return InvalidArgumentError("server: bad address '" +
                                core_->options.address + "'");
  }
  auto rt = std::make_unique<Runtime>(*core_->io_contexts.front());
  tcp::endpoint endpoint(address, core_->options.port);
  rt->acceptor.open(endpoint.protocol(), ec);
  if (!ec) rt->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) rt->acceptor.bind(endpoint, ec);
  if (!ec) rt->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return UnavailableError(
        "server: cannot listen on " + core_->options.address + ":" +
        std::to_string(core_->options.port) + ": " + ec.message());
  }
  port_ = rt->acceptor.local_endpoint().port();
  asio::co_spawn(rt->acceptor.get_executor(), AcceptLoop(core_, rt->acceptor),
                 asio::detached);
  for (auto& ctx : core_->io_contexts) {
    rt->work.push_back(asio::make_work_guard(*ctx));
    rt->io_threads.emplace_back(
        [core = core_, ioc = ctx.get()] { ioc->run(); });
  }
  runtime_ = std::move(rt);
  return Status::Ok();
}

void Server::Stop(std::chrono::milliseconds grace) {
  if (!runtime_) return;
  using Clock = std::chrono::steady_clock;
  core_->stopping = true;
  tcp::acceptor& acceptor = runtime_->acceptor;
  asio::post(acceptor.get_executor(), [&acceptor] {
    boost::system::error_code ec;
    acceptor.close(ec);
  });
  // Idle keep-alive connections are closed now; busy ones close after their
  // current response (sessions check `stopping`).
  core_->ForEachConnection([](ConnectionControl& c) {
    if (c.idle && c.close_socket) c.close_socket();
  });
  if (!core_->WaitDrained(Clock::now() + grace)) {
    core_->ForEachConnection([](ConnectionControl& c) {
      if (c.close_socket) c.close_socket();
    });
    core_->WaitDrained(Clock::now() + std::chrono::seconds(2));
  }
  // Waits for handlers still running; sessions whose socket is closed end
  // as soon as their handler returns.
  core_->handler_pool.join();
  core_->WaitDrained(Clock::now() + std::chrono::seconds(1));
  for (auto& ctx : core_->io_contexts) ctx->stop();
  for (std::thread& t : runtime_->io_threads) t.join();
  // Closes the acceptor if the posted close never ran; its cancelled accept
  // is queued in its context like any other leftover handler.
  runtime_.reset();
  // stop() leaves queued handlers in place: the accept loop's completion
  // when it had no time to run, sessions cut off by a forced stop. They hold
  // shared_ptr<ServerCore>, which owns the contexts: destroy them now or the
  // core, its SSL_CTX and those frames leak.
  core_->ReleaseHandlers();
}

}  // namespace atrest::http
