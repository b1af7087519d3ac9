#include "http/shutdown_signal.h"

// clang-format off
#include <utility>  // Before Asio: Boost 1.74's awaitable.hpp needs it.
// clang-format on
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>

namespace atrest::http {

int WaitForShutdownSignal() {
  boost::asio::io_context ioc;
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) received = sig;
  });
  ioc.run();
  return received;
}

int RunUntilShutdownSignal(Server& server, std::chrono::milliseconds grace) {
  int sig = WaitForShutdownSignal();
  server.Stop(grace);
  return sig;
}

}  // namespace atrest::http
