// Conventions shared by the Azure Resource Manager surface
// (management.<domain>): api-version, bearer authentication, JSON bodies
// and ARM's error shape {"error": {"code", "message"}}.
#ifndef ATREST_API_ARM_H_
#define ATREST_API_ARM_H_

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/services.h"
#include "http/request.h"
#include "http/response.h"
#include "http/router.h"

namespace atrest::api {

// ARM's error response for a Status: the Status reason as the code when it
// has one, else a code derived from the status code.
http::Response ArmError(const Status& status);

// OK when the request has an api-version; else the 400 ARM sends.
Status RequireApiVersion(const http::Request& request);

// The caller behind the request's bearer token (audience: the management
// surface). Unauthenticated with ARM's reason codes otherwise.
Result<identity::Caller> AuthenticateArm(http::Request& request,
                                         Services& services);

// "2026-12-05T19:43:39Z".
std::string Iso8601(int64_t unix_seconds);

// "tags" of a request body: absent or null gives nullopt; InvalidArgument
// "InvalidRequestContent" unless an object of strings.
using OptionalTags = std::optional<std::map<std::string, std::string>>;
Result<OptionalTags> TagsOf(const nlohmann::json& body);

// The body as a JSON object; InvalidArgument "InvalidRequestContent".
Result<nlohmann::json> JsonBody(const http::Request& request);

// 401 responses also carry ARM's WWW-Authenticate challenge.
http::Response ArmErrorWithChallenge(const Status& status,
                                     const Services& services);

// A management handler after api-version and authentication passed.
using ArmHandler = http::Response (*)(http::Request&, Services&,
                                      const identity::Caller&);
// Wraps `fn`: checks api-version, authenticates, then calls it.
http::Handler ArmRoute(ArmHandler fn, Services& services);

struct ArmRouteEntry {
  const char* method;
  std::string path;
  ArmHandler fn;
};
// Registers `entries` on management.<domain> with the management plane's
// limits. With `extension_scopes`, paths holding "/providers/" are also
// registered with a leading "//": extension resources are addressed as
// "/{scope}/providers/...", and the SDKs fill {scope} with "/subscriptions/..."
// as ARM returns it; ARM accepts both spellings.
Status AddArmRoutes(http::Router& router, Services& services,
                    const std::vector<ArmRouteEntry>& entries,
                    bool extension_scopes);

}  // namespace atrest::api

// In a handler returning http::Response: on error, return ArmError(status).
#define ARM_RETURN_IF_ERROR(expr)                                            \
  ATREST_ARM_RETURN_IF_ERROR_IMPL_(ATREST_CONCAT_(arm_status_, __COUNTER__), \
                                   expr)
#define ATREST_ARM_RETURN_IF_ERROR_IMPL_(status, expr)        \
  do {                                                        \
    ::atrest::Status status = (expr);                         \
    if (!status.ok()) return ::atrest::api::ArmError(status); \
  } while (0)
#define ARM_ASSIGN_OR_RETURN(lhs, rexpr)                                      \
  ATREST_ARM_ASSIGN_OR_RETURN_IMPL_(ATREST_CONCAT_(arm_result_, __COUNTER__), \
                                    lhs, rexpr)
#define ATREST_ARM_ASSIGN_OR_RETURN_IMPL_(result, lhs, rexpr)        \
  auto result = (rexpr);                                             \
  if (!result.ok()) return ::atrest::api::ArmError(result.status()); \
  lhs = std::move(result).value()

#endif  // ATREST_API_ARM_H_
