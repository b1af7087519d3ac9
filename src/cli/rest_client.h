// The REST plumbing every client command shares: authenticated JSON
// requests against an origin (Resource Manager, the key vault data plane,
// the token endpoint), the error a non-2xx response carries, and az-like
// printing and argument helpers.
//
// Errors of a response keep the server's code in Status::reason() (e.g.
// "ResourceGroupNotFound", "KeyNotFound", "invalid_client") and its message;
// FormatError() (cli/commands.h) renders them as az does, "(code) message".
//
// Thread safety: free functions without state.
#ifndef ATREST_CLI_REST_CLIENT_H_
#define ATREST_CLI_REST_CLIENT_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "cli/commands.h"
#include "cli/profile.h"
#include "net/https_client.h"

namespace atrest::cli {

// "https://x/" -> "https://x".
std::string TrimSlash(std::string s);

// The error a non-2xx response carries: ARM's and Key Vault's
// {"error":{"code","message"}} or OAuth's {"error","error_description"};
// "the server answered HTTP <n>" when it carries none.
Status ResponseError(const net::HttpsResponse& res);

// A request with "Accept: application/json", "Authorization: Bearer
// <token>" unless `token` is empty, and `body` (when given) as JSON.
net::HttpsRequest JsonRequest(std::string method, std::string url,
                              const std::string& token,
                              const nlohmann::json* body = nullptr);

// Sends `request` trusting ctx.ca_files. Returns the 2xx body as JSON (null
// for an empty body), the response's error for other statuses, or
// Unavailable for a 2xx body that is not JSON.
Result<nlohmann::json> SendJson(const CliContext& ctx,
                                const net::HttpsRequest& request);

// SendJson(JsonRequest(...)): an authenticated JSON call to `url`.
Result<nlohmann::json> CallJson(const CliContext& ctx,
                                const std::string& method,
                                const std::string& url,
                                const std::string& token,
                                const nlohmann::json* body = nullptr);

// The saved profile, with a management token that is still fresh.
Result<Profile> LoggedIn(const CliContext& ctx);

// The logged-in profile and the subscription a command works in.
struct Session {
  Profile profile;
  std::string subscription;
};
// LoggedIn(), with `subscription` or else the profile's.
Result<Session> StartSession(const CliContext& ctx,
                             const std::string& subscription);

// ASCII lower case (resource names compare ignoring case).
std::string AsciiLower(std::string s);

// Prints `j` as az does (indented by two).
void PrintJson(const CliContext& ctx, const nlohmann::json& j);

// az's --tags: "key=value" (or "key" for an empty value) -> an object.
// InvalidArgument for an empty key.
Result<nlohmann::json> ParseTags(const std::vector<std::string>& tags);

// az's refusal of a missing argument: "the following argument is required:
// <flag>".
Status Require(const std::string& value, const char* flag);

}  // namespace atrest::cli

#endif  // ATREST_CLI_REST_CLIENT_H_
