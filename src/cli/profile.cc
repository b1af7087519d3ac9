#include "cli/profile.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "base/json.h"

namespace atrest::cli {
namespace {

using nlohmann::json;

constexpr std::chrono::seconds kExpirySlack{60};

std::string ParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The optional vault members: all or none.
Status ReadVaultToken(const json& j, Profile& p) {
  auto it = j.find("vaultAccessToken");
  if (it == j.end()) return Status::Ok();
  for (const char* name :
       {"vaultResource", "vaultAccessToken", "vaultExpiresOn"}) {
    auto f = j.find(name);
    if (f == j.end() || !f->is_string() ||
        f->get_ref<const std::string&>().empty()) {
      return InvalidArgumentError(std::string("profile: ") + name +
                                  " is missing");
    }
  }
  p.vault_resource = j["vaultResource"].get<std::string>();
  p.vault_access_token = it->get<std::string>();
  Result<env::WallTime> expires =
      ParseUtc(j["vaultExpiresOn"].get<std::string>());
  if (!expires.ok())
    return expires.status().WithContext("profile: vaultExpiresOn");
  p.vault_expires_on = *expires;
  return Status::Ok();
}

Status CheckFresh(env::WallTime expires_on, env::WallTime now,
                  const char* what) {
  if (now + kExpirySlack < expires_on) return Status::Ok();
  return FailedPreconditionError(std::string("the saved ") + what +
                                 " expired at " + FormatUtc(expires_on) +
                                 "; run atrest login again");
}

}  // namespace

Result<env::WallTime> ParseUtc(std::string_view text) {
  std::string s(text);
  const std::string original = s;
  if (s.ends_with("Z") || s.ends_with("z")) {
    s.pop_back();
  } else if (s.ends_with("+00:00")) {
    s.resize(s.size() - 6);
  }
  if (size_t dot = s.find('.'); dot != std::string::npos) {
    bool digits = dot + 1 < s.size();
    for (size_t i = dot + 1; i < s.size(); ++i) {
      digits = digits && s[i] >= '0' && s[i] <= '9';
    }
    if (digits) s.resize(dot);
  }
  for (const char* format : {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"}) {
    std::tm tm{};
    const char* end = strptime(s.c_str(), format, &tm);
    if (end != nullptr && *end == '\0') {
      return std::chrono::system_clock::from_time_t(timegm(&tm));
    }
  }
  return InvalidArgumentError("'" + original +
                              "' is not an ISO 8601 UTC time such as "
                              "2030-01-01T00:00:00Z");
}

std::string FormatUtc(env::WallTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Profile::ToJson() const {
  json j = {{"tenantId", tenant_id},
            {"clientId", client_id},
            {"authority", authority},
            {"managementEndpoint", management_endpoint},
            {"subscriptionId", subscription_id},
            {"accessToken", access_token},
            {"expiresOn", FormatUtc(expires_on)}};
  if (!vault_access_token.empty()) {
    j["vaultResource"] = vault_resource;
    j["vaultAccessToken"] = vault_access_token;
    j["vaultExpiresOn"] = FormatUtc(vault_expires_on);
  }
  return DumpJson(j, 2) + "\n";
}

Result<Profile> Profile::FromJson(std::string_view text) {
  json j = ParseJsonOrDiscarded(text, kStoredJsonLimits);
  if (!j.is_object()) return InvalidArgumentError("profile: not a JSON object");
  auto field = [&j](const char* name) -> Result<std::string> {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string() ||
        it->get_ref<const std::string&>().empty()) {
      return InvalidArgumentError(std::string("profile: ") + name +
                                  " is missing");
    }
    return it->get<std::string>();
  };
  Profile p;
  ASSIGN_OR_RETURN(p.tenant_id, field("tenantId"));
  ASSIGN_OR_RETURN(p.client_id, field("clientId"));
  ASSIGN_OR_RETURN(p.authority, field("authority"));
  ASSIGN_OR_RETURN(p.management_endpoint, field("managementEndpoint"));
  ASSIGN_OR_RETURN(p.subscription_id, field("subscriptionId"));
  ASSIGN_OR_RETURN(p.access_token, field("accessToken"));
  ASSIGN_OR_RETURN(std::string expires, field("expiresOn"));
  Result<env::WallTime> expires_on = ParseUtc(expires);
  if (!expires_on.ok())
    return expires_on.status().WithContext("profile: expiresOn");
  p.expires_on = *expires_on;
  RETURN_IF_ERROR(ReadVaultToken(j, p));
  return p;
}

Result<std::string> DefaultProfilePath(std::string_view xdg_config_home,
                                       std::string_view home) {
  std::string dir;
  if (!xdg_config_home.empty() && xdg_config_home.front() == '/') {
    dir = std::string(xdg_config_home);
  } else if (!home.empty()) {
    dir = std::string(home) + "/.config";
  } else {
    return FailedPreconditionError(
        "neither XDG_CONFIG_HOME nor HOME is set; cannot place the profile");
  }
  return dir + "/atrest/profile.json";
}

Status SaveProfile(env::FileSystem& fs, const std::string& path,
                   const Profile& profile) {
  RETURN_IF_ERROR(fs.CreateDirs(ParentDir(path)));
  std::string text = profile.ToJson();
  return env::WriteFileAtomically(fs, path, AsBytes(text));
}

Result<Profile> LoadProfile(env::FileSystem& fs, const std::string& path) {
  if (!fs.Exists(path)) {
    return FailedPreconditionError("not logged in (no " + path +
                                   "); run atrest login");
  }
  ASSIGN_OR_RETURN(Bytes bytes, env::ReadFile(fs, path));
  std::string text(bytes.begin(), bytes.end());
  Result<Profile> p = Profile::FromJson(text);
  if (!p.ok()) return p.status().WithContext(path);
  return p;
}

Status CheckTokenFresh(const Profile& profile, env::WallTime now) {
  return CheckFresh(profile.expires_on, now, "token");
}

Status CheckVaultTokenFresh(const Profile& profile, env::WallTime now) {
  if (profile.vault_access_token.empty()) {
    return FailedPreconditionError(
        "the saved profile has no key vault token (it was saved by an older "
        "atrest); run atrest login again");
  }
  return CheckFresh(profile.vault_expires_on, now, "key vault token");
}

}  // namespace atrest::cli
