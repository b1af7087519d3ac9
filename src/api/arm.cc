#include "api/arm.h"

#include <ctime>

#include "base/json.h"

namespace atrest::api {
namespace {

std::string DefaultCode(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return "BadRequest";
    case StatusCode::kNotFound:
      return "ResourceNotFound";
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted:
      return "Conflict";
    case StatusCode::kPermissionDenied:
      return "AuthorizationFailed";
    case StatusCode::kUnauthenticated:
      return "AuthenticationFailed";
    case StatusCode::kFailedPrecondition:
      return "Conflict";
    case StatusCode::kResourceExhausted:
      return "TooManyRequests";
    case StatusCode::kUnavailable:
      return "ServiceUnavailable";
    case StatusCode::kInsufficientStorage:
      return "InsufficientStorage";
    default:
      return "InternalServerError";
  }
}

}  // namespace

std::string Iso8601(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<OptionalTags> TagsOf(const nlohmann::json& body) {
  auto it = body.find("tags");
  if (it == body.end() || it->is_null()) return OptionalTags();
  if (!it->is_object())
    return Status(StatusCode::kInvalidArgument, "tags must be an object",
                  "InvalidRequestContent");
  std::map<std::string, std::string> tags;
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) {
      return Status(StatusCode::kInvalidArgument,
                    "tag '" + k + "' must have a string value",
                    "InvalidRequestContent");
    }
    tags[k] = v.get<std::string>();
  }
  return OptionalTags(std::move(tags));
}

http::Response ArmError(const Status& status) {
  std::string code =
      status.reason().empty() ? DefaultCode(status.code()) : status.reason();
  int http_status = http::HttpStatusFor(status.code());
  if (status.code() == StatusCode::kFailedPrecondition ||
      status.code() == StatusCode::kAborted) {
    http_status = 409;
  }
  // Internal details stay in the server log, not in the response.
  std::string message =
      status.code() == StatusCode::kInsufficientStorage
          ? "The service is out of storage space; nothing was changed. Retry "
            "once space has been freed on its data disk."
      : http_status >= 500 ? "The server had an internal error; see its log."
                           : status.message();
  http::Response r = http::Response::Error(http_status, code, message);
  if (http_status >= 500) r.failure = status;  // For the server's event log.
  return r;
}

http::Response ArmErrorWithChallenge(const Status& status,
                                     const Services& services) {
  http::Response r = ArmError(status);
  if (r.status == 401) {
    r.headers.Set("WWW-Authenticate",
                  "Bearer authorization_uri=\"" + services.Origin("login") +
                      "/\", error=\"invalid_token\", error_description=\"" +
                      (status.code() == StatusCode::kUnauthenticated
                           ? std::string("The access token is invalid.")
                           : std::string("Authentication failed.")) +
                      "\"");
  }
  return r;
}

Status RequireApiVersion(const http::Request& request) {
  std::optional<std::string_view> v = request.Query("api-version");
  if (!v || v->empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "The api-version query parameter (?api-version=) is "
                  "required for all requests.",
                  "MissingApiVersionParameter");
  }
  return Status::Ok();
}

Result<identity::Caller> AuthenticateArm(http::Request& request,
                                         Services& services) {
  std::optional<std::string_view> auth = request.headers.Get("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!auth) {
    return Status(StatusCode::kUnauthenticated,
                  "Authentication failed. The 'Authorization' header is "
                  "missing.",
                  "AuthenticationFailed");
  }
  if (auth->size() <= kBearer.size() ||
      !http::EqualsIgnoreCase(auth->substr(0, kBearer.size()), kBearer)) {
    return Status(StatusCode::kUnauthenticated,
                  "Authentication failed. The 'Authorization' header is "
                  "not a Bearer token.",
                  "AuthenticationFailed");
  }
  Result<identity::Caller> caller = services.identity.Authenticate(
      auth->substr(kBearer.size()), services.Audiences("management"),
      std::nullopt);
  if (!caller.ok()) {
    const bool expired =
        caller.status().message().find("expired") != std::string::npos;
    return Status(
        StatusCode::kUnauthenticated,
        "The access token is not valid: " + caller.status().message(),
        expired ? "ExpiredAuthenticationToken" : "InvalidAuthenticationToken");
  }
  request.caller_id = caller->object_id;
  return caller;
}

Result<nlohmann::json> JsonBody(const http::Request& request) {
  Result<nlohmann::json> j = ParseJsonObject(request.body, kRequestJsonLimits);
  if (!j.ok()) {
    return Status(StatusCode::kInvalidArgument,
                  "The request content was invalid and could not be "
                  "deserialized: the body must be a JSON object (" +
                      j.status().message() + ").",
                  "InvalidRequestContent");
  }
  return j;
}

http::Handler ArmRoute(ArmHandler fn, Services& services) {
  return [fn, &services](http::Request& request) -> http::Response {
    // Authentication first: an SDK probing without a token must get the
    // 401 before anything else is looked at.
    Result<identity::Caller> caller = AuthenticateArm(request, services);
    if (!caller.ok()) return ArmErrorWithChallenge(caller.status(), services);
    ARM_RETURN_IF_ERROR(RequireApiVersion(request));
    return fn(request, services, *caller);
  };
}

Status AddArmRoutes(http::Router& router, Services& services,
                    const std::vector<ArmRouteEntry>& entries,
                    bool extension_scopes) {
  const std::string host = "management." + services.domain;
  const http::RouteLimits limits{.max_header_bytes = 32 * 1024,
                                 .max_body_bytes = 1024 * 1024};
  RETURN_IF_ERROR(router.SetSurface(host, http::Surface::kArm));
  for (const ArmRouteEntry& e : entries) {
    RETURN_IF_ERROR(
        router.Add(host, e.method, e.path, limits, ArmRoute(e.fn, services)));
    if (extension_scopes && e.path.find("/providers/") != std::string::npos) {
      RETURN_IF_ERROR(router.Add(host, e.method, "/" + e.path, limits,
                                 ArmRoute(e.fn, services)));
    }
  }
  return Status::Ok();
}

}  // namespace atrest::api
