#include "keys/keyvault_client.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "base/json.h"
#include "base/json_fields.h"

namespace atrest::keys {
namespace {

using nlohmann::json;

// `shape` says what was expected, e.g. "https://<vault>/keys/<name>".
Status UriInvalid(std::string_view what, std::string_view uri,
                  std::string_view shape, std::string_view why) {
  return Status(StatusCode::kInvalidArgument,
                "The " + std::string(what) + " '" + std::string(uri) +
                    "' is not of the form " + std::string(shape) + ": " +
                    std::string(why) + ".",
                "KeyVaultUriInvalid");
}

constexpr std::string_view kKeyShape =
    "https://<vault>/keys/<name>[/<version>]";
constexpr std::string_view kVaultShape = "https://<vault>[:<port>]/";

Status KeyUriInvalid(std::string_view uri, std::string_view why) {
  return UriInvalid("key identifier", uri, kKeyShape, why);
}

bool ValidKeyName(std::string_view s) {
  if (s.empty() || s.size() > 127) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

bool ValidVersion(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// `name="value"` from a WWW-Authenticate header.
std::string ChallengeParam(std::string_view header, std::string_view name) {
  std::string key = std::string(name) + "=\"";
  size_t at = header.find(key);
  if (at == std::string_view::npos) return "";
  size_t start = at + key.size();
  size_t end = header.find('"', start);
  if (end == std::string_view::npos) return "";
  return std::string(header.substr(start, end - start));
}

// The vault's error as a Status: reason "code" or "code/innererror".
Status VaultError(const net::HttpsResponse& res) {
  json body = ParseJsonOrDiscarded(res.body, kRequestJsonLimits);
  std::string code = "HTTP" + std::to_string(res.status);
  std::string message =
      "the key vault answered HTTP " + std::to_string(res.status);
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const json& e = body["error"];
    if (e.contains("code") && e["code"].is_string()) {
      code = e["code"].get<std::string>();
    }
    if (e.contains("message") && e["message"].is_string()) {
      message = e["message"].get<std::string>();
    }
    if (e.contains("innererror") && e["innererror"].is_object() &&
        e["innererror"].contains("code") &&
        e["innererror"]["code"].is_string()) {
      code += "/" + e["innererror"]["code"].get<std::string>();
    }
  }
  StatusCode sc = StatusCode::kInternal;
  switch (res.status) {
    case 400:
      sc = StatusCode::kInvalidArgument;
      break;
    case 401:
      sc = StatusCode::kUnauthenticated;
      break;
    case 403:
      sc = StatusCode::kPermissionDenied;
      break;
    case 404:
      sc = StatusCode::kNotFound;
      break;
    case 409:
      sc = StatusCode::kFailedPrecondition;
      break;
    case 429:
      sc = StatusCode::kResourceExhausted;
      break;
    default:
      sc = res.status >= 500 ? StatusCode::kUnavailable : StatusCode::kInternal;
  }
  return Status(sc, message, code);
}

}  // namespace

Result<std::string> VaultKeyId::NormalizeVaultUri(std::string_view vault_uri) {
  Result<net::HttpsUrl> url = net::HttpsUrl::Parse(vault_uri);
  if (!url.ok()) {
    return UriInvalid("key vault URI", vault_uri, kVaultShape,
                      url.status().message());
  }
  if (url->target != "/") {
    return UriInvalid("key vault URI", vault_uri, kVaultShape,
                      "a vault URI has no path or query");
  }
  return "https://" + url->HostHeader();
}

Result<VaultKeyId> VaultKeyId::Parse(std::string_view key_uri) {
  Result<net::HttpsUrl> url = net::HttpsUrl::Parse(key_uri);
  if (!url.ok()) return KeyUriInvalid(key_uri, url.status().message());
  std::string_view path = url->target;
  if (path.find('?') != std::string_view::npos) {
    return KeyUriInvalid(key_uri, "it has a query");
  }
  constexpr std::string_view kKeys = "/keys/";
  if (path.substr(0, kKeys.size()) != kKeys) {
    return KeyUriInvalid(key_uri, "its path does not start with /keys/");
  }
  path.remove_prefix(kKeys.size());
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  VaultKeyId id;
  id.vault_uri = "https://" + url->HostHeader();
  size_t slash = path.find('/');
  id.name = std::string(path.substr(0, slash));
  if (slash != std::string_view::npos) {
    id.version = std::string(path.substr(slash + 1));
    if (!ValidVersion(id.version)) {
      return KeyUriInvalid(key_uri, "the key version is not 32 hex digits");
    }
  }
  if (!ValidKeyName(id.name)) {
    return KeyUriInvalid(key_uri,
                         "the key name is not 1-127 letters, digits "
                         "and dashes");
  }
  return id;
}

std::string VaultKeyId::ToString() const {
  return vault_uri + "/keys/" + name + (version.empty() ? "" : "/" + version);
}

Result<VaultChallenge> ParseChallenge(std::string_view header) {
  std::string authority = ChallengeParam(header, "authorization");
  if (authority.empty())
    authority = ChallengeParam(header, "authorization_uri");
  VaultChallenge c;
  c.resource = ChallengeParam(header, "resource");
  if (c.resource.empty()) {
    // "scope" names a scope, "<resource>/.default".
    c.resource = ChallengeParam(header, "scope");
    constexpr std::string_view kDefault = "/.default";
    if (c.resource.size() > kDefault.size() &&
        c.resource.compare(c.resource.size() - kDefault.size(), kDefault.size(),
                           kDefault) == 0) {
      c.resource.resize(c.resource.size() - kDefault.size());
    }
  }
  while (!authority.empty() && authority.back() == '/') authority.pop_back();
  size_t slash = authority.rfind('/');
  if (slash != std::string::npos) c.tenant_id = authority.substr(slash + 1);
  if (c.tenant_id.empty() || c.resource.empty()) {
    return Status(StatusCode::kUnavailable,
                  "The key vault's challenge names no tenant or resource.",
                  "KeyVaultUnreachable");
  }
  return c;
}

Result<VaultKeyInfo> ParseKeyBundle(std::string_view body) {
  json j = ParseJsonOrDiscarded(body, kRequestJsonLimits);
  if (!j.is_object() || !j.contains("key") || !j["key"].is_object()) {
    return Status(StatusCode::kUnavailable,
                  "The key vault's answer is not a key bundle.",
                  "KeyVaultUnreachable");
  }
  const json& key = j["key"];
  auto text = [](const json& o, const char* name) -> std::string {
    return o.contains(name) && o[name].is_string() ? o[name].get<std::string>()
                                                   : "";
  };
  VaultKeyInfo info;
  info.kty = text(key, "kty");
  Result<VaultKeyId> kid = VaultKeyId::Parse(text(key, "kid"));
  if (!kid.ok()) {
    return Status(StatusCode::kUnavailable,
                  "The key vault's answer has no valid kid.",
                  "KeyVaultUnreachable");
  }
  info.id = *kid;
  if (Result<Bytes> n = Base64UrlDecode(text(key, "n")); n.ok()) {
    size_t lead = 0;
    while (lead < n->size() && (*n)[lead] == 0) ++lead;
    info.key_bits = static_cast<int>((n->size() - lead) * 8);
  }
  if (key.contains("key_ops") && key["key_ops"].is_array()) {
    for (const json& op : key["key_ops"]) {
      if (op.is_string()) info.key_ops.push_back(op.get<std::string>());
    }
  }
  if (j.contains("attributes") && j["attributes"].is_object()) {
    const json& a = j["attributes"];
    if (a.contains("enabled") && a["enabled"].is_boolean()) {
      info.enabled = a["enabled"].get<bool>();
    }
    // Integers only: a float (say 1e300) has no Unix time to convert to.
    if (a.contains("nbf") && a["nbf"].is_number_integer()) {
      info.not_before = a["nbf"].get<int64_t>();
    }
    if (a.contains("exp") && a["exp"].is_number_integer()) {
      info.expires = a["exp"].get<int64_t>();
    }
    info.recovery_level = text(a, "recoveryLevel");
  }
  return info;
}

namespace {

// A key bundle or a wrap answer is a few KiB.
constexpr uint64_t kMaxVaultAnswerBytes = 1 << 20;

net::HttpsOptions Bounded(net::HttpsOptions options) {
  options.max_body_bytes =
      std::min(options.max_body_bytes, kMaxVaultAnswerBytes);
  return options;
}

// The one answer to every transport failure (see the header).
Status Unreachable() {
  return Status(StatusCode::kUnavailable,
                "The key vault could not be reached: it gave no HTTPS answer "
                "with a valid certificate for its name in time.",
                "KeyVaultUnreachable");
}

}  // namespace

KeyVaultClient::KeyVaultClient(net::HttpsOptions options, VaultHosts hosts)
    : hosts_(std::move(hosts)),
      https_(net::HttpsClient::Create(Bounded(std::move(options)))) {}

Result<net::HttpsResponse> KeyVaultClient::Send(const std::string& method,
                                                const std::string& url,
                                                const std::string& body,
                                                const std::string& token) {
  net::HttpsRequest req{.method = method, .url = url};
  req.headers.emplace_back("Accept", "application/json");
  req.headers.emplace_back("User-Agent", "atrest-kek");
  if (!token.empty()) {
    req.headers.emplace_back("Authorization", "Bearer " + token);
  }
  if (!body.empty()) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body;
  }
  if (!https_.ok()) {
    return Status(
        StatusCode::kUnavailable,
        "The key vault client cannot start: " + https_.status().message(),
        "KeyVaultUnreachable");
  }
  Result<net::HttpsResponse> res = (*https_)->Send(req);
  if (!res.ok()) return Unreachable();
  return res;
}

Result<VaultChallenge> KeyVaultClient::Challenge(const std::string& vault_uri,
                                                 bool refresh) {
  ASSIGN_OR_RETURN(VaultEndpoint vault, hosts_.Check(vault_uri));
  if (!refresh) {
    std::lock_guard lock(mu_);
    auto it = challenges_.find(vault.uri);
    if (it != challenges_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(
      net::HttpsResponse res,
      Send("GET",
           vault.uri + "/keys?api-version=" + kApiVersion + "&maxresults=1", "",
           ""));
  if (res.status != 401 || res.www_authenticate.empty()) {
    if (res.status == 404) return VaultError(res);
    return Status(StatusCode::kUnavailable,
                  "The key vault at " + vault.uri +
                      " did not answer with a Key Vault challenge (HTTP " +
                      std::to_string(res.status) + ").",
                  "KeyVaultUnreachable");
  }
  ASSIGN_OR_RETURN(VaultChallenge c, ParseChallenge(res.www_authenticate));
  // The audience is checked before anything is remembered or minted.
  ASSIGN_OR_RETURN(c.resource, hosts_.ChallengeAudience(vault, c.resource));
  std::lock_guard lock(mu_);
  challenges_[vault.uri] = c;
  return c;
}

Result<std::string> KeyVaultClient::Call(const VaultKeyId& id,
                                         const std::string& method,
                                         const std::string& path,
                                         const std::string& body,
                                         const TokenSource& tokens) {
  ASSIGN_OR_RETURN(VaultEndpoint vault, hosts_.Check(id.vault_uri));
  const std::string url =
      vault.uri + path + "?api-version=" + std::string(kApiVersion);
  // A 401 to a token made for a remembered challenge may mean the vault
  // changed (another tenant): forget it, ask again, and retry once.
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(VaultChallenge challenge, Challenge(vault.uri));
    ASSIGN_OR_RETURN(std::string token,
                     tokens(challenge.tenant_id, challenge.resource));
    ASSIGN_OR_RETURN(net::HttpsResponse res, Send(method, url, body, token));
    if (res.status == 401 && attempt == 0) {
      std::lock_guard lock(mu_);
      challenges_.erase(vault.uri);
      continue;
    }
    if (res.status / 100 != 2) return VaultError(res);
    return std::move(res.body);
  }
}

Result<VaultKeyInfo> KeyVaultClient::GetKey(const VaultKeyId& id,
                                            const TokenSource& tokens) {
  std::string path = "/keys/" + id.name;
  if (!id.version.empty()) path += "/" + id.version;
  ASSIGN_OR_RETURN(std::string body, Call(id, "GET", path, "", tokens));
  return ParseKeyBundle(body);
}

Result<std::pair<std::string, Bytes>> KeyVaultClient::WrapKey(
    const VaultKeyId& id, const crypto::SecretBytes& key,
    const TokenSource& tokens) {
  std::string path = "/keys/" + id.name;
  if (!id.version.empty()) path += "/" + id.version;
  json req = {{"alg", kAlgorithm},
              {"value", Base64UrlEncode(key.RevealSecret())}};
  ASSIGN_OR_RETURN(std::string body,
                   Call(id, "POST", path + "/wrapkey", DumpJson(req), tokens));
  json j = ParseJsonOrDiscarded(body, kRequestJsonLimits);
  Result<VaultKeyId> kid =
      VaultKeyId::Parse(j.is_object() ? JsonString(j, "kid") : "");
  Result<Bytes> value = Base64UrlDecode(j.is_object() && j.contains("value") &&
                                                j["value"].is_string()
                                            ? j["value"].get<std::string>()
                                            : "");
  if (!kid.ok() || kid->version.empty() || !value.ok() || value->empty()) {
    return Status(StatusCode::kUnavailable,
                  "The key vault's wrapKey answer is malformed.",
                  "KeyVaultUnreachable");
  }
  return std::make_pair(kid->version, std::move(*value));
}

Result<crypto::SecretBytes> KeyVaultClient::UnwrapKey(
    const VaultKeyId& id, ByteView wrapped, const TokenSource& tokens) {
  std::string path = "/keys/" + id.name;
  if (!id.version.empty()) path += "/" + id.version;
  json req = {{"alg", kAlgorithm}, {"value", Base64UrlEncode(wrapped)}};
  ASSIGN_OR_RETURN(std::string body, Call(id, "POST", path + "/unwrapkey",
                                          DumpJson(req), tokens));
  json j = ParseJsonOrDiscarded(body, kRequestJsonLimits);
  std::string value =
      j.is_object() && j.contains("value") && j["value"].is_string()
          ? j["value"].get<std::string>()
          : "";
  // Wipe the JSON copies of the key as far as we hold them.
  std::fill(body.begin(), body.end(), '\0');
  Result<Bytes> key = Base64UrlDecode(value);
  std::fill(value.begin(), value.end(), '\0');
  if (!key.ok() || key->empty()) {
    return Status(StatusCode::kUnavailable,
                  "The key vault's unwrapKey answer is malformed.",
                  "KeyVaultUnreachable");
  }
  crypto::SecretBytes out = crypto::SecretBytes::CopyFrom(*key);
  std::fill(key->begin(), key->end(), uint8_t{0});
  return out;
}

}  // namespace atrest::keys
