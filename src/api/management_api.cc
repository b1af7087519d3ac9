#include "api/management_api.h"

#include <ctime>

#include "api/arm.h"
#include "base/json.h"

namespace atrest::api {
namespace {

using nlohmann::json;
using resources::ResourceGroupScope;
using resources::SubscriptionScope;

std::string Iso8601(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json SubscriptionJson(const store::Subscription& s) {
  return {{"id", SubscriptionScope(s.id)},
          {"authorizationSource", "RoleBased"},
          {"subscriptionId", s.id},
          {"tenantId", s.tenant_id},
          {"displayName", s.display_name},
          {"state", std::string(store::SubscriptionStateName(s.state))},
          {"subscriptionPolicies",
           {{"locationPlacementId", "Public_2014-09-01"},
            {"quotaId", "PayAsYouGo_2014-09-01"},
            {"spendingLimit", "Off"}}}};
}

json GroupJson(const store::ResourceGroup& g) {
  return {{"id", ResourceGroupScope(g.subscription_id, g.name)},
          {"name", g.name},
          {"type", "Microsoft.Resources/resourceGroups"},
          {"location", g.location},
          {"tags", g.tags},
          {"properties", {{"provisioningState", "Succeeded"}}}};
}

json AssignmentJson(const store::RoleAssignment& a,
                    const std::string& subscription_id) {
  std::optional<resources::RoleDefinition> role =
      resources::FindRole(a.role_name);
  return {
      {"id",
       a.scope + "/providers/Microsoft.Authorization/roleAssignments/" + a.id},
      {"name", a.id},
      {"type", "Microsoft.Authorization/roleAssignments"},
      {"properties",
       {{"roleDefinitionId",
         SubscriptionScope(subscription_id) +
             "/providers/Microsoft.Authorization/roleDefinitions/" +
             std::string(role ? role->id : "")},
        {"principalId", a.principal_id},
        {"principalType", "ServicePrincipal"},
        {"scope", a.scope},
        {"createdOn", Iso8601(a.created_at)}}}};
}

json List(json items) { return {{"value", std::move(items)}}; }

std::string Sub(const http::Request& r) {
  return std::string(r.PathParam("sub"));
}
std::string Group(const http::Request& r) {
  return std::string(r.PathParam("group"));
}

// Role assignment routes exist at subscription and resource group scope.
// ... and at the scope of one resource in a group (a key vault, an AI
// account).
std::string ScopeOf(const http::Request& r) {
  if (r.PathParam("group").empty()) return SubscriptionScope(Sub(r));
  std::string scope = ResourceGroupScope(Sub(r), Group(r));
  if (!r.PathParam("resource").empty()) {
    scope += "/providers/" + std::string(r.PathParam("provider")) + "/" +
             std::string(r.PathParam("type")) + "/" +
             std::string(r.PathParam("resource"));
  }
  return scope;
}

http::Response ListSubscriptions(http::Request&, Services& s,
                                 const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(auto subs, s.resources.ListSubscriptions(caller));
  json items = json::array();
  for (const auto& sub : subs) items.push_back(SubscriptionJson(sub));
  return http::Response::Json(200, DumpJson(List(std::move(items))));
}

http::Response GetSubscription(http::Request& r, Services& s,
                               const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(auto sub, s.resources.GetSubscription(caller, Sub(r)));
  return http::Response::Json(200, DumpJson(SubscriptionJson(sub)));
}

// Microsoft.Subscription/aliases (api-version 2021-10-01): how ARM creates
// subscriptions.
json AliasJson(const store::Subscription& sub) {
  return {{"id", "/providers/Microsoft.Subscription/aliases/" + sub.alias},
          {"name", sub.alias},
          {"type", "Microsoft.Subscription/aliases"},
          {"properties",
           {{"subscriptionId", sub.id},
            {"provisioningState", "Succeeded"},
            {"displayName", sub.display_name}}}};
}

std::string AliasName(const http::Request& r) {
  return std::string(r.PathParam("alias"));
}

http::Response PutAlias(http::Request& r, Services& s,
                        const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  const json props = body.value("properties", json::object());
  if (!props.is_object()) {
    return ArmError(Status(StatusCode::kInvalidArgument,
                           "properties must be an object",
                           "InvalidRequestContent"));
  }
  const json name = props.value("displayName", json());
  if (!name.is_null() && !name.is_string()) {
    return ArmError(Status(StatusCode::kInvalidArgument,
                           "properties.displayName must be a string",
                           "InvalidRequestContent"));
  }
  if (props.contains("subscriptionId")) {
    return ArmError(Status(StatusCode::kInvalidArgument,
                           "aliasing an existing subscription is not "
                           "supported; omit properties.subscriptionId",
                           "InvalidRequestContent"));
  }
  ARM_ASSIGN_OR_RETURN(auto put,
                       s.resources.PutSubscriptionAlias(
                           caller, AliasName(r),
                           name.is_string() ? name.get<std::string>() : ""));
  return http::Response::Json(put.created ? 201 : 200,
                              DumpJson(AliasJson(put.subscription)));
}

http::Response GetAlias(http::Request& r, Services& s,
                        const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(auto sub,
                       s.resources.GetSubscriptionAlias(caller, AliasName(r)));
  return http::Response::Json(200, DumpJson(AliasJson(sub)));
}

http::Response ListAliases(http::Request&, Services& s,
                           const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(auto subs, s.resources.ListSubscriptionAliases(caller));
  json items = json::array();
  for (const auto& sub : subs) items.push_back(AliasJson(sub));
  return http::Response::Json(200, DumpJson(List(std::move(items))));
}

http::Response DeleteAlias(http::Request& r, Services& s,
                           const identity::Caller& caller) {
  ARM_RETURN_IF_ERROR(
      s.resources.DeleteSubscriptionAlias(caller, AliasName(r)));
  return http::Response::Text(200, "");
}

http::Response SubscriptionIdJson(const std::string& id) {
  return http::Response::Json(200, DumpJson(json{{"subscriptionId", id}}));
}

http::Response CancelSubscription(http::Request& r, Services& s,
                                  const identity::Caller& caller) {
  ARM_RETURN_IF_ERROR(s.resources.CancelSubscription(caller, Sub(r)));
  return SubscriptionIdJson(Sub(r));
}

http::Response EnableSubscription(http::Request& r, Services& s,
                                  const identity::Caller& caller) {
  ARM_RETURN_IF_ERROR(s.resources.EnableSubscription(caller, Sub(r)));
  return SubscriptionIdJson(Sub(r));
}

http::Response RenameSubscription(http::Request& r, Services& s,
                                  const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  const json name = body.value("subscriptionName", json());
  if (!name.is_string()) {
    return ArmError(Status(StatusCode::kInvalidArgument,
                           "subscriptionName is required",
                           "InvalidRequestContent"));
  }
  ARM_RETURN_IF_ERROR(
      s.resources.RenameSubscription(caller, Sub(r), name.get<std::string>()));
  return SubscriptionIdJson(Sub(r));
}

http::Response ListGroups(http::Request& r, Services& s,
                          const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(auto groups,
                       s.resources.ListResourceGroups(caller, Sub(r)));
  json items = json::array();
  for (const auto& g : groups) items.push_back(GroupJson(g));
  return http::Response::Json(200, DumpJson(List(std::move(items))));
}

Result<std::map<std::string, std::string>> Tags(const json& body) {
  std::map<std::string, std::string> tags;
  auto it = body.find("tags");
  if (it == body.end() || it->is_null()) return tags;
  if (!it->is_object()) {
    return Status(StatusCode::kInvalidArgument, "tags must be an object",
                  "InvalidRequestContent");
  }
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) {
      return Status(StatusCode::kInvalidArgument,
                    "tag '" + k + "' must have a string value",
                    "InvalidRequestContent");
    }
    tags[k] = v.get<std::string>();
  }
  return tags;
}

http::Response PutGroup(http::Request& r, Services& s,
                        const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  ARM_ASSIGN_OR_RETURN(auto tags, Tags(body));
  const std::string location =
      body.contains("location") && body["location"].is_string()
          ? body["location"].get<std::string>()
          : "";
  ARM_ASSIGN_OR_RETURN(auto put, s.resources.PutResourceGroup(
                                     caller, Sub(r), Group(r), location, tags));
  return http::Response::Json(put.created ? 201 : 200,
                              DumpJson(GroupJson(put.group)));
}

http::Response PatchGroup(http::Request& r, Services& s,
                          const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  ARM_ASSIGN_OR_RETURN(auto tags, Tags(body));
  ARM_ASSIGN_OR_RETURN(auto group,
                       s.resources.GetResourceGroup(caller, Sub(r), Group(r)));
  if (!body.contains("tags")) tags = group.tags;
  ARM_ASSIGN_OR_RETURN(auto put,
                       s.resources.PutResourceGroup(caller, Sub(r), group.name,
                                                    group.location, tags));
  return http::Response::Json(200, DumpJson(GroupJson(put.group)));
}

http::Response GetGroup(http::Request& r, Services& s,
                        const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(auto group,
                       s.resources.GetResourceGroup(caller, Sub(r), Group(r)));
  return http::Response::Json(200, DumpJson(GroupJson(group)));
}

http::Response HeadGroup(http::Request& r, Services& s,
                         const identity::Caller& caller) {
  Result<store::ResourceGroup> g =
      s.resources.GetResourceGroup(caller, Sub(r), Group(r));
  if (g.ok()) return http::Response::Text(204, "");
  if (g.status().code() == StatusCode::kNotFound) {
    return http::Response::Text(404, "");
  }
  return ArmError(g.status());
}

http::Response DeleteGroup(http::Request& r, Services& s,
                           const identity::Caller& caller) {
  Status st = s.resources.DeleteResourceGroup(caller, Sub(r), Group(r));
  if (st.code() == StatusCode::kNotFound) {
    // ARM answers 204 for a delete of something already gone.
    return http::Response::Text(204, "");
  }
  ARM_RETURN_IF_ERROR(st);
  return http::Response::Text(200, "");
}

http::Response PutAssignment(http::Request& r, Services& s,
                             const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(json body, JsonBody(r));
  const json props = body.value("properties", json::object());
  if (!props.is_object() || !props.contains("roleDefinitionId") ||
      !props.contains("principalId") ||
      !props["roleDefinitionId"].is_string() ||
      !props["principalId"].is_string()) {
    return ArmError(Status(StatusCode::kInvalidArgument,
                           "properties.roleDefinitionId and "
                           "properties.principalId are required",
                           "InvalidRequestContent"));
  }
  ARM_ASSIGN_OR_RETURN(auto a,
                       s.resources.CreateRoleAssignment(
                           caller, ScopeOf(r), std::string(r.PathParam("name")),
                           props["principalId"].get<std::string>(),
                           props["roleDefinitionId"].get<std::string>()));
  return http::Response::Json(201, DumpJson(AssignmentJson(a, Sub(r))));
}

http::Response ListAssignments(http::Request& r, Services& s,
                               const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(auto list,
                       s.resources.ListRoleAssignments(caller, ScopeOf(r)));
  json items = json::array();
  for (const auto& a : list) items.push_back(AssignmentJson(a, Sub(r)));
  return http::Response::Json(200, DumpJson(List(std::move(items))));
}

http::Response GetAssignment(http::Request& r, Services& s,
                             const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(auto list,
                       s.resources.ListRoleAssignments(caller, ScopeOf(r)));
  for (const auto& a : list) {
    if (a.id == r.PathParam("name")) {
      return http::Response::Json(200, DumpJson(AssignmentJson(a, Sub(r))));
    }
  }
  return ArmError(Status(StatusCode::kNotFound,
                         "The role assignment '" +
                             std::string(r.PathParam("name")) +
                             "' is not found.",
                         "RoleAssignmentNotFound"));
}

http::Response DeleteAssignment(http::Request& r, Services& s,
                                const identity::Caller& caller) {
  ARM_ASSIGN_OR_RETURN(auto list,
                       s.resources.ListRoleAssignments(caller, ScopeOf(r)));
  for (const auto& a : list) {
    if (a.id == r.PathParam("name")) {
      ARM_RETURN_IF_ERROR(
          s.resources.DeleteRoleAssignment(caller, ScopeOf(r), a.id));
      return http::Response::Json(200, DumpJson(AssignmentJson(a, Sub(r))));
    }
  }
  return http::Response::Text(204, "");
}

}  // namespace

