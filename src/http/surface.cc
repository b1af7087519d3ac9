#include "http/surface.h"

#include <string>

#include "http/json_util.h"

namespace atrest::http {
namespace {

std::string_view OAuthErrorFor(int status) {
  if (status == 429 || status == 503) return "temporarily_unavailable";
  if (status >= 500) return "server_error";
  return "invalid_request";
}

std::string_view OpenAiTypeFor(int status) {
  if (status == 429) return "requests";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

}  // namespace

Response SurfaceError(Surface surface, int status, std::string_view code,
                      std::string_view message) {
  std::string json;
  switch (surface) {
    case Surface::kGeneric:
    case Surface::kArm:
    case Surface::kKeyVault:
      return Response::Error(status, code, message);
    case Surface::kOpenAi:
      json = "{\"error\":{\"code\":";
      AppendJsonString(json, code);
      json += ",\"message\":";
      AppendJsonString(json, message);
      json += ",\"type\":";
      AppendJsonString(json, OpenAiTypeFor(status));
      json += ",\"param\":null}}";
      break;
    case Surface::kLogin: {
      json = "{\"error\":";
      AppendJsonString(json, OAuthErrorFor(status));
      json += ",\"error_description\":";
      std::string description(code);
      description += ": ";
      description += message;
      AppendJsonString(json, description);
      json += "}";
      break;
    }
  }
  Response r = Response::Json(status, std::move(json));
  if (surface == Surface::kLogin) r.headers.Set("Cache-Control", "no-store");
  return r;
}

bool IsEchoableRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
              c == ':';
    if (!ok) return false;
  }
  return true;
}

void SetRequestIdHeaders(Surface surface, std::string_view request_id,
                         const Headers& request, Headers& response) {
  const std::string id(request_id);
  response.Set("x-ms-request-id", id);
  auto echo = [&](std::string_view name) {
    std::optional<std::string_view> sent = request.Get(name);
    return sent && IsEchoableRequestId(*sent) ? std::string(*sent) : id;
  };
  switch (surface) {
    case Surface::kGeneric:
    case Surface::kKeyVault:
      break;
    case Surface::kArm:
      response.Set("x-ms-correlation-request-id",
                   echo("x-ms-correlation-request-id"));
      break;
    case Surface::kOpenAi:
      response.Set("apim-request-id", id);
      response.Set("x-request-id", id);
      break;
    case Surface::kLogin:
      if (std::optional<std::string_view> sent =
              request.Get("client-request-id");
          sent && IsEchoableRequestId(*sent)) {
        response.Set("client-request-id", std::string(*sent));
      }
      break;
  }
}

}  // namespace atrest::http
