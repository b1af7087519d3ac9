// Builds the server's asio::ssl::context from PEM files. Internal to the
// http module.
#ifndef ATREST_HTTP_TLS_CONTEXT_H_
#define ATREST_HTTP_TLS_CONTEXT_H_

// clang-format off
#include <utility>  // Before Asio: Boost 1.74's awaitable.hpp needs it.
// clang-format on
#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "base/status.h"
#include "http/tls_material.h"

namespace atrest::http {

// A server context: TLS 1.2 minimum, no compression or renegotiation, the
// certificate chain and key from `tls`. InvalidArgument naming the file that
// could not be used.
Result<std::unique_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const TlsFiles& tls);

}  // namespace atrest::http

#endif  // ATREST_HTTP_TLS_CONTEXT_H_