Status RegisterManagementRoutes(http::Router& router, Services& services) {
  const std::string sub = "/subscriptions/{sub}";
  const std::string group = sub + "/resourcegroups/{group}";
  const std::string resource =
      group + "/providers/{provider}/{type}/{resource}";
  const std::string assignments =
      "/providers/Microsoft.Authorization/roleAssignments";
  const std::string aliases = "/providers/Microsoft.Subscription/aliases";
  const std::vector<ArmRouteEntry> entries = {
      {"GET", "/subscriptions", ListSubscriptions},
      {"GET", sub, GetSubscription},
      {"PUT", aliases + "/{alias}", PutAlias},
      {"GET", aliases + "/{alias}", GetAlias},
      {"DELETE", aliases + "/{alias}", DeleteAlias},
      {"GET", aliases, ListAliases},
      {"POST", sub + "/providers/Microsoft.Subscription/cancel",
       CancelSubscription},
      {"POST", sub + "/providers/Microsoft.Subscription/enable",
       EnableSubscription},
      {"POST", sub + "/providers/Microsoft.Subscription/rename",
       RenameSubscription},
      {"GET", sub + "/resourcegroups", ListGroups},
      {"PUT", group, PutGroup},
      {"PATCH", group, PatchGroup},
      {"GET", group, GetGroup},
      {"HEAD", group, HeadGroup},
      {"DELETE", group, DeleteGroup},
      {"GET", sub + assignments, ListAssignments},
      {"GET", group + assignments, ListAssignments},
      {"PUT", sub + assignments + "/{name}", PutAssignment},
      {"PUT", group + assignments + "/{name}", PutAssignment},
      {"GET", sub + assignments + "/{name}", GetAssignment},
      {"GET", group + assignments + "/{name}", GetAssignment},
      {"DELETE", sub + assignments + "/{name}", DeleteAssignment},
      {"DELETE", group + assignments + "/{name}", DeleteAssignment},
      {"GET", resource + assignments, ListAssignments},
      {"PUT", resource + assignments + "/{name}", PutAssignment},
      {"GET", resource + assignments + "/{name}", GetAssignment},
      {"DELETE", resource + assignments + "/{name}", DeleteAssignment},
  };
  return AddArmRoutes(router, services, entries, /*extension_scopes=*/true);
}

}  // namespace atrest::api
