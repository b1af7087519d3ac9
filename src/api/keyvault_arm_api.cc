#include "api/keyvault_arm_api.h"

#include <cctype>
#include <charconv>
#include <ctime>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "api/arm.h"
#include "base/json.h"
#include "vault/config.h"
#include "vault/vault_service.h"

namespace atrest::api {
namespace {

using nlohmann::json;
using vault::VaultInfo;
using vault::VaultRef;

constexpr const char* kVaultType = "Microsoft.KeyVault/vaults";
constexpr const char* kDeletedVaultType = "Microsoft.KeyVault/deletedVaults";
constexpr const char* kAccessPolicyType =
    "Microsoft.KeyVault/vaults/accessPolicies";
// auditEvents pages: the default and the largest $top.
constexpr size_t kAuditPage = 100;
constexpr size_t kAuditMaxPage = 1000;

std::string Lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

Status BadContent(const std::string& message) {
  return Status(StatusCode::kInvalidArgument, message, "InvalidRequestContent");
}

std::string Sub(const http::Request& r) {
  return std::string(r.PathParam("sub"));
}

VaultRef RefOf(const http::Request& r) {
  return {.subscription_id = Sub(r),
          .resource_group = std::string(r.PathParam("group")),
          .name = std::string(r.PathParam("name"))};
}

// Host names are case-insensitive; the URI is spelled in lower case, as the
// router and the TLS certificate see it.
std::string VaultUri(const Services& s, const std::string& name) {
  return s.Origin(Lower(name) + ".vault") + "/";
}

json VaultJson(const Services& s, const VaultInfo& v) {
  const store::Vault& row = v.row;
  json j = {{"id", vault::VaultResourceId(
                       {row.subscription_id, row.resource_group, row.name})},
            {"name", row.name},
            {"type", kVaultType},
            {"location", row.location},
            {"tags", v.tags},
            {"properties",
             vault::VaultPropertiesJson(v.properties, VaultUri(s, row.name))}};
  if (row.created_at != 0) {
    j["systemData"] = {
        {"createdAt", Iso8601(row.created_at)},
        {"lastModifiedAt",
         Iso8601(row.updated_at != 0 ? row.updated_at : row.created_at)}};
  }
  return j;
}

json DeletedVaultJson(const VaultInfo& v) {
  const store::Vault& row = v.row;
  return {{"id", resources::SubscriptionScope(row.subscription_id) +
                     "/providers/Microsoft.KeyVault/locations/" + row.location +
                     "/deletedVaults/" + row.name},
          {"name", row.name},
          {"type", kDeletedVaultType},
          {"properties",
           {{"vaultId", vault::VaultResourceId({row.subscription_id,
                                                row.resource_group, row.name})},
            {"location", row.location},
            {"deletionDate", Iso8601(row.deleted_at)},
            {"scheduledPurgeDate", Iso8601(row.scheduled_purge_at)},
            {"tags", v.tags},
            {"purgeProtectionEnabled", v.properties.enable_purge_protection}}}};
}

// GenericResource, as /subscriptions/{sub}/resources lists it.
json GenericResourceJson(const VaultInfo& v) {
  const store::Vault& row = v.row;
  return {{"id", vault::VaultResourceId(
                     {row.subscription_id, row.resource_group, row.name})},
          {"name", row.name},
          {"type", kVaultType},
          {"location", row.location},
          {"tags", v.tags}};
}

http::Response JsonResponse(int status, const json& j) {
  return http::Response::Json(status, DumpJson(j));
}

json List(json items) { return {{"value", std::move(items)}}; }

http::Response PutVault(http::Request& r, Services& s,
                        const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  ARM_ASSIGN_OR_RETURN(auto tags, TagsOf(body));
  const json location = body.value("location", json());
  if (!location.is_null() && !location.is_string()) {
    return ArmError(BadContent("location must be a string"));
  }
  const json properties = body.value("properties", json());
  if (!properties.is_object()) {
    return ArmError(BadContent("properties is required and must be an object"));
  }
  ARM_ASSIGN_OR_RETURN(
      auto put,
      s.vaults->PutVault(
          caller, RefOf(r),
          location.is_string() ? location.get<std::string>() : "",
          tags.value_or(std::map<std::string, std::string>{}), properties));
  return JsonResponse(put.created ? 201 : 200, VaultJson(s, put.vault));
}

http::Response PatchVault(http::Request& r, Services& s,
                          const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  ARM_ASSIGN_OR_RETURN(auto tags, TagsOf(body));
  json properties = body.value("properties", json());
  if (properties.is_null()) properties = json::object();
  if (!properties.is_object()) {
    return ArmError(BadContent("properties must be an object"));
  }
  ARM_ASSIGN_OR_RETURN(
      auto v, s.vaults->PatchVault(caller, RefOf(r), tags, properties));
  return JsonResponse(200, VaultJson(s, v));
}

http::Response GetVault(http::Request& r, Services& s,
                        const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(auto v, s.vaults->GetVault(caller, RefOf(r)));
  return JsonResponse(200, VaultJson(s, v));
}

http::Response DeleteVault(http::Request& r, Services& s,
                           const identity::Caller& caller) {
  Status st = s.vaults->DeleteVault(caller, RefOf(r));
  // ARM answers 204 for a delete of a resource already gone (but not for
  // one in a resource group that does not exist).
  if (st.code() == StatusCode::kNotFound &&
      st.reason() != "ResourceGroupNotFound") {
    return http::Response::Text(204, "");
  }
  ARM_RETURN_IF_ERROR(st);
  return http::Response::Text(200, "");
}

// $top is accepted and ignored: every list fits one page.
http::Response ListVaults(http::Request& r, Services& s,
                          const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(
      auto vaults,
      s.vaults->ListVaults(caller, Sub(r), std::string(r.PathParam("group"))));
  json items = json::array();
  for (const VaultInfo& v : vaults) items.push_back(VaultJson(s, v));
  return JsonResponse(200, List(std::move(items)));
}

// "resourceType eq 'X'" (keywords ignoring case) -> X; nullopt otherwise.
std::optional<std::string> ResourceTypeFilter(std::string_view filter) {
  std::istringstream in{std::string(filter)};
  std::string field, op, value, rest;
  if (!(in >> field >> op >> value) || (in >> rest)) return std::nullopt;
  if (Lower(field) != "resourcetype" || Lower(op) != "eq") return std::nullopt;
  if (value.size() < 2 || value.front() != '\'' || value.back() != '\'') {
    return std::nullopt;
  }
  return value.substr(1, value.size() - 2);
}

// Microsoft.Resources' generic list, which @azure/arm-keyvault's
// vaults.list() calls with $filter=resourceType eq
// 'Microsoft.KeyVault/vaults'. Vaults are the only tracked resources atrest
// has, so no filter lists them too and another resource type lists none.
http::Response ListResources(http::Request& r, Services& s,
                             const identity::Caller& caller) {
  bool vaults_wanted = true;
  if (std::optional<std::string_view> f = r.Query("$filter"); f) {
    std::optional<std::string> type = ResourceTypeFilter(*f);
    if (!type) {
      return ArmError(Status(StatusCode::kInvalidArgument,
                             "atrest supports only $filter=resourceType eq "
                             "'<type>' on this list.",
                             "InvalidFilterInQueryString"));
    }
    vaults_wanted = Lower(*type) == Lower(kVaultType);
  }
  json items = json::array();
  if (vaults_wanted) {
    ARM_ASSIGN_OR_RETURN(auto vaults, s.vaults->ListVaults(caller, Sub(r), ""));
    for (const VaultInfo& v : vaults) items.push_back(GenericResourceJson(v));
  }
  return JsonResponse(200, List(std::move(items)));
}

http::Response UpdateAccessPolicy(http::Request& r, Services& s,
                                  const identity::Caller& caller) {
  const std::string kind = Lower(std::string(r.PathParam("kind")));
  if (kind != "add" && kind != "replace" && kind != "remove") {
    return ArmError(Status(StatusCode::kInvalidArgument,
                           "The operationKind '" +
                               std::string(r.PathParam("kind")) +
                               "' is not valid; use add, replace or remove.",
                           "BadRequest"));
  }
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  const json properties = body.value("properties", json());
  if (!properties.is_object() ||
      !properties.value("accessPolicies", json()).is_array()) {
    return ArmError(BadContent("properties.accessPolicies must be an array"));
  }
  ARM_ASSIGN_OR_RETURN(
      auto entries, vault::ParseAccessPolicies(properties["accessPolicies"]));
  const VaultRef ref = RefOf(r);
  ARM_ASSIGN_OR_RETURN(auto policies, s.vaults->UpdateAccessPolicies(
                                          caller, ref, kind, entries));
  json list = json::array();
  for (const vault::AccessPolicy& p : policies) {
    list.push_back(vault::AccessPolicyJson(p));
  }
  return JsonResponse(
      200, {{"id", vault::VaultResourceId(ref) + "/accessPolicies/" + kind},
            {"name", kind},
            {"type", kAccessPolicyType},
            {"properties", {{"accessPolicies", std::move(list)}}}});
}

http::Response ListDeletedVaults(http::Request& r, Services& s,
                                 const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(auto vaults,
                       s.vaults->ListDeletedVaults(caller, Sub(r)));
  json items = json::array();
  for (const VaultInfo& v : vaults) items.push_back(DeletedVaultJson(v));
  return JsonResponse(200, List(std::move(items)));
}

http::Response GetDeletedVault(http::Request& r, Services& s,
                               const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(
      auto v, s.vaults->GetDeletedVault(caller, Sub(r),
                                        std::string(r.PathParam("location")),
                                        std::string(r.PathParam("name"))));
  return JsonResponse(200, DeletedVaultJson(v));
}

http::Response PurgeDeletedVault(http::Request& r, Services& s,
                                 const identity::Caller& caller) {
  ARM_RETURN_IF_ERROR(s.vaults->PurgeDeletedVault(
      caller, Sub(r), std::string(r.PathParam("location")),
      std::string(r.PathParam("name"))));
  // Done already: a 200 without Location ends the SDK's poller at once.
  return http::Response::Text(200, "");
}

http::Response CheckNameAvailability(http::Request& r, Services& s,
                                     const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  const json name = body.value("name", json());
  const json type = body.value("type", json());
  if (!name.is_string()) return ArmError(BadContent("name is required"));
  if (!type.is_string() ||
      Lower(type.get<std::string>()) != Lower(kVaultType)) {
    return ArmError(Status(StatusCode::kInvalidArgument,
                           "type must be 'Microsoft.KeyVault/vaults'.",
                           "BadRequest"));
  }
  ARM_ASSIGN_OR_RETURN(auto a, s.vaults->CheckNameAvailability(
                                   caller, Sub(r), name.get<std::string>()));
  json out = {{"nameAvailable", a.available}};
  if (!a.available) {
    out["reason"] = a.reason;
    out["message"] = a.message;
  }
  return JsonResponse(200, out);
}

// A non-negative integer query value, or `fallback` when absent.
Result<int64_t> IntQuery(const http::Request& r, std::string_view name,
                         int64_t fallback) {
  std::optional<std::string_view> v = r.Query(name);
  if (!v) return fallback;
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || end != v->data() + v->size() || out < 0) {
    return Status(StatusCode::kInvalidArgument,
                  "The query parameter " + std::string(name) +
                      " must be a non-negative integer.",
                  "InvalidQueryParameterValue");
  }
  return out;
}

json AuditEventJson(const Services& s, const VaultRef& ref,
                    const store::AuditEvent& e) {
  json properties = {{"httpStatusCode", e.status_code}};
  // A summary of refused calls the audit writer coalesced.
  if (e.count != 1) properties["count"] = e.count;
  if (!e.key_name.empty()) {
    std::string id = VaultUri(s, e.vault) + "keys/" + e.key_name;
    if (!e.key_version.empty()) id += "/" + e.key_version;
    properties["id"] = id;
  }
  return {{"sequence", e.seq},
          {"time", Iso8601(e.time)},
          {"category", "AuditEvent"},
          {"resourceId", vault::VaultResourceId(ref)},
          {"operationName", e.operation},
          {"resultType", e.result == "Success" ? "Success" : "Failure"},
          {"resultSignature", e.result},
          {"callerIpAddress", e.client_ip},
          {"identity",
           {{"claim",
             {{"oid", e.caller_object_id},
              {"appid", e.caller_app_id},
              {"tid", e.caller_tenant_id}}}}},
          {"properties", std::move(properties)}};
}

// atrest extension: the vault's data-plane audit log (docs/keyvault.md),
// oldest first. $skiptoken is the sequence number after which to start
// (nextLink carries it); $top (1..1000, default 100) bounds a page.
http::Response ListAuditEvents(http::Request& r, Services& s,
                               const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(int64_t after, IntQuery(r, "$skiptoken", 0));
  ARM_ASSIGN_OR_RETURN(int64_t top,
                       IntQuery(r, "$top", static_cast<int64_t>(kAuditPage)));
  if (top < 1 || top > static_cast<int64_t>(kAuditMaxPage)) {
    return ArmError(Status(StatusCode::kInvalidArgument,
                           "$top must be from 1 to 1000.",
                           "InvalidQueryParameterValue"));
  }
  const VaultRef ref = RefOf(r);
  ARM_ASSIGN_OR_RETURN(
      auto events,
      s.vaults->ReadAudit(caller, ref, after, static_cast<size_t>(top)));
  json items = json::array();
  for (const store::AuditEvent& e : events) {
    items.push_back(AuditEventJson(s, ref, e));
  }
  json out = List(std::move(items));
  if (events.size() == static_cast<size_t>(top)) {
    out["nextLink"] = s.Origin("management") + r.path + "?api-version=" +
                      std::string(r.Query("api-version").value_or("")) +
                      "&$top=" + std::to_string(top) +
                      "&$skiptoken=" + std::to_string(events.back().seq);
  }
  return JsonResponse(200, out);
}

}  // namespace

