#include "http/test_client.h"

#include <openssl/ssl.h>

namespace atrest::http::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;

TestClient::TestClient(const std::string& host)
    : host_(host), ctx_(asio::ssl::context::tls_client) {}

Result<std::unique_ptr<TestClient>> TestClient::Connect(
    uint16_t port, const std::string& ca_path, const std::string& host) {
  std::unique_ptr<TestClient> c(new TestClient(host));
  beast::error_code ec;
  c->ctx_.load_verify_file(ca_path, ec);
  if (ec) return InternalError("load CA: " + ec.message());
  c->ctx_.set_verify_mode(asio::ssl::verify_peer);
  c->stream_ =
      std::make_unique<beast::ssl_stream<beast::tcp_stream>>(c->ioc_, c->ctx_);
  c->stream_->set_verify_callback(asio::ssl::host_name_verification(host));
  SSL_set_tlsext_host_name(c->stream_->native_handle(), host.c_str());
  auto& tcp = beast::get_lowest_layer(*c->stream_);
  tcp.expires_after(std::chrono::seconds(30));
  tcp.connect(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return UnavailableError("connect: " + ec.message());
  c->stream_->handshake(asio::ssl::stream_base::client, ec);
  if (ec) return UnavailableError("handshake: " + ec.message());
  return c;
}

Result<StringResponse> TestClient::Send(bhttp::verb method,
                                        const std::string& target,
                                        const std::string& body,
                                        const std::string& host) {
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, host.empty() ? host_ : host);
  req.body() = body;
  req.prepare_payload();
  return Send(req);
}

Result<StringResponse> TestClient::Send(
    const bhttp::request<bhttp::string_body>& req) {
  RETURN_IF_ERROR(Write(req));
  return Read();
}

Status TestClient::Write(const bhttp::request<bhttp::string_body>& req) {
  beast::error_code ec;
  beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(60));
  bhttp::write(*stream_, req, ec);
  if (ec) return UnavailableError("write: " + ec.message());
  return Status::Ok();
}

Result<StringResponse> TestClient::Read() {
  beast::error_code ec;
  beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(60));
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(1ull << 30);
  bhttp::read(*stream_, buffer_, parser, ec);
  if (ec) return UnavailableError("read: " + ec.message());
  return parser.release();
}

Status TestClient::WriteRaw(const std::string& bytes) {
  beast::error_code ec;
  beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(30));
  asio::write(*stream_, asio::buffer(bytes), ec);
  if (ec) return UnavailableError("write: " + ec.message());
  return Status::Ok();
}

bool TestClient::ClosedByServer(std::chrono::milliseconds within) {
  beast::error_code ec;
  beast::get_lowest_layer(*stream_).expires_after(within);
  char byte;
  for (;;) {
    stream_->read_some(asio::buffer(&byte, 1), ec);
    if (ec) return ec != beast::error::timeout;
  }
}

}  // namespace atrest::http::testing
