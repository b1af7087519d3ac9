#include "cli/profile.h"

#include <ctime>
#include <nlohmann/json.hpp>

namespace atrest::cli {
namespace {

using nlohmann::json;

constexpr std::chrono::seconds kExpirySlack{60};

Result<env::WallTime> ParseUtc(const std::string& s) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') {
    return InvalidArgumentError("profile: expiresOn '" + s +
                                "' is not an ISO 8601 UTC time");
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string ParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

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
  return j.dump(2) + "\n";
}

Result<Profile> Profile::FromJson(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
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
  ASSIGN_OR_RETURN(p.expires_on, ParseUtc(expires));
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
  if (now + kExpirySlack < profile.expires_on) return Status::Ok();
  return FailedPreconditionError("the saved token expired at " +
                                 FormatUtc(profile.expires_on) +
                                 "; run atrest login again");
}

}  // namespace atrest::cli
