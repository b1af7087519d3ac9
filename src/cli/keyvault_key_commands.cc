#include "cli/keyvault_key_commands.h"

#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>
#include <utility>

#include "base/base64.h"
#include "base/bytes.h"
#include "cli/pem_key.h"
#include "cli/profile.h"
#include "cli/rest_client.h"
#include "net/https_client.h"

namespace atrest::cli {
namespace {

using nlohmann::json;

// What atrest's client speaks (reference/keyvault-api.md §1.4).
constexpr const char* kApiVersion = "7.5";
constexpr std::string_view kHttps = "https://";
// Bounds list walks, in case a server keeps answering with a nextLink.
constexpr int kMaxPages = 10000;

// The vault's data plane: its origin and the token for it.
struct DataPlane {
  std::string origin;  // "https://<vault>.vault.<domain>[:port]".
  std::string token;
};

Result<DataPlane> Open(const CliContext& ctx, const std::string& vault_name) {
  RETURN_IF_ERROR(Require(vault_name, "--vault-name"));
  std::string label;
  for (char c : vault_name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return InvalidArgumentError(
          "--vault-name must hold only letters, digits and dashes");
    }
    label += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  ASSIGN_OR_RETURN(Profile p, LoadProfile(ctx.env.fs(), ctx.profile_path));
  RETURN_IF_ERROR(CheckVaultTokenFresh(p, ctx.env.clock().Now()));
  const std::string& resource = p.vault_resource;
  if (!resource.starts_with(kHttps)) {
    return FailedPreconditionError("the saved vault resource '" + resource +
                                   "' is not https://; run atrest login again");
  }
  return DataPlane{.origin = std::string(kHttps) + label + "." +
                             TrimSlash(resource.substr(kHttps.size())),
                   .token = std::move(p.vault_access_token)};
}

// `path` is relative to the vault; the api-version is appended.
Result<json> Call(const CliContext& ctx, const DataPlane& dp,
                  const std::string& method, const std::string& path,
                  const json* body = nullptr) {
  return CallJson(ctx, method, dp.origin + path + "?api-version=" + kApiVersion,
                  dp.token, body);
}

Result<std::string> KeyPath(const KeyTarget& key) {
  RETURN_IF_ERROR(Require(key.name, "--name/-n"));
  return "/keys/" + net::PercentEncode(key.name);
}

// "/keys/<name>/<version>"; an empty version (a trailing slash) is the
// latest (reference §1.3).
Result<std::string> VersionPath(const KeyTarget& key) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  return path + "/" + net::PercentEncode(key.version);
}

Result<int64_t> UnixSeconds(const std::string& iso, const char* flag) {
  Result<env::WallTime> t = ParseUtc(iso);
  if (!t.ok()) return t.status().WithContext(flag);
  return static_cast<int64_t>(std::chrono::system_clock::to_time_t(*t));
}

// KeyAttributes from the options; {} when none is given.
Result<json> AttributesOf(const KeyAttributeOptions& o) {
  json a = json::object();
  if (o.enabled) a["enabled"] = *o.enabled;
  if (!o.not_before.empty()) {
    ASSIGN_OR_RETURN(a["nbf"], UnixSeconds(o.not_before, "--not-before"));
  }
  if (!o.expires.empty()) {
    ASSIGN_OR_RETURN(a["exp"], UnixSeconds(o.expires, "--expires"));
  }
  return a;
}

// Adds attributes and tags (when given) to a request body.
Status AddAttributesAndTags(const KeyAttributeOptions& o, json& body) {
  ASSIGN_OR_RETURN(json attributes, AttributesOf(o));
  if (!attributes.empty()) body["attributes"] = std::move(attributes);
  if (o.tags) {
    ASSIGN_OR_RETURN(body["tags"], ParseTags(*o.tags));
  }
  return Status::Ok();
}

// az's --kty and --protection: RSA-HSM when either asks for an HSM.
std::string KtyOf(const std::string& kty, const std::string& protection) {
  if (kty == "RSA-HSM" || protection == "hsm") return "RSA-HSM";
  return "RSA";
}

// Prints the "value" items of every page, following nextLink on the same
// vault only (the token is not sent elsewhere).
Status PrintAllPages(const CliContext& ctx, const DataPlane& dp,
                     const std::string& path) {
  json items = json::array();
  ASSIGN_OR_RETURN(json page, Call(ctx, dp, "GET", path));
  for (int n = 0; n < kMaxPages && page.is_object(); ++n) {
    for (const json& item : page.value("value", json::array())) {
      items.push_back(item);
    }
    const json next = page.value("nextLink", json());
    if (!next.is_string() || next.get_ref<const std::string&>().empty()) {
      break;
    }
    const std::string& url = next.get_ref<const std::string&>();
    if (!url.starts_with(dp.origin + "/")) {
      return UnavailableError("the service's nextLink " + url +
                              " leaves the vault " + dp.origin);
    }
    ASSIGN_OR_RETURN(page, CallJson(ctx, "GET", url, dp.token));
  }
  PrintJson(ctx, items);
  return Status::Ok();
}

// Runs one request on a key and prints the answer.
Status KeyCall(const CliContext& ctx, const std::string& vault_name,
               const std::string& method, const std::string& path,
               const json* body = nullptr) {
  ASSIGN_OR_RETURN(DataPlane dp, Open(ctx, vault_name));
  ASSIGN_OR_RETURN(json out, Call(ctx, dp, method, path, body));
  PrintJson(ctx, out);
  return Status::Ok();
}

}  // namespace

