// Surface: which of atrest's wire APIs a host speaks, as far as the server
// itself needs to know it. The api layer declares each host's surface
// (Router::SetSurface); the server then uses it for
//   - the error bodies of its own refusals, written before or instead of a
//     handler (malformed requests, 404/405, 413, 431, non-UTF-8 input, the
//     minimum body rate), so that every client reads them as its API's
//     errors:
//       kGeneric, kArm, kKeyVault  {"error":{"code":..,"message":..}}
//       kOpenAi    {"error":{"code":..,"message":..,"type":..,"param":null}}
//       kLogin     {"error":..,"error_description":..} (OAuth 2.0, RFC 6749)
//   - the request-id headers every response of that surface carries, as
//     Azure's services send them:
//       kGeneric, kKeyVault  x-ms-request-id
//       kArm      x-ms-request-id, x-ms-correlation-request-id (the
//                 client's own when it sent a well-formed one)
//       kOpenAi   apim-request-id, x-ms-request-id, x-request-id (which the
//                 openai clients report as the error's requestID)
//       kLogin    x-ms-request-id, client-request-id (echoed when the
//                 client sent a well-formed one, as Entra does)
//
// Thread safety: pure functions.
#ifndef ATREST_HTTP_SURFACE_H_
#define ATREST_HTTP_SURFACE_H_

#include <string_view>

#include "http/headers.h"
#include "http/response.h"

namespace atrest::http {

enum class Surface { kGeneric, kArm, kKeyVault, kOpenAi, kLogin };

// The error response of `surface` with HTTP `status`. `code` is an Azure
// style code ("BadRequest", "RequestEntityTooLarge"); the OAuth shape maps
// it to an OAuth error ("invalid_request", "server_error",
// "temporarily_unavailable") and keeps it in the description. `message`
// must not hold secrets or customer data. Content-Type application/json.
Response SurfaceError(Surface surface, int status, std::string_view code,
                      std::string_view message);

// Sets the request-id headers of `surface` (above) on `response`.
// `request` is the request's headers, for the ids a client may send itself.
void SetRequestIdHeaders(Surface surface, std::string_view request_id,
                         const Headers& request, Headers& response);

// Whether `id` may be echoed as a client's request or correlation id: 1-64
// letters, digits, '-', '_', '.' or ':'.
bool IsEchoableRequestId(std::string_view id);

}  // namespace atrest::http

#endif  // ATREST_HTTP_SURFACE_H_
