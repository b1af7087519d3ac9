// TestClient: a blocking HTTPS client for the server tests. It trusts only
// the given CA and verifies the server's certificate against `host` (SNI
// and hostname check), as real clients do. Test-only.
#ifndef ATREST_HTTP_TEST_CLIENT_H_
#define ATREST_HTTP_TEST_CLIENT_H_

// clang-format off
#include <utility>  // Before Asio: Boost 1.74's awaitable.hpp needs it.
// clang-format on
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "base/status.h"

namespace atrest::http::testing {

namespace bhttp = boost::beast::http;
using StringResponse = bhttp::response<bhttp::string_body>;

class TestClient {
 public:
  // Connects to 127.0.0.1:port and completes the TLS handshake.
  static Result<std::unique_ptr<TestClient>> Connect(
      uint16_t port, const std::string& ca_path,
      const std::string& host = "localhost");

  // Sends one request (Host: host_) and reads the response.
  Result<StringResponse> Send(bhttp::verb method, const std::string& target,
                              const std::string& body = "",
                              const std::string& host = "");
  Result<StringResponse> Send(const bhttp::request<bhttp::string_body>& req);
  Status Write(const bhttp::request<bhttp::string_body>& req);
  Result<StringResponse> Read();
  // Writes raw bytes on the TLS stream.
  Status WriteRaw(const std::string& bytes);
  // True when the server closes the connection within `within`.
  bool ClosedByServer(std::chrono::milliseconds within);

  boost::beast::ssl_stream<boost::beast::tcp_stream>& stream() {
    return *stream_;
  }
  boost::beast::flat_buffer& buffer() { return buffer_; }
  const std::string& host() const { return host_; }

 private:
  TestClient(const std::string& host);

  std::string host_;
  boost::asio::io_context ioc_;
  boost::asio::ssl::context ctx_;
  std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> stream_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace atrest::http::testing

#endif  // ATREST_HTTP_TEST_CLIENT_H_
