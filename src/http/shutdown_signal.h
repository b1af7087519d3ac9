// Waiting for SIGTERM / SIGINT so the app can shut the server down
// gracefully (Server::Stop with a grace period).
//
// Thread safety: call from one thread (the app's main thread).
#ifndef ATREST_HTTP_SHUTDOWN_SIGNAL_H_
#define ATREST_HTTP_SHUTDOWN_SIGNAL_H_

#include <chrono>

#include "http/server.h"

namespace atrest::http {

// Blocks until SIGTERM or SIGINT arrives; returns the signal number. While
// it waits, those signals no longer kill the process.
int WaitForShutdownSignal();

// WaitForShutdownSignal(), then server.Stop(grace). Returns the signal.
int RunUntilShutdownSignal(Server& server, std::chrono::milliseconds grace);

}  // namespace atrest::http

#endif  // ATREST_HTTP_SHUTDOWN_SIGNAL_H_
