#include "api/accounts_arm_api.h"

#include <string>
#include <vector>

#include "api/arm.h"
#include "base/json.h"
#include "base/json_fields.h"

namespace atrest::api {
namespace {

using accounts::AccountInfo;
using accounts::AccountRef;
using nlohmann::json;

constexpr const char* kType = "Microsoft.CognitiveServices/accounts";

std::string Lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

AccountRef RefOf(const http::Request& r) {
  return {.subscription_id = std::string(r.PathParam("sub")),
          .resource_group = std::string(r.PathParam("group")),
          .name = std::string(r.PathParam("name"))};
}

Status BadContent(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message),
                "InvalidRequestContent");
}

json AccountJson(const Services& s, const AccountInfo& a) {
  const store::Account& row = a.row;
  const std::string endpoint = s.Origin(Lower(row.name) + ".openai") + "/";
  json props = a.properties;
  props["provisioningState"] = "Succeeded";
  props["endpoint"] = endpoint;
  props["endpoints"] = {{"OpenAI Language Model Instance API", endpoint}};
  props["customSubDomainName"] = Lower(row.name);
  props["dateCreated"] = Iso8601(row.created_at);
  if (!props.contains("publicNetworkAccess")) {
    props["publicNetworkAccess"] = "Enabled";
  }
  props["encryption"] = a.encryption.ToArm();
  json status = {{"keySource", a.encryption.key_source},
                 {"state", a.key_status.state},
                 {"since", Iso8601(a.key_status.since)}};
  if (a.encryption.customer_managed()) {
    status["keyVaultUri"] = a.encryption.key_vault_uri + "/";
    status["keyName"] = a.encryption.key_name;
    status["keyVersion"] = a.key_status.key_version;
  }
  if (!a.key_status.reason_code.empty()) {
    status["reasonCode"] = a.key_status.reason_code;
    status["reason"] = a.key_status.reason;
  }
  if (a.key_status.last_success != 0) {
    status["lastSuccessfulCheck"] = Iso8601(a.key_status.last_success);
  }
  props["encryptionStatus"] = status;
  json identity = {{"type", "None"}};
  if (!row.identity_principal_id.empty()) {
    identity = {{"type", "SystemAssigned"},
                {"principalId", row.identity_principal_id},
                {"tenantId", a.identity_tenant_id}};
  }
  return {{"id", accounts::AccountResourceId(
                     {row.subscription_id, row.resource_group, row.name})},
          {"name", row.name},
          {"type", kType},
          {"kind", row.kind},
          {"location", row.location},
          {"sku", {{"name", row.sku}}},
          {"tags", a.tags},
          {"etag", "\"" + std::to_string(row.updated_at) + "\""},
          {"identity", identity},
          {"systemData",
           {{"createdAt", Iso8601(row.created_at)},
            {"lastModifiedAt", Iso8601(row.updated_at)}}},
          {"properties", props}};
}

http::Response JsonResponse(int status, const json& j) {
  return http::Response::Json(status, DumpJson(j));
}

Result<accounts::AccountUpdate> ParseUpdate(const json& body, bool is_put) {
  accounts::AccountUpdate u;
  ASSIGN_OR_RETURN(u.tags, TagsOf(body));
  if (body.contains("location")) {
    if (!body["location"].is_string()) {
      return BadContent("location must be a string");
    }
    u.location = body["location"].get<std::string>();
  }
  if (body.contains("kind") && !body["kind"].is_null()) {
    if (!body["kind"].is_string()) return BadContent("kind must be a string");
    u.kind = body["kind"].get<std::string>();
  }
  if (body.contains("sku") && body["sku"].is_object()) {
    u.sku = JsonString(body["sku"], "name", "S0");
  }
  if (body.contains("identity") && !body["identity"].is_null()) {
    const json& id = body["identity"];
    if (!id.is_object() || !id.contains("type") || !id["type"].is_string()) {
      return BadContent("identity.type must be a string");
    }
    u.identity_type = id["type"].get<std::string>();
  } else if (is_put) {
    u.identity_type = "None";
  }
  if (body.contains("properties") && !body["properties"].is_null()) {
    const json& p = body["properties"];
    if (!p.is_object()) return BadContent("properties must be an object");
    for (const auto& [k, v] : p.items()) {
      if (k == "encryption") {
        if (v.is_null()) continue;
        ASSIGN_OR_RETURN(u.encryption,
                         accounts::EncryptionSettings::FromArm(v));
        continue;
      }
      // Read-only properties are computed, never stored.
      if (k == "provisioningState" || k == "endpoint" || k == "endpoints" ||
          k == "dateCreated" || k == "encryptionStatus" ||
          k == "customSubDomainName") {
        continue;
      }
      u.properties[k] = v;
    }
  }
  return u;
}

