// The identity provider's surface on login.<domain>, shaped like Microsoft
// Entra ID v2 so MSAL and @azure/identity work against it unchanged
// (reference/keyvault-api.md §2.6):
//   GET  /{tenant}/v2.0/.well-known/openid-configuration
//   GET  /{tenant}/discovery/v2.0/keys
//   POST /{tenant}/oauth2/v2.0/token        (client_credentials)
// Errors use Entra's OAuth shape {"error", "error_description",
// "error_codes"} with its AADSTS numbers.
#ifndef ATREST_API_LOGIN_API_H_
#define ATREST_API_LOGIN_API_H_

#include "api/services.h"
#include "http/router.h"

namespace atrest::api {

Status RegisterLoginRoutes(http::Router& router, Services& services);

}  // namespace atrest::api

#endif  // ATREST_API_LOGIN_API_H_
