#include "api/keyvault_api.h"

#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "base/json.h"
#include "crypto/jwk.h"
#include "http/headers.h"

namespace atrest::api {
namespace {

using nlohmann::json;
using vault::DataCaller;
using vault::VaultService;

// ---- Errors ----

http::Response KvErrorResponse(const Status& status) {
  std::string reason = status.reason();
  std::string code = reason, inner;
  if (size_t slash = reason.find('/'); slash != std::string::npos) {
    code = reason.substr(0, slash);
    inner = reason.substr(slash + 1);
  }
  int http_status = http::HttpStatusFor(status.code());
  const bool full = status.code() == StatusCode::kInsufficientStorage;
  if (code.empty() || full) {
    code = full                 ? "InsufficientStorage"
           : http_status >= 500 ? "InternalServerError"
                                : "BadParameter";
  }
  // Internal details stay in the server log; a refusal to run a call
  // (reason ServiceUnavailable) has none and says what to do.
  const bool retry_later = status.code() == StatusCode::kUnavailable &&
                           reason == "ServiceUnavailable";
  const std::string message =
      full ? "The service is out of storage space; nothing was changed. "
             "Retry once space has been freed on its data disk."
      : http_status >= 500 && !retry_later
          ? "The server had an internal error; see its log."
          : status.message();
  json error = {{"code", code}, {"message", message}};
  if (!inner.empty()) error["innererror"] = {{"code", inner}};
  http::Response r =
      http::Response::Json(http_status, DumpJson(json{{"error", error}}));
  if (http_status >= 500) r.failure = status;  // For the server's event log.
  return r;
}

Status Bad(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message),
                "BadParameter");
}

#define KV_RETURN_IF_ERROR(expr) \
  ATREST_KV_RETURN_IF_ERROR_IMPL_(ATREST_CONCAT_(kv_status_, __COUNTER__), expr)
#define ATREST_KV_RETURN_IF_ERROR_IMPL_(status, expr) \
  do {                                                \
    ::atrest::Status status = (expr);                 \
    if (!status.ok()) return KvErrorResponse(status); \
  } while (0)
#define KV_ASSIGN_OR_RETURN(lhs, rexpr)                                     \
  ATREST_KV_ASSIGN_OR_RETURN_IMPL_(ATREST_CONCAT_(kv_result_, __COUNTER__), \
                                   lhs, rexpr)
#define ATREST_KV_ASSIGN_OR_RETURN_IMPL_(result, lhs, rexpr) \
  auto result = (rexpr);                                     \
  if (!result.ok()) return KvErrorResponse(result.status()); \
  lhs = std::move(result).value()

// ---- Request context ----

struct KvContext {
  DataCaller caller;
  std::string vault;  // The host label.
  // "https://<vault>.vault.<domain>[:port]": the configured domain, the
  // port as the client sent it (validated digits), never the raw Host.
  std::string base_url;
  std::string api_version;
};

// reference/keyvault-api.md §1.4: 7.0-7.6 with previews, 2016-10-01 and
// 2025-07-01.
bool KnownApiVersion(std::string_view v) {
  if (v == "2016-10-01" || v == "2025-07-01") return true;
  if (v.size() < 3 || v.substr(0, 2) != "7.") return false;
  if (v[2] < '0' || v[2] > '6') return false;
  return v.size() == 3 || v.substr(3).starts_with("-preview");
}

using KvHandler = http::Response (*)(http::Request&, Services&,
                                     const KvContext&);