Status RegisterKeyVaultManagementRoutes(http::Router& router,
                                        Services& services) {
  if (services.vaults == nullptr) {
    return FailedPreconditionError(
        "the Key Vault management routes need a vault service");
  }
  const std::string sub = "/subscriptions/{sub}";
  const std::string provider = sub + "/providers/Microsoft.KeyVault";
  const std::string vaults =
      sub + "/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults";
  const std::string vault = vaults + "/{name}";
  const std::string deleted = provider + "/locations/{location}/deletedVaults";
  const std::vector<ArmRouteEntry> entries = {
      {"PUT", vault, PutVault},
      {"PATCH", vault, PatchVault},
      {"GET", vault, GetVault},
      {"DELETE", vault, DeleteVault},
      {"GET", vaults, ListVaults},
      {"GET", provider + "/vaults", ListVaults},
      {"GET", sub + "/resources", ListResources},
      {"PUT", vault + "/accessPolicies/{kind}", UpdateAccessPolicy},
      {"GET", vault + "/auditEvents", ListAuditEvents},
      {"GET", provider + "/deletedVaults", ListDeletedVaults},
      {"GET", deleted + "/{name}", GetDeletedVault},
      {"POST", deleted + "/{name}/purge", PurgeDeletedVault},
      {"POST", provider + "/checkNameAvailability", CheckNameAvailability},
  };
  return AddArmRoutes(router, services, entries, /*extension_scopes=*/false);
}

}  // namespace atrest::api
