// The client commands: `atrest login` and `atrest group ...`, speaking the
// service's Entra token endpoint and Resource Manager REST APIs as `az`
// does (through cli/rest_client.h), and printing az-like JSON.
//
// Every command returns OK after printing its result to `out`, or an error
// whose message is ready for the user. ARM and token endpoint errors keep
// the server's code in Status::reason() (e.g. "ResourceGroupNotFound",
// "invalid_client") and its message (with the AADSTS number) as message.
//
// Thread safety: the functions keep no state; the profile file is shared by
// every command of the user (cli/profile.h).
#ifndef ATREST_CLI_COMMANDS_H_
#define ATREST_CLI_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/env.h"

namespace atrest::cli {

// What every command needs. Borrowed references.
struct CliContext {
  env::Env& env;
  std::string profile_path;           // cli/profile.h DefaultProfilePath().
  std::vector<std::string> ca_files;  // Extra trusted CAs (PEM files).
  std::ostream& out;
};

// The CA files a command trusts besides the system's: `flag` when set,
// else those of $REQUESTS_CA_BUNDLE and $NODE_EXTRA_CA_CERTS that are set
// (both may be, one often naming the system bundle).
std::vector<std::string> CaFilesFromEnvironment(const std::string& flag);

struct LoginOptions {
  std::string tenant_id;
  std::string client_id;
  std::string client_secret;  // Used for one token request, never saved.
  std::string authority = "https://login.localhost:8443";
  std::string management_endpoint = "https://management.localhost:8443";
  std::string subscription_id;  // Empty: the first one listed.
};

// Gets two tokens with the client credentials grant, one for Resource
// Manager and one for the key vault data plane (resource
// "https://vault.<domain>[:port]", the domain and port of the management
// endpoint), lists the subscriptions the service principal sees, saves the
// profile with the chosen one, and prints them as `az login` does.
Status Login(const CliContext& ctx, const LoginOptions& options);

// `tags` are "key=value" (or "key" for an empty value).
Status GroupCreate(const CliContext& ctx, const std::string& name,
                   const std::string& location,
                   const std::vector<std::string>& tags);
Status GroupList(const CliContext& ctx);
Status GroupShow(const CliContext& ctx, const std::string& name);
// Prints nothing on success, as `az group delete --yes` does.
Status GroupDelete(const CliContext& ctx, const std::string& name);

// "(code) message" for errors that carry a server code, else the message.
std::string FormatError(const Status& status);

}  // namespace atrest::cli

#endif  // ATREST_CLI_COMMANDS_H_
