// Runtime: every part of one running atrest server, built from a Config in
// dependency order (DESIGN.md §2: store, identity, resources, vault, the key
// hierarchy, accounts, files, fine-tuning, deployments, then the API routes
// and the HTTPS server). `atrest serve` is Create + Start + wait for a
// signal + Stop; tests build the same runtime to exercise the real server
// (the route sweep, app/route_sweep_test.cc, walks router()).
//
// Create() also bootstraps an empty data dir (app/bootstrap.h) and sweeps
// orphan blobs; it writes start-up notes (a nearly full disk, swept blobs,
// SoftHSM2 missing) to `log`. Nothing listens until Start().
//
// Thread safety: Create, Start and Stop from one controlling thread; the
// accessors from any thread once Create returned.
#ifndef ATREST_APP_RUNTIME_H_
#define ATREST_APP_RUNTIME_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "app/bootstrap.h"
#include "app/config.h"
#include "base/status.h"

namespace atrest::http {
class Router;
}  // namespace atrest::http
namespace atrest::api {
struct Services;
}  // namespace atrest::api

namespace atrest::app {

class Runtime {
 public:
  // Builds every service and registers every route. Errors say what to fix
  // (an unusable data dir, bad TLS files, a configured HSM that does not
  // open); kInsufficientStorage when a first start finds the disk full.
  static Result<std::unique_ptr<Runtime>> Create(const Config& config,
                                                 std::ostream& log);
  ~Runtime();  // Stop() if still running.
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Binds the port and starts serving and the scheduled vault maintenance.
  Status Start();
  // Graceful stop of the server (in-flight requests get `grace`), then the
  // background work. Idempotent.
  void Stop(std::chrono::milliseconds grace);
  // Blocks until SIGTERM or SIGINT, then Stop(grace). Returns the signal.
  int RunUntilShutdownSignal(std::chrono::milliseconds grace);

  // The bound port once started (useful with port 0), else 0.
  uint16_t port() const;
  // Every route the server answers, complete after Create().
  const http::Router& router() const;
  api::Services& services();
  const BootstrapResult& bootstrap() const;
  // The CA certificate clients should trust; empty with a user's own
  // certificate.
  const std::string& ca_cert_path() const;

  // The endpoint list `atrest serve` prints once serving.
  void PrintEndpoints(std::ostream& out) const;

  // What the runtime owns (runtime.cc).
  struct Parts;

 private:
  explicit Runtime(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace atrest::app

#endif  // ATREST_APP_RUNTIME_H_