http::Handler KvRoute(KvHandler fn, Services& services) {
  return [fn, &services](http::Request& request) -> http::Response {
    VaultService& vaults = *services.vaults;
    // The challenge comes before anything else (reference §2.1): the SDK's
    // first request has no token and no body.
    std::optional<std::string_view> auth = request.headers.Get("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (!auth || auth->size() <= kBearer.size() ||
        !http::EqualsIgnoreCase(auth->substr(0, kBearer.size()), kBearer)) {
      Result<std::string> tenant = vaults.VaultTenant(request.host_label);
      if (!tenant.ok()) return KvErrorResponse(tenant.status());
      http::Response r = KvErrorResponse(
          Status(StatusCode::kUnauthenticated,
                 "AKV10000: Request is missing a Bearer or PoP token.",
                 "Unauthorized"));
      r.headers.Set("WWW-Authenticate", "Bearer authorization=\"" +
                                            services.Origin("login") + "/" +
                                            *tenant + "\", resource=\"" +
                                            services.Origin("vault") + "\"");
      return r;
    }
    KvContext ctx;
    std::optional<std::string_view> version = request.Query("api-version");
    if (!version) {
      return KvErrorResponse(
          Bad("The api-version query parameter is "
              "required."));
    }
    if (!KnownApiVersion(*version)) {
      return KvErrorResponse(
          Bad("The specified version (" + std::string(*version) +
              ") is not recognized. Consider using the latest supported "
              "version (2025-07-01)."));
    }
    ctx.api_version = std::string(*version);
    Result<identity::Caller> caller = services.identity.Authenticate(
        auth->substr(kBearer.size()), services.Audiences("vault"),
        std::nullopt);
    if (!caller.ok()) {
      Result<std::string> tenant = vaults.VaultTenant(request.host_label);
      http::Response r = KvErrorResponse(
          Status(StatusCode::kUnauthenticated,
                 "AKV10022: Invalid audience, issuer, signature or lifetime "
                 "of the token: " +
                     caller.status().message(),
                 "Unauthorized"));
      if (tenant.ok()) {
        r.headers.Set("WWW-Authenticate", "Bearer authorization=\"" +
                                              services.Origin("login") + "/" +
                                              *tenant + "\", resource=\"" +
                                              services.Origin("vault") + "\"");
      }
      return r;
    }
    request.caller_id = caller->object_id;
    ctx.caller = {*caller, request.peer_ip};
    ctx.vault = request.host_label;
    // Clients address later calls to the vault named in a key id
    // (reference §1.1), so it is built from what the router matched.
    ctx.base_url = "https://" + request.host_label + ".vault." +
                   services.domain +
                   (request.host_port.empty() ? "" : ":" + request.host_port);
    return fn(request, services, ctx);
  };
}

Result<json> Body(const http::Request& r) {
  Result<json> j = ParseJsonObject(r.body, kRequestJsonLimits);
  if (!j.ok()) {
    return Bad("The request body must be a JSON object (" +
               j.status().message() + ").");
  }
  return j;
}

Result<Bytes> B64Field(const json& body, const char* field) {
  const json v = body.value(field, json());
  if (!v.is_string()) {
    return Bad(std::string("'") + field + "' is required (base64url).");
  }
  Result<Bytes> bytes = Base64UrlDecode(v.get<std::string>());
  if (!bytes.ok()) {
    return Bad(std::string("'") + field + "' is not valid base64url.");
  }
  return bytes;
}

Result<std::string> StringField(const json& body, const char* field) {
  const json v = body.value(field, json());
  if (!v.is_string()) return Bad(std::string("'") + field + "' is required.");
  return v.get<std::string>();
}

Result<std::map<std::string, std::string>> Tags(const json& v) {
  std::map<std::string, std::string> tags;
  if (v.is_null()) return tags;
  if (!v.is_object()) return Bad("'tags' must be an object.");
  for (const auto& [k, val] : v.items()) {
    if (!val.is_string()) return Bad("tag '" + k + "' must be a string.");
    tags[k] = val.get<std::string>();
  }
  return tags;
}

