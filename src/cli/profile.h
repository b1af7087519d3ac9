// Profile: what `atrest login` remembers for later commands.
//
// The profile is a JSON file, by default $XDG_CONFIG_HOME/atrest/profile.json
// or ~/.config/atrest/profile.json, written atomically with mode 0600 in a
// directory created with mode 0700. It holds the endpoints, the chosen
// subscription and two access tokens with their expiry, one for Resource
// Manager and one for the key vault data plane, never the client secret:
// once a token expires, `atrest login` must run again. Profiles saved before
// atrest saved the vault token still load; CheckVaultTokenFresh() then asks
// for a new login.
//
// Thread safety: plain values and free functions; the file itself is not
// locked, so two concurrent logins leave one of the two profiles.
#ifndef ATREST_CLI_PROFILE_H_
#define ATREST_CLI_PROFILE_H_

#include <string>
#include <string_view>

#include "base/status.h"
#include "env/env.h"

namespace atrest::cli {

struct Profile {
  std::string tenant_id;
  std::string client_id;
  std::string authority;            // e.g. https://login.localhost:8443
  std::string management_endpoint;  // e.g. https://management.localhost:8443
  std::string subscription_id;
  std::string access_token;
  env::WallTime expires_on;  // Whole seconds.
  // The key vault data plane: its resource ("https://vault.<domain>[:port]",
  // the token's audience; vaults are https://<name>.vault.<domain>[:port])
  // and token. All empty in profiles saved by older versions.
  std::string vault_resource;
  std::string vault_access_token;
  env::WallTime vault_expires_on{};  // Whole seconds.

  // The JSON written to disk (camelCase keys, expiresOn in ISO 8601 UTC).
  std::string ToJson() const;
  // Parses ToJson()'s output; InvalidArgument names the missing field.
  static Result<Profile> FromJson(std::string_view text);
};

// The profile path from $XDG_CONFIG_HOME (used when absolute) or $HOME;
// pass the variables' values, empty when unset. FailedPrecondition when
// neither gives a directory.
Result<std::string> DefaultProfilePath(std::string_view xdg_config_home,
                                       std::string_view home);

// Creates the parent directory (0700) when missing and writes the profile
// atomically (0600).
Status SaveProfile(env::FileSystem& fs, const std::string& path,
                   const Profile& profile);

// Reads the profile. FailedPrecondition ("not logged in; run atrest login")
// when the file does not exist.
Result<Profile> LoadProfile(env::FileSystem& fs, const std::string& path);

// OK while the token is valid at `now` with a minute to spare;
// FailedPrecondition "the saved token expired at <time>; run atrest login
// again" otherwise.
Status CheckTokenFresh(const Profile& profile, env::WallTime now);

// OK while the profile has a key vault token valid at `now` with a minute to
// spare; FailedPrecondition telling to run atrest login again otherwise
// (also for a profile saved without one).
Status CheckVaultTokenFresh(const Profile& profile, env::WallTime now);

// "2026-01-01T00:00:00Z".
std::string FormatUtc(env::WallTime t);
// ISO 8601 in UTC, as az takes it: "2026-01-01T00:00:00Z", with optional
// fractional seconds (dropped), "+00:00" for "Z", no zone (UTC), or a date
// alone ("2026-01-01", midnight). InvalidArgument otherwise.
Result<env::WallTime> ParseUtc(std::string_view s);

}  // namespace atrest::cli

#endif  // ATREST_CLI_PROFILE_H_