http::Response PutAccount(http::Request& r, Services& s,
                          const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  ARM_ASSIGN_OR_RETURN(accounts::AccountUpdate u, ParseUpdate(body, true));
  ARM_ASSIGN_OR_RETURN(auto out, s.accounts->PutAccount(caller, RefOf(r), u));
  return JsonResponse(out.created ? 201 : 200, AccountJson(s, out.account));
}

http::Response PatchAccount(http::Request& r, Services& s,
                            const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  ARM_ASSIGN_OR_RETURN(accounts::AccountUpdate u, ParseUpdate(body, false));
  ARM_ASSIGN_OR_RETURN(AccountInfo a,
                       s.accounts->PatchAccount(caller, RefOf(r), u));
  return JsonResponse(200, AccountJson(s, a));
}

http::Response GetAccount(http::Request& r, Services& s,
                          const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(AccountInfo a, s.accounts->GetAccount(caller, RefOf(r)));
  return JsonResponse(200, AccountJson(s, a));
}

http::Response DeleteAccount(http::Request& r, Services& s,
                             const identity::Caller& caller) {
  Status st = s.accounts->DeleteAccount(caller, RefOf(r));
  if (st.code() == StatusCode::kNotFound) return http::Response::Json(204, "");
  ARM_RETURN_IF_ERROR(st);
  return http::Response::Json(200, "");
}

http::Response ListIn(http::Request& r, Services& s,
                      const identity::Caller& caller,
                      const std::string& group) {
  ARM_ASSIGN_OR_RETURN(
      auto list,
      s.accounts->ListAccounts(caller, std::string(r.PathParam("sub")), group));
  json items = json::array();
  for (const AccountInfo& a : list) items.push_back(AccountJson(s, a));
  return JsonResponse(200, {{"value", items}});
}

http::Response ListByGroup(http::Request& r, Services& s,
                           const identity::Caller& caller) {
  return ListIn(r, s, caller, std::string(r.PathParam("group")));
}

http::Response ListBySubscription(http::Request& r, Services& s,
                                  const identity::Caller& caller) {
  return ListIn(r, s, caller, "");
}

json KeysJson(const accounts::ApiKeys& k) {
  return {{"key1", k.key1}, {"key2", k.key2}};
}

http::Response ListKeys(http::Request& r, Services& s,
                        const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(auto keys, s.accounts->ListKeys(caller, RefOf(r)));
  return JsonResponse(200, KeysJson(keys));
}

http::Response RegenerateKey(http::Request& r, Services& s,
                             const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  ARM_ASSIGN_OR_RETURN(
      auto keys,
      s.accounts->RegenerateKey(caller, RefOf(r), JsonString(body, "keyName")));
  return JsonResponse(200, KeysJson(keys));
}

// POST .../resourceGroups/{group}/moveResources {resources: [ids],
// targetResourceGroup: "/subscriptions/<s>/resourceGroups/<g>"}. Only AI
// accounts move; anything else is refused.
http::Response MoveResources(http::Request& r, Services& s,
                             const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  const std::string sub(r.PathParam("sub"));
  const std::string group(r.PathParam("group"));
  const std::string target = JsonString(body, "targetResourceGroup");
  // "/subscriptions/<s>/resourceGroups/<g>"
  std::vector<std::string> parts;
  for (size_t at = 0; at <= target.size();) {
    size_t next = target.find('/', at);
    if (next == std::string::npos) next = target.size();
    parts.push_back(target.substr(at, next - at));
    at = next + 1;
  }
  if (parts.size() != 5 || !parts[0].empty() ||
      Lower(parts[1]) != "subscriptions" ||
      Lower(parts[3]) != "resourcegroups") {
    return ArmError(
        BadContent("targetResourceGroup must be "
                   "/subscriptions/<id>/resourceGroups/<name>"));
  }
  if (!body.contains("resources") || !body["resources"].is_array()) {
    return ArmError(BadContent("resources must be an array of resource ids"));
  }
  const std::string prefix = Lower(resources::ResourceGroupScope(sub, group) +
                                   "/providers/" + kType + "/");
  std::vector<std::string> names;
  for (const json& id : body["resources"]) {
    std::string text = id.is_string() ? id.get<std::string>() : "";
    if (Lower(text).compare(0, prefix.size(), prefix) != 0 ||
        text.find('/', prefix.size()) != std::string::npos) {
      return ArmError(Status(StatusCode::kInvalidArgument,
                             "Only AI accounts of resource group '" + group +
                                 "' can be moved here: " + text,
                             "InvalidResourceMoveRequest"));
    }
    names.push_back(text.substr(prefix.size()));
  }
  ARM_RETURN_IF_ERROR(
      s.accounts->MoveAccounts(caller, sub, group, names, parts[2], parts[4]));
  return http::Response::Json(204, "");
}

