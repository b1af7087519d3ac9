// TestServer: a Server on 127.0.0.1:0 with generated TLS material, an
// access log and an event log captured in memory and its own metrics
// registry. Test-only. ConsumeWith() makes a streaming route's consumer
// from two functions.
#ifndef ATREST_HTTP_TEST_SERVER_H_
#define ATREST_HTTP_TEST_SERVER_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "env/env.h"
#include "env/testing.h"
#include "http/access_log.h"
#include "http/body_consumer.h"
#include "http/event_log.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "http/test_client.h"
#include "http/tls_material.h"

namespace atrest::http::testing {

// A BodyConsumer from two functions.
class FnConsumer final : public BodyConsumer {
 public:
  FnConsumer(std::function<Status(ByteView)> consume,
             std::function<Response(const Status&)> finish)
      : consume_(std::move(consume)), finish_(std::move(finish)) {}
  Status Consume(ByteView data) override { return consume_(data); }
  Response Finish(const Status& body) override { return finish_(body); }

 private:
  std::function<Status(ByteView)> consume_;
  std::function<Response(const Status&)> finish_;
};

inline Response ConsumeWith(std::function<Status(ByteView)> consume,
                            std::function<Response(const Status&)> finish) {
  return Response::Consume(
      std::make_shared<FnConsumer>(std::move(consume), std::move(finish)));
}

class TestServer {
 public:
  // Creates TLS material in a fresh temp dir; routes are added to router()
  // before Start().
  TestServer()
      : log_([this](std::string_view l) { AddLine(l, lines_); }),
        events_log_([this](std::string_view l) { AddLine(l, events_); }) {
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
    ASSIGN_OR_RETURN(server_,
                     Server::Create(options, router_, tls_, env::Env::Default(),
                                    &log_, &metrics_, &events_log_));
    return server_->Start();
  }

  Result<std::unique_ptr<TestClient>> Connect(
      const std::string& host = "localhost") {
    return TestClient::Connect(port(), tls_.ca_cert_path, host);
  }

  // The access-log lines so far. A line is written just after its response,
  // so this waits up to a second for at least `at_least` lines.
  std::vector<std::string> lines(size_t at_least = 0) {
    return Wait(lines_, at_least);
  }
  // The event-log lines so far, waiting the same way.
  std::vector<std::string> events(size_t at_least = 0) {
    return Wait(events_, at_least);
  }

 private:
  void AddLine(std::string_view l, std::vector<std::string>& to) {
    std::lock_guard<std::mutex> lock(mu_);
    to.emplace_back(l);
  }
  std::vector<std::string> Wait(const std::vector<std::string>& from,
                                size_t at_least) {
    for (int i = 0; i < 100; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (from.size() >= at_least) return from;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard<std::mutex> lock(mu_);
    return from;
  }

  std::unique_ptr<env::ScopedTempDir> dir_;
  TlsFiles tls_;
  Router router_;
  MetricsRegistry metrics_;
  std::mutex mu_;
  std::vector<std::string> lines_;
  std::vector<std::string> events_;
  AccessLog log_;
  EventLog events_log_;
  std::unique_ptr<Server> server_;
};

}  // namespace atrest::http::testing

#endif  // ATREST_HTTP_TEST_SERVER_H_
