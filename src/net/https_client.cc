#include "net/https_client.h"

// clang-format off
#include <utility>  // Before Asio: Boost 1.74's awaitable.hpp needs it.
// clang-format on
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <charconv>

namespace atrest::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

constexpr std::string_view kScheme = "https://";

bool IsLocalhost(std::string_view host) {
  constexpr std::string_view kSuffix = ".localhost";
  return host == "localhost" ||
         (host.size() > kSuffix.size() &&
          host.substr(host.size() - kSuffix.size()) == kSuffix);
}

// `host` is `domain` or a name under it (both lower case).
bool InDomain(std::string_view host, std::string_view domain) {
  return host == domain ||
         (host.size() > domain.size() + 1 &&
          host.substr(host.size() - domain.size()) == domain &&
          host[host.size() - domain.size() - 1] == '.');
}

bool ValidHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
}

Status IoError(std::string_view what, const beast::error_code& ec) {
  if (ec == beast::error::timeout) {
    return Status(StatusCode::kDeadlineExceeded,
                  std::string(what) + ": timed out");
  }
  return UnavailableError(std::string(what) + ": " + ec.message());
}

}  // namespace

Result<HttpsUrl> HttpsUrl::Parse(std::string_view url) {
  if (url.size() < kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), url.begin(),
                  [](char a, char b) {
                    return a == std::tolower(static_cast<unsigned char>(b));
                  })) {
    return InvalidArgumentError("URL '" + std::string(url) +
                                "' must start with https://");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
    rest = rest.substr(0, hash);
  }
  size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  std::string_view target =
      end == std::string_view::npos ? std::string_view() : rest.substr(end);

  HttpsUrl out;
  if (authority.find('@') != std::string_view::npos ||
      authority.find('[') != std::string_view::npos) {
    return InvalidArgumentError("URL '" + std::string(url) +
                                "' has user info or an IP literal host, "
                                "which are not supported");
  }
  std::string_view host = authority;
  if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    auto [ptr, ec] =
        std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() ||
        value == 0 || value > 65535) {
      return InvalidArgumentError("URL '" + std::string(url) +
                                  "' has an invalid port");
    }
    out.port = static_cast<uint16_t>(value);
  }
  if (host.empty() || host.front() == '.' || host.front() == '-' ||
      !std::all_of(host.begin(), host.end(), ValidHostChar)) {
    return InvalidArgumentError("URL '" + std::string(url) +
                                "' has an invalid host name");
  }
  for (char c : host) {
    out.host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (target.empty()) {
    out.target = "/";
  } else if (target.front() == '?') {
    out.target = "/" + std::string(target);
  } else {
    out.target = std::string(target);
  }
  return out;
}

std::string HttpsUrl::HostHeader() const {
  return port == 443 ? host : host + ":" + std::to_string(port);
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct HttpsClient::Tls {
  asio::ssl::context ctx{asio::ssl::context::tls_client};
};

Result<std::unique_ptr<HttpsClient>> HttpsClient::Create(HttpsOptions options) {
  auto tls = std::make_unique<Tls>();
  beast::error_code ec;
  SSL_CTX_set_min_proto_version(tls->ctx.native_handle(), TLS1_2_VERSION);
  tls->ctx.set_default_verify_paths(ec);
  if (ec) return UnavailableError("load system CAs: " + ec.message());
  for (const std::string& ca_file : options.ca_files) {
    tls->ctx.load_verify_file(ca_file, ec);
    if (ec) {
      return InvalidArgumentError("load CA file " + ca_file + ": " +
                                  ec.message());
    }
  }
  tls->ctx.set_verify_mode(asio::ssl::verify_peer);
  return std::unique_ptr<HttpsClient>(
      new HttpsClient(std::move(options), std::move(tls)));
}

HttpsClient::HttpsClient(HttpsOptions options, std::unique_ptr<Tls> tls)
    : options_(std::move(options)), tls_(std::move(tls)) {}

HttpsClient::~HttpsClient() = default;

Result<HttpsResponse> SendHttps(const HttpsRequest& request,
                                const HttpsOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<HttpsClient> client,
                   HttpsClient::Create(options));
  return client->Send(request);
}

Result<HttpsResponse> HttpsClient::Send(const HttpsRequest& request) const {
  const HttpsOptions& options = options_;
  ASSIGN_OR_RETURN(HttpsUrl url, HttpsUrl::Parse(request.url));
  bhttp::verb method = bhttp::string_to_verb(request.method);
  if (method == bhttp::verb::unknown) {
    return InvalidArgumentError("unknown HTTP method " + request.method);
  }

  beast::error_code ec;
  asio::io_context ioc;
  beast::ssl_stream<beast::tcp_stream> stream(ioc, tls_->ctx);
  stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
  if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
    return InternalError("set TLS server name " + url.host);
  }

  auto& tcp = beast::get_lowest_layer(stream);
  tcp.expires_after(options.timeout);
  if (!options.connect_domain.empty() &&
      InDomain(url.host, options.connect_domain)) {
    asio::ip::address address =
        asio::ip::make_address(options.connect_address, ec);
    if (ec) {
      return InvalidArgumentError("connect address '" +
                                  options.connect_address +
                                  "' is not an IP address");
    }
    tcp.connect(asio::ip::tcp::endpoint(address, url.port), ec);
  } else if (IsLocalhost(url.host)) {
    tcp.connect(asio::ip::tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"),
                                        url.port),
                ec);
  } else {
    asio::ip::tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
    if (ec)
      return UnavailableError("resolve " + url.host + ": " + ec.message());
    tcp.connect(endpoints, ec);
  }
  if (ec) return IoError("connect to " + url.HostHeader(), ec);

  tcp.expires_after(options.timeout);
  stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return IoError("TLS handshake with " + url.HostHeader(), ec);

  bhttp::request<bhttp::string_body> req{method, url.target, 11};
  req.set(bhttp::field::host, url.HostHeader());
  req.set(bhttp::field::user_agent, "atrest-cli");
  req.set(bhttp::field::connection, "close");
  for (const auto& [name, value] : request.headers) req.set(name, value);
  req.body() = request.body;
  if (!request.body.empty() || method == bhttp::verb::post ||
      method == bhttp::verb::put || method == bhttp::verb::patch) {
    req.prepare_payload();
  }
  bhttp::write(stream, req, ec);
  if (ec) return IoError("send to " + url.HostHeader(), ec);

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(options.max_body_bytes);
  if (method == bhttp::verb::head) parser.skip(true);
  bhttp::read(stream, buffer, parser, ec);
  if (ec) return IoError("read from " + url.HostHeader(), ec);

  // Best effort: the response is complete, so a failed close_notify
  // exchange changes nothing for the caller.
  tcp.expires_after(std::chrono::seconds(5));
  stream.shutdown(ec);

  bhttp::response<bhttp::string_body> res = parser.release();
  HttpsResponse out;
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[bhttp::field::content_type]);
  out.www_authenticate = std::string(res[bhttp::field::www_authenticate]);
  out.body = std::move(res.body());
  return out;
}

}  // namespace atrest::net
