// TestServer: a Server on 127.0.0.1:0 with generated TLS material, an
// access log captured in memory and its own metrics registry. Test-only.
#ifndef ATREST_HTTP_TEST_SERVER_H_
#define ATREST_HTTP_TEST_SERVER_H_

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "env/env.h"
#include "env/testing.h"
#include "http/access_log.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "http/test_client.h"
#include "http/tls_material.h"

namespace atrest::http::testing {

class TestServer {
 public:
  // Creates TLS material in a fresh temp dir; routes are added to router()
  // before Start().
  TestServer() : log_([this](std::string_view l) { AddLine(l); }) {
    auto dir = env::ScopedTempDir::Create();
    if (!dir.ok()) std::abort();
    dir_ = std::make_unique<env::ScopedTempDir>(std::move(*dir));
    auto tls =
        EnsureTlsMaterial(env::Env::Default(), dir_->path(), "localhost");
    if (!tls.ok()) std::abort();
    tls_ = *tls;
  }

  Router& router() { return router_; }
  MetricsRegistry& metrics() { return metrics_; }
  Server& server() { return *server_; }
  uint16_t port() const { return server_->port(); }

  Status Start(ServerOptions options) {
    options.address = "127.0.0.1";
    options.port = 0;
    ASSIGN_OR_RETURN(
        server_, Server::Create(options, router_, tls_,
                                env::Env::Default().clock(), &log_, &metrics_));
    return server_->Start();
  }

  Result<std::unique_ptr<TestClient>> Connect(
      const std::string& host = "localhost") {
    return TestClient::Connect(port(), tls_.ca_cert_path, host);
  }

  // The access-log lines so far. A line is written just after its response,
  // so this waits up to a second for at least `at_least` lines.
  std::vector<std::string> lines(size_t at_least = 0) {
    for (int i = 0; i < 100; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (lines_.size() >= at_least) return lines_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  void AddLine(std::string_view l) {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.emplace_back(l);
  }

  std::unique_ptr<env::ScopedTempDir> dir_;
  TlsFiles tls_;
  Router router_;
  MetricsRegistry metrics_;
  std::mutex mu_;
  std::vector<std::string> lines_;
  AccessLog log_;
  std::unique_ptr<Server> server_;
};

}  // namespace atrest::http::testing

#endif  // ATREST_HTTP_TEST_SERVER_H_
