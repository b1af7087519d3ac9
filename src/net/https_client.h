// A blocking, one-shot HTTPS client: the command-line tools use it, and so
// does the service itself when it calls a key vault (keys/keyvault_client.h).
//
// Each call opens a connection, verifies the server's certificate (TLS 1.2
// or later, SNI, hostname check) against the system's CAs plus optional
// CA files, sends one request, reads the response and closes. Names that
// are "localhost" or end in ".localhost" connect to 127.0.0.1 without DNS,
// as browsers do (RFC 6761); other names are resolved normally.
//
// Thread safety: SendHttps keeps no state between calls; concurrent calls
// are independent.
#ifndef ATREST_NET_HTTPS_CLIENT_H_
#define ATREST_NET_HTTPS_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace atrest::net {

// An "https://host[:port][/path][?query]" URL, split for a request.
struct HttpsUrl {
  std::string host;     // Lower case, without brackets or port.
  uint16_t port = 443;  // 443 unless given.
  std::string target;   // "/path?query"; "/" when the URL has no path.

  // Rejects other schemes, user info, IP literals in brackets, empty or
  // malformed hosts, and ports outside 1..65535. A "#fragment" is dropped.
  static Result<HttpsUrl> Parse(std::string_view url);

  // "host" or "host:port" when the port is not 443 (the Host header).
  std::string HostHeader() const;
};

// Percent-encodes everything but RFC 3986 unreserved characters, for form
// values and single path segments.
std::string PercentEncode(std::string_view s);

struct HttpsRequest {
  std::string method;  // "GET", "POST", ...
  std::string url;     // Parsed with HttpsUrl::Parse.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpsResponse {
  int status = 0;
  std::string content_type;
  // WWW-Authenticate, when the server sent one (Key Vault's challenge names
  // the vault's tenant there).
  std::string www_authenticate;
  std::string body;
};

struct HttpsOptions {
  // PEM files of CAs trusted in addition to the system's.
  std::vector<std::string> ca_files;
  // Bounds connecting, and separately the handshake, request and response.
  std::chrono::seconds timeout{30};
  // Responses larger than this fail.
  uint64_t max_body_bytes = 64ull << 20;
  // When set, hosts equal to `connect_domain` or ending in "." +
  // `connect_domain` are reached at `connect_address` (an IP literal)
  // without DNS: the server calling its own surfaces under a domain that
  // DNS may not know. The certificate is still checked against the name.
  std::string connect_domain;
  std::string connect_address;
};

// A client that keeps its TLS configuration (the system's CAs plus
// options.ca_files, loaded once) for many requests; each Send() is still one
// connection. Thread safety: Send() may be called from several threads.
class HttpsClient {
 public:
  // Unavailable when the system CAs cannot be loaded, InvalidArgument for a
  // CA file that cannot.
  static Result<std::unique_ptr<HttpsClient>> Create(HttpsOptions options);
  ~HttpsClient();
  // As SendHttps below.
  Result<HttpsResponse> Send(const HttpsRequest& request) const;

 private:
  struct Tls;
  HttpsClient(HttpsOptions options, std::unique_ptr<Tls> tls);
  const HttpsOptions options_;
  const std::unique_ptr<Tls> tls_;
};

// Sends `request` and returns the response, whatever its status code.
// Errors: InvalidArgument for a bad URL, Unavailable for DNS, connection,
// TLS (including certificate verification) and I/O failures, and
// DeadlineExceeded on timeout.
Result<HttpsResponse> SendHttps(const HttpsRequest& request,
                                const HttpsOptions& options);

}  // namespace atrest::net

#endif  // ATREST_NET_HTTPS_CLIENT_H_
