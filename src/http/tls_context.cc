#include "http/tls_context.h"

#include <openssl/ssl.h>

namespace atrest::http {

Result<std::unique_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const TlsFiles& tls) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                   ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(tls.cert_chain_path, ec);
  if (ec) {
    return InvalidArgumentError("TLS: cannot load certificate chain '" +
                                tls.cert_chain_path + "': " + ec.message());
  }
  ctx->use_private_key_file(tls.key_path, ssl::context::pem, ec);
  if (ec) {
    return InvalidArgumentError("TLS: cannot load private key '" +
                                tls.key_path + "': " + ec.message());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return InvalidArgumentError("TLS: key '" + tls.key_path +
                                "' does not match the certificate");
  }
  return ctx;
}

}  // namespace atrest::http