// ---- accounts/{name}/deployments/{deployment} ----

// The service keeps times as Unix seconds; ARM clients read ISO 8601.
json DeploymentJson(json d) {
  if (d.contains("systemData") && d["systemData"].is_object()) {
    for (auto& [k, v] : d["systemData"].items()) {
      if (v.is_number_integer()) v = Iso8601(v.get<int64_t>());
    }
  }
  return d;
}

Result<store::Account> DeploymentAccount(const http::Request& r, Services& s,
                                         const identity::Caller& caller,
                                         bool write) {
  if (s.deployments == nullptr) {
    return Status(StatusCode::kNotFound, "Deployments are not offered.",
                  "NotFound");
  }
  return s.accounts->Authorized(caller, RefOf(r), write);
}

http::Response PutDeployment(http::Request& r, Services& s,
                             const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(store::Account a, DeploymentAccount(r, s, caller, true));
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  ARM_ASSIGN_OR_RETURN(
      auto put,
      s.deployments->Put(a, std::string(r.PathParam("deployment")), body));
  return JsonResponse(put.second ? 201 : 200, DeploymentJson(put.first));
}

// PATCH changes sku and tags only (the SDK's PatchResourceTagsAndSku).
http::Response PatchDeployment(http::Request& r, Services& s,
                               const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(store::Account a, DeploymentAccount(r, s, caller, true));
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  const std::string name(r.PathParam("deployment"));
  ARM_ASSIGN_OR_RETURN(json current, s.deployments->Get(a, name));
  json merged = {{"properties", {{"model", current["properties"]["model"]}}},
                 {"sku", current["sku"]}};
  if (current.contains("tags")) merged["tags"] = current["tags"];
  if (body.is_object() && body.contains("sku")) merged["sku"] = body["sku"];
  if (body.is_object() && body.contains("tags")) merged["tags"] = body["tags"];
  ARM_ASSIGN_OR_RETURN(auto put, s.deployments->Put(a, name, merged));
  return JsonResponse(200, DeploymentJson(put.first));
}

http::Response GetDeployment(http::Request& r, Services& s,
                             const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(store::Account a,
                       DeploymentAccount(r, s, caller, false));
  ARM_ASSIGN_OR_RETURN(
      json d, s.deployments->Get(a, std::string(r.PathParam("deployment"))));
  return JsonResponse(200, DeploymentJson(std::move(d)));
}

http::Response ListDeployments(http::Request& r, Services& s,
                               const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(store::Account a,
                       DeploymentAccount(r, s, caller, false));
  ARM_ASSIGN_OR_RETURN(std::vector<json> list, s.deployments->List(a));
  for (json& d : list) d = DeploymentJson(std::move(d));
  return JsonResponse(200, {{"value", list}});
}

http::Response DeleteDeployment(http::Request& r, Services& s,
                                const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(store::Account a, DeploymentAccount(r, s, caller, true));
  Status st = s.deployments->Delete(a, std::string(r.PathParam("deployment")));
  if (st.code() == StatusCode::kNotFound) return http::Response::Json(204, "");
  ARM_RETURN_IF_ERROR(st);
  return http::Response::Json(200, "");
}

}  // namespace

Status RegisterAccountManagementRoutes(http::Router& router,
                                       Services& services) {
  if (services.accounts == nullptr) {
    return FailedPreconditionError("no account service");
  }
  const std::string group = "/subscriptions/{sub}/resourceGroups/{group}";
  const std::string accounts =
      group + "/providers/Microsoft.CognitiveServices/accounts";
  const std::string account = accounts + "/{name}";
  return AddArmRoutes(
      router, services,
      {{"PUT", account, &PutAccount},
       {"PATCH", account, &PatchAccount},
       {"GET", account, &GetAccount},
       {"DELETE", account, &DeleteAccount},
       {"GET", accounts, &ListByGroup},
       {"GET",
        "/subscriptions/{sub}/providers/Microsoft.CognitiveServices/accounts",
        &ListBySubscription},
       {"POST", account + "/listKeys", &ListKeys},
       {"POST", account + "/regenerateKey", &RegenerateKey},
       {"POST", group + "/moveResources", &MoveResources},
       {"PUT", account + "/deployments/{deployment}", &PutDeployment},
       {"PATCH", account + "/deployments/{deployment}", &PatchDeployment},
       {"GET", account + "/deployments/{deployment}", &GetDeployment},
       {"DELETE", account + "/deployments/{deployment}", &DeleteDeployment},
       {"GET", account + "/deployments", &ListDeployments}},
      /*extension_scopes=*/false);
}

}  // namespace atrest::api