Result<std::optional<std::vector<std::string>>> KeyOps(const json& v) {
  if (v.is_null()) return std::optional<std::vector<std::string>>();
  if (!v.is_array()) return Bad("'key_ops' must be an array.");
  std::vector<std::string> ops;
  for (const json& o : v) {
    if (!o.is_string()) return Bad("'key_ops' must hold strings.");
    ops.push_back(o.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(ops));
}

// KeyAttributes of a create or import request.
Result<vault::KeyAttributes> Attributes(const json& body) {
  vault::KeyAttributes a;
  const json attrs = body.value("attributes", json::object());
  if (!attrs.is_object()) return Bad("'attributes' must be an object.");
  if (attrs.value("enabled", json()).is_boolean()) {
    a.enabled = attrs["enabled"].get<bool>();
  }
  if (attrs.value("nbf", json()).is_number_integer()) {
    a.not_before = attrs["nbf"].get<int64_t>();
  }
  if (attrs.value("exp", json()).is_number_integer()) {
    a.expires = attrs["exp"].get<int64_t>();
  }
  if (attrs.value("exportable", json()) == json(true)) {
    return Bad(
        "AKV.SKR.1004: Exportable keys must have release policy; "
        "this vault does not release keys.");
  }
  ASSIGN_OR_RETURN(a.tags, Tags(body.value("tags", json())));
  return a;
}

// ---- Rendering ----

std::string KeyId(const KvContext& c, const std::string& name,
                  const std::string& version) {
  return c.base_url + "/keys/" + name + (version.empty() ? "" : "/" + version);
}

json AttributesJson(const vault::KeyBundle& b) {
  json a = {{"enabled", b.attributes.enabled},
            {"created", b.version.created_at},
            {"updated", b.version.updated_at},
            {"recoveryLevel", b.recovery_level},
            {"recoverableDays", b.recoverable_days},
            {"exportable", b.attributes.exportable}};
  if (b.attributes.not_before) a["nbf"] = *b.attributes.not_before;
  if (b.attributes.expires) a["exp"] = *b.attributes.expires;
  return a;
}

void AddDeleted(const KvContext& c, const vault::KeyBundle& b, json& out) {
  if (b.key.deleted_at == 0) return;
  out["recoveryId"] = c.base_url + "/deletedkeys/" + b.key.name;
  out["deletedDate"] = b.key.deleted_at;
  out["scheduledPurgeDate"] = b.key.scheduled_purge_at;
}

json BundleJson(const KvContext& c, const vault::KeyBundle& b) {
  json key = crypto::PublicKeyToJwk(b.public_key, b.version.kty);
  key["kid"] = KeyId(c, b.key.name, b.version.version);
  key["kty"] = b.version.kty;
  key["key_ops"] = b.attributes.key_ops;
  json out = {{"key", key},
              {"attributes", AttributesJson(b)},
              {"tags", b.attributes.tags}};
  AddDeleted(c, b, out);
  return out;
}

json ItemJson(const KvContext& c, const vault::KeyBundle& b,
              bool with_version) {
  json out = {
      {"kid", KeyId(c, b.key.name, with_version ? b.version.version : "")},
      {"attributes", AttributesJson(b)},
      {"tags", b.attributes.tags}};
  AddDeleted(c, b, out);
  return out;
}

http::Response Ok(const json& j) {
  return http::Response::Json(200, DumpJson(j));
}

std::string Name(const http::Request& r) {
  return std::string(r.PathParam("name"));
}
std::string Version(const http::Request& r) {
  return std::string(r.PathParam("version"));
}
vault::KeyRef Ref(const http::Request& r, const KvContext& c) {
  return {c.vault, Name(r), Version(r)};
}

size_t MaxResults(const http::Request& r) {
  std::optional<std::string_view> m = r.Query("maxresults");
  if (!m) return 25;
  size_t n = 0;
  for (char ch : *m) {
    if (ch < '0' || ch > '9') return 25;
    n = n * 10 + static_cast<size_t>(ch - '0');
    if (n > 25) return 25;
  }
  return n == 0 ? 25 : n;
}

std::string SkipToken(const http::Request& r) {
  std::optional<std::string_view> t = r.Query("$skiptoken");
  if (!t) return "";
  Result<Bytes> b = Base64UrlDecode(*t);
  return b.ok() ? std::string(AsString(*b)) : std::string("\x01");
}

json PageJson(const KvContext& c, const http::Request& r,
              const std::string& path, const VaultService::KeyPage& page,
              bool with_version) {
  json items = json::array();
  for (const vault::KeyBundle& b : page.items) {
    items.push_back(ItemJson(c, b, with_version));
  }
  json next = nullptr;
  if (!page.next.empty()) {
    next = c.base_url + path + "?api-version=" + c.api_version +
           "&$skiptoken=" + Base64UrlEncode(AsBytes(page.next)) +
           "&maxresults=" + std::to_string(MaxResults(r));
  }
  return {{"value", std::move(items)}, {"nextLink", next}};
}

// ---- Handlers ----

http::Response CreateKey(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(json body, Body(r));
  vault::CreateKeyParams p;
  KV_ASSIGN_OR_RETURN(p.kty, StringField(body, "kty"));
  if (body.contains("key_size")) {
    if (!body["key_size"].is_number_integer()) {
      return KvErrorResponse(Bad("'key_size' must be an integer."));
    }
    p.key_size = body["key_size"].get<int>();
  }
  if (body.value("public_exponent", json()).is_number_integer()) {
    p.public_exponent = body["public_exponent"].get<int64_t>();
  }
  KV_ASSIGN_OR_RETURN(p.key_ops, KeyOps(body.value("key_ops", json())));
  KV_ASSIGN_OR_RETURN(p.attributes, Attributes(body));
  KV_ASSIGN_OR_RETURN(auto b,
                      s.vaults->CreateKey(c.caller, c.vault, Name(r), p));
  return Ok(BundleJson(c, b));
}

http::Response ImportKey(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(json body, Body(r));
  const json key = body.value("key", json());
  if (!key.is_object()) return KvErrorResponse(Bad("'key' is required."));
  Result<crypto::RsaJwk> jwk = crypto::ParseRsaJwk(key);
  if (!jwk.ok() || !jwk->private_parts) {
    return KvErrorResponse(
        Bad("'key' must be an RSA JSON Web Key with its private members."));
  }
  vault::ImportKeyParams p;
  p.hsm = body.value("Hsm", json()) == json(true) || jwk->kty == "RSA-HSM";
  p.key = std::move(*jwk->private_parts);
  KV_ASSIGN_OR_RETURN(p.key_ops, KeyOps(key.value("key_ops", json())));
  KV_ASSIGN_OR_RETURN(p.attributes, Attributes(body));
  KV_ASSIGN_OR_RETURN(auto b,
                      s.vaults->ImportKey(c.caller, c.vault, Name(r), p));
  return Ok(BundleJson(c, b));
}

http::Response GetKey(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(auto b, s.vaults->GetKey(c.caller, Ref(r, c)));
  return Ok(BundleJson(c, b));
}

http::Response ListKeys(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(
      auto page,
      s.vaults->ListKeys(c.caller, c.vault, SkipToken(r), MaxResults(r)));
  return Ok(PageJson(c, r, "/keys", page, false));
}

http::Response ListVersions(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(auto page,
                      s.vaults->ListKeyVersions(c.caller, c.vault, Name(r),
                                                SkipToken(r), MaxResults(r)));
  return Ok(PageJson(c, r, "/keys/" + Name(r) + "/versions", page, true));
}

http::Response UpdateKey(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(json body, Body(r));
  vault::UpdateKeyParams p;
  KV_ASSIGN_OR_RETURN(p.key_ops, KeyOps(body.value("key_ops", json())));
  const json attrs = body.value("attributes", json::object());
  if (!attrs.is_object()) {
    return KvErrorResponse(Bad("'attributes' must be an object."));
  }
  if (attrs.value("enabled", json()).is_boolean()) {
    p.enabled = attrs["enabled"].get<bool>();
  }
  for (const char* field : {"nbf", "exp"}) {
    if (!attrs.contains(field)) continue;
    const json& v = attrs[field];
    std::optional<int64_t> value;
    if (v.is_number_integer()) {
      value = v.get<int64_t>();
    } else if (!v.is_null()) {
      return KvErrorResponse(
          Bad(std::string("'") + field + "' must be Unix seconds."));
    }
    (std::string(field) == "nbf" ? p.not_before : p.expires) = value;
  }
  if (body.contains("tags")) {
    KV_ASSIGN_OR_RETURN(p.tags, Tags(body["tags"]));
  }
  KV_ASSIGN_OR_RETURN(auto b, s.vaults->UpdateKey(c.caller, Ref(r, c), p));
  return Ok(BundleJson(c, b));
}

http::Response DeleteKey(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(auto b, s.vaults->DeleteKey(c.caller, c.vault, Name(r)));
  return Ok(BundleJson(c, b));
}

http::Response GetDeleted(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(auto b,
                      s.vaults->GetDeletedKey(c.caller, c.vault, Name(r)));
  return Ok(BundleJson(c, b));
}

http::Response ListDeleted(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(auto page,
                      s.vaults->ListDeletedKeys(c.caller, c.vault, SkipToken(r),
                                                MaxResults(r)));
  return Ok(PageJson(c, r, "/deletedkeys", page, false));
}

http::Response Recover(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(auto b,
                      s.vaults->RecoverDeletedKey(c.caller, c.vault, Name(r)));
  return Ok(BundleJson(c, b));
}

http::Response Purge(http::Request& r, Services& s, const KvContext& c) {
  KV_RETURN_IF_ERROR(s.vaults->PurgeDeletedKey(c.caller, c.vault, Name(r)));
  return http::Response::Text(204, "");
}

http::Response Backup(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(Bytes blob,
                      s.vaults->BackupKey(c.caller, c.vault, Name(r)));
  return Ok({{"value", Base64UrlEncode(blob)}});
}

http::Response Restore(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(json body, Body(r));
  KV_ASSIGN_OR_RETURN(Bytes blob, B64Field(body, "value"));
  KV_ASSIGN_OR_RETURN(auto b, s.vaults->RestoreKey(c.caller, c.vault, blob));
  return Ok(BundleJson(c, b));
}

http::Response Rotate(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(auto b, s.vaults->RotateKey(c.caller, c.vault, Name(r)));
  return Ok(BundleJson(c, b));
}

json PolicyJson(const KvContext& c, const std::string& name,
                const vault::RotationPolicy& p) {
  json j = vault::RotationPolicyJson(p);
  j["id"] = c.base_url + "/keys/" + name + "/rotationpolicy";
  return j;
}

http::Response GetPolicy(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(auto p,
                      s.vaults->GetRotationPolicy(c.caller, c.vault, Name(r)));
  return Ok(PolicyJson(c, Name(r), p));
}

http::Response SetPolicy(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(json body, Body(r));
  KV_ASSIGN_OR_RETURN(auto policy, vault::ParseRotationPolicy(body));
  KV_ASSIGN_OR_RETURN(
      auto p, s.vaults->SetRotationPolicy(c.caller, c.vault, Name(r), policy));
  return Ok(PolicyJson(c, Name(r), p));
}

// encrypt, decrypt, wrapkey, unwrapkey share one shape.
template <auto Method>
http::Response Cipher(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(json body, Body(r));
  KV_ASSIGN_OR_RETURN(std::string alg, StringField(body, "alg"));
  KV_ASSIGN_OR_RETURN(Bytes value, B64Field(body, "value"));
  KV_ASSIGN_OR_RETURN(auto out,
                      ((*s.vaults).*Method)(c.caller, Ref(r, c), alg, value));
  return Ok({{"kid", KeyId(c, Name(r), out.kid_version)},
             {"value", Base64UrlEncode(out.value)}});
}

http::Response SignDigest(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(json body, Body(r));
  KV_ASSIGN_OR_RETURN(std::string alg, StringField(body, "alg"));
  KV_ASSIGN_OR_RETURN(Bytes digest, B64Field(body, "value"));
  KV_ASSIGN_OR_RETURN(auto out,
                      s.vaults->Sign(c.caller, Ref(r, c), alg, digest));
  return Ok({{"kid", KeyId(c, Name(r), out.kid_version)},
             {"value", Base64UrlEncode(out.value)}});
}

http::Response VerifyDigest(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(json body, Body(r));
  KV_ASSIGN_OR_RETURN(std::string alg, StringField(body, "alg"));
  KV_ASSIGN_OR_RETURN(Bytes digest, B64Field(body, "digest"));
  KV_ASSIGN_OR_RETURN(Bytes signature, B64Field(body, "value"));
  KV_ASSIGN_OR_RETURN(bool valid, s.vaults->Verify(c.caller, Ref(r, c), alg,
                                                   digest, signature));
  return Ok({{"value", valid}});
}

http::Response Release(http::Request&, Services&, const KvContext&) {
  // Keys never leave atrest: neither software keys nor (by construction of
  // the token) HSM keys. Secure key release is not offered.
  return KvErrorResponse(
      Status(StatusCode::kPermissionDenied,
             "Key release is not supported: keys in this vault are not "
             "exportable.",
             "Forbidden/KeyNotExportable"));
}

http::Response Rng(http::Request& r, Services& s, const KvContext& c) {
  KV_ASSIGN_OR_RETURN(json body, Body(r));
  const json count = body.value("count", json());
  if (!count.is_number_integer()) {
    return KvErrorResponse(Bad("'count' is required."));
  }
  KV_ASSIGN_OR_RETURN(
      Bytes bytes, s.vaults->RandomBytes(c.caller, c.vault, count.get<int>()));
  return Ok({{"value", Base64UrlEncode(bytes)}});
}

}  // namespace