Status KeyCreate(const CliContext& ctx, const KeyCreateOptions& o) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(o.key));
  json body = {{"kty", KtyOf(o.kty, o.protection)}};
  if (o.size) body["key_size"] = *o.size;
  if (o.attributes.ops) body["key_ops"] = *o.attributes.ops;
  RETURN_IF_ERROR(AddAttributesAndTags(o.attributes, body));
  return KeyCall(ctx, o.key.vault_name, "POST", path + "/create", &body);
}

Status KeyImport(const CliContext& ctx, const KeyImportOptions& o) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(o.key));
  RETURN_IF_ERROR(Require(o.pem_file, "--pem-file"));
  ASSIGN_OR_RETURN(Bytes pem, env::ReadFile(ctx.env.fs(), o.pem_file));
  Result<json> jwk = RsaPrivateJwkFromPem(AsString(pem));
  if (!jwk.ok()) return jwk.status().WithContext(o.pem_file);
  if (o.attributes.ops) (*jwk)["key_ops"] = *o.attributes.ops;
  const std::string kty = KtyOf(o.kty, o.protection);
  json body = {{"key", std::move(*jwk)}};
  if (kty == "RSA-HSM") body["Hsm"] = true;
  RETURN_IF_ERROR(AddAttributesAndTags(o.attributes, body));
  return KeyCall(ctx, o.key.vault_name, "PUT", path, &body);
}

Status KeyShow(const CliContext& ctx, const KeyTarget& key) {
  ASSIGN_OR_RETURN(std::string path, VersionPath(key));
  return KeyCall(ctx, key.vault_name, "GET", path);
}

Status KeyList(const CliContext& ctx, const std::string& vault_name) {
  ASSIGN_OR_RETURN(DataPlane dp, Open(ctx, vault_name));
  return PrintAllPages(ctx, dp, "/keys");
}

Status KeyListVersions(const CliContext& ctx, const KeyTarget& key) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  ASSIGN_OR_RETURN(DataPlane dp, Open(ctx, key.vault_name));
  return PrintAllPages(ctx, dp, path + "/versions");
}

Status KeySetAttributes(const CliContext& ctx, const KeyTarget& key,
                        const KeyAttributeOptions& o) {
  ASSIGN_OR_RETURN(std::string path, VersionPath(key));
  json body = json::object();
  if (o.ops) body["key_ops"] = *o.ops;
  RETURN_IF_ERROR(AddAttributesAndTags(o, body));
  return KeyCall(ctx, key.vault_name, "PATCH", path, &body);
}

Status KeyDelete(const CliContext& ctx, const KeyTarget& key) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  return KeyCall(ctx, key.vault_name, "DELETE", path);
}

Status KeyRecover(const CliContext& ctx, const KeyTarget& key) {
  RETURN_IF_ERROR(Require(key.name, "--name/-n"));
  return KeyCall(ctx, key.vault_name, "POST",
                 "/deletedkeys/" + net::PercentEncode(key.name) + "/recover");
}

Status KeyPurge(const CliContext& ctx, const KeyTarget& key) {
  RETURN_IF_ERROR(Require(key.name, "--name/-n"));
  ASSIGN_OR_RETURN(DataPlane dp, Open(ctx, key.vault_name));
  return Call(ctx, dp, "DELETE", "/deletedkeys/" + net::PercentEncode(key.name))
      .status();
}

Status KeyRotate(const CliContext& ctx, const KeyTarget& key) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  return KeyCall(ctx, key.vault_name, "POST", path + "/rotate");
}

Status KeyBackup(const CliContext& ctx, const KeyTarget& key,
                 const std::string& file) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  RETURN_IF_ERROR(Require(file, "--file"));
  if (ctx.env.fs().Exists(file)) {
    return FailedPreconditionError("File '" + file +
                                   "' already exists; not overwriting it");
  }
  ASSIGN_OR_RETURN(DataPlane dp, Open(ctx, key.vault_name));
  ASSIGN_OR_RETURN(json out, Call(ctx, dp, "POST", path + "/backup"));
  const json value = out.is_object() ? out.value("value", json()) : json();
  if (!value.is_string()) {
    return UnavailableError("the service's backup has no value");
  }
  Result<Bytes> blob = Base64UrlDecode(value.get<std::string>());
  if (!blob.ok()) {
    return UnavailableError("the service's backup value is not base64url");
  }
  if (ctx.env.fs().Exists(file)) {
    return FailedPreconditionError("File '" + file +
                                   "' already exists; not overwriting it");
  }
  return env::WriteFileAtomically(ctx.env.fs(), file, *blob);
}

Status KeyRestore(const CliContext& ctx, const std::string& vault_name,
                  const std::string& file) {
  RETURN_IF_ERROR(Require(file, "--file"));
  ASSIGN_OR_RETURN(Bytes blob, env::ReadFile(ctx.env.fs(), file));
  const json body = {{"value", Base64UrlEncode(blob)}};
  return KeyCall(ctx, vault_name, "POST", "/keys/restore", &body);
}

}  // namespace atrest::cli
