#include "cli/rest_client.h"

#include <utility>

#include "base/json.h"
#include "base/json_fields.h"

namespace atrest::cli {
namespace {

using nlohmann::json;

StatusCode CodeForHttp(int status) {
  switch (status) {
    case 400:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return StatusCode::kFailedPrecondition;
    case 429:
      return StatusCode::kResourceExhausted;
    default:
      return status >= 500 ? StatusCode::kUnavailable
                           : StatusCode::kInvalidArgument;
  }
}

}  // namespace

Result<Session> StartSession(const CliContext& ctx,
                             const std::string& subscription) {
  ASSIGN_OR_RETURN(Profile p, LoggedIn(ctx));
  std::string sub = subscription.empty() ? p.subscription_id : subscription;
  return Session{std::move(p), std::move(sub)};
}

std::string AsciiLower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

std::string TrimSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

Status ResponseError(const net::HttpsResponse& res) {
  json j = ParseJsonOrDiscarded(res.body, kStoredJsonLimits);
  std::string code, message;
  if (j.is_object()) {
    auto err = j.find("error");
    if (err != j.end() && err->is_object()) {
      code = JsonString(*err, "code");
      message = JsonString(*err, "message");
    } else if (err != j.end() && err->is_string()) {
      code = err->get<std::string>();
      message = JsonString(j, "error_description");
    }
  }
  if (message.empty()) {
    message = "the server answered HTTP " + std::to_string(res.status);
  }
  return Status(CodeForHttp(res.status), message, code);
}

net::HttpsRequest JsonRequest(std::string method, std::string url,
                              const std::string& token, const json* body) {
  net::HttpsRequest req{.method = std::move(method),
                        .url = std::move(url),
                        .headers = {{"Accept", "application/json"}}};
  if (!token.empty()) {
    req.headers.emplace_back("Authorization", "Bearer " + token);
  }
  if (body != nullptr) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = DumpJson(*body);
  }
  return req;
}

Result<json> SendJson(const CliContext& ctx, const net::HttpsRequest& request) {
  ASSIGN_OR_RETURN(
      net::HttpsResponse res,
      net::SendHttps(request, net::HttpsOptions{.ca_files = ctx.ca_files}));
  if (res.status < 200 || res.status > 299) return ResponseError(res);
  if (res.body.empty()) return json();
  json j = ParseJsonOrDiscarded(res.body, kStoredJsonLimits);
  if (j.is_discarded()) {
    return UnavailableError("the server answered HTTP " +
                            std::to_string(res.status) + " without JSON");
  }
  return j;
}

Result<json> CallJson(const CliContext& ctx, const std::string& method,
                      const std::string& url, const std::string& token,
                      const json* body) {
  return SendJson(ctx, JsonRequest(method, url, token, body));
}

Result<Profile> LoggedIn(const CliContext& ctx) {
  ASSIGN_OR_RETURN(Profile p, LoadProfile(ctx.env.fs(), ctx.profile_path));
  RETURN_IF_ERROR(CheckTokenFresh(p, ctx.env.clock().Now()));
  return p;
}

void PrintJson(const CliContext& ctx, const json& j) {
  ctx.out << DumpJson(j, 2) << "\n";
}

Result<json> ParseTags(const std::vector<std::string>& tags) {
  json out = json::object();
  for (const std::string& t : tags) {
    size_t eq = t.find('=');
    std::string key = t.substr(0, eq);
    if (key.empty()) {
      return InvalidArgumentError("tag '" + t + "' must be key=value");
    }
    out[key] = eq == std::string::npos ? "" : t.substr(eq + 1);
  }
  return out;
}

Status Require(const std::string& value, const char* flag) {
  if (value.empty()) {
    return InvalidArgumentError(
        std::string("the following argument is required: ") + flag);
  }
  return Status::Ok();
}

}  // namespace atrest::cli