Status RegisterKeyVaultDataRoutes(http::Router& router, Services& services,
                                  KeyVaultRouteOptions options) {
  const std::string host = "*.vault." + services.domain;
  const http::RouteLimits limits{.max_header_bytes = 32 * 1024,
                                 .max_body_bytes = 256 * 1024};
  RETURN_IF_ERROR(router.SetSurface(host, http::Surface::kKeyVault));
  struct Entry {
    const char* method;
    const char* path;
    KvHandler fn;
  };
  // Literal words before {version}: "/keys/k/versions" is not a version.
  const Entry entries[] = {
      {"GET", "/keys", ListKeys},
      {"POST", "/keys/restore", Restore},
      {"POST", "/keys/{name}/create", CreateKey},
      {"PUT", "/keys/{name}", ImportKey},
      {"DELETE", "/keys/{name}", DeleteKey},
      {"GET", "/keys/{name}", GetKey},
      {"GET", "/keys/{name}/", GetKey},
      {"PATCH", "/keys/{name}", UpdateKey},
      {"PATCH", "/keys/{name}/", UpdateKey},
      {"GET", "/keys/{name}/versions", ListVersions},
      {"POST", "/keys/{name}/backup", Backup},
      {"POST", "/keys/{name}/rotate", Rotate},
      {"GET", "/keys/{name}/rotationpolicy", GetPolicy},
      {"PUT", "/keys/{name}/rotationpolicy", SetPolicy},
      {"GET", "/keys/{name}/{version}", GetKey},
      {"PATCH", "/keys/{name}/{version}", UpdateKey},
      {"GET", "/deletedkeys", ListDeleted},
      {"GET", "/deletedkeys/{name}", GetDeleted},
      {"DELETE", "/deletedkeys/{name}", Purge},
      {"POST", "/deletedkeys/{name}/recover", Recover},
      {"POST", "/rng", Rng},
  };
  for (const Entry& e : entries) {
    RETURN_IF_ERROR(
        router.Add(host, e.method, e.path, limits, KvRoute(e.fn, services)));
  }
  // Key operations, by version or with an empty version segment
  // ("/keys/k//encrypt", reference §1.3) meaning the latest.
  http::RouteLimits op_limits = limits;
  op_limits.inline_handler = options.key_operations_on_io_threads;
  const std::pair<const char*, KvHandler> ops[] = {
      {"encrypt", Cipher<&VaultService::Encrypt>},
      {"decrypt", Cipher<&VaultService::Decrypt>},
      {"wrapkey", Cipher<&VaultService::WrapKey>},
      {"unwrapkey", Cipher<&VaultService::UnwrapKey>},
      {"sign", SignDigest},
      {"verify", VerifyDigest},
      {"release", Release},
  };
  for (const auto& [op, fn] : ops) {
    std::vector<std::string> paths = {
        std::string("/keys/{name}/{version}/") + op,
        std::string("/keys/{name}//") + op};
    if (std::string_view(op) == "release") {
      paths.push_back(std::string("/keys/{name}/") + op);
    }
    for (const std::string& path : paths) {
      RETURN_IF_ERROR(
          router.Add(host, "POST", path, op_limits, KvRoute(fn, services)));
    }
  }
  return Status::Ok();
}

}  // namespace atrest::api
