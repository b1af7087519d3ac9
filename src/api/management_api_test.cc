// The management surface's handlers, called through the router as the
// server calls them (no sockets): hostile JSON bodies and names, and rows
// holding bytes that are not UTF-8 (stored before names were validated).
#include "api/management_api.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "base/json.h"
#include "base/status_testing.h"
#include "env/testing.h"
#include "http/router.h"
#include "identity/identity_service.h"
#include "keys/root_key.h"
#include "resources/names.h"
#include "resources/resource_manager.h"
#include "store/sqlite_store.h"

namespace atrest::api {
namespace {

using nlohmann::json;

constexpr char kAssignments[] =
    "/providers/Microsoft.Authorization/roleAssignments";

class ManagementApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ =
        std::move(store::SqliteStore::Open({.data_dir = dir_.path()})).value();
    keys::RootKey root =
        *keys::RootKey::FromBytes(crypto::SecretBytes::CopyFrom(Bytes(32, 7)));
    identity_ = std::make_unique<identity::IdentityService>(
        *store_, env_, *root.DeriveAead("identity/signing-keys"),
        identity::IdentityOptions{.authority = "https://login.localhost:8443"});
    resources_ = std::make_unique<resources::ResourceManager>(*store_, env_);
    services_ = std::make_unique<Services>(Services{.identity = *identity_,
                                                    .resources = *resources_,
                                                    .domain = "localhost",
                                                    .port = 8443});
    ASSERT_OK(RegisterManagementRoutes(router_, *services_));

    tenant_ = identity_->CreateTenant("Default Directory")->id;
    sp_ = *identity_->CreateServicePrincipal(tenant_, "admin");
    sub_ = resources_->CreateSubscription(tenant_, "sub")->id;
    ASSERT_OK(resources_->AssignRoleUnchecked(
        sp_.object_id, *resources::FindRole("Owner"), SubScope()));
    token_ = identity_
                 ->ClientCredentials(tenant_, sp_.app_id, sp_.client_secret,
                                     "https://management.localhost:8443/"
                                     ".default")
                 ->token;
  }

  std::string SubScope() const { return "/subscriptions/" + sub_; }

  // Dispatches like the server: route lookup, then the handler.
  http::Response Call(const std::string& method, const std::string& path,
                      std::string body = "") {
    http::RouteMatch m = router_.Find("management.localhost", method, path);
    EXPECT_EQ(m.kind, http::RouteMatch::Kind::kFound) << method << " " << path;
    if (m.kind != http::RouteMatch::Kind::kFound) {
      return http::Router::NotFoundResponse(m);
    }
    http::Request r;
    r.method = method;
    r.path = path;
    r.target = path + "?api-version=2022-04-01";
    r.query = {{"api-version", "2022-04-01"}};
    r.host = "management.localhost";
    r.peer_ip = "127.0.0.1";
    r.headers.Set("Authorization", "Bearer " + token_);
    r.headers.Set("Content-Type", "application/json");
    r.body = std::move(body);
    r.route_pattern = m.route->path_pattern;
    r.path_params = m.params;
    return m.route->handler(r);
  }

  // The response body as JSON, which it must be.
  static json Body(const http::Response& res) {
    Result<json> j = ParseJson(res.body, kStoredJsonLimits);
    EXPECT_TRUE(j.ok()) << res.body;
    return j.ok() ? *j : json();
  }

  std::string AssignmentBody() const {
    return DumpJson(json{
        {"properties",
         {{"roleDefinitionId",
           SubScope() + "/providers/Microsoft.Authorization/roleDefinitions/"
                        "acdd72a7-3385-48ef-bd42-f606fba81ae7"},
          {"principalId", sp_.object_id}}}});
  }

  env::ScopedTempDir dir_ = std::move(env::ScopedTempDir::Create()).value();
  env::FakeClock clock_;
  env::Env env_{clock_, env::Env::Default().random(), env::Env::Default().fs()};
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<identity::IdentityService> identity_;
  std::unique_ptr<resources::ResourceManager> resources_;
  std::unique_ptr<Services> services_;
  http::Router router_;
  std::string tenant_, sub_, token_;
  identity::ServicePrincipalCredentials sp_;
};

TEST_F(ManagementApiTest, NestedBodiesAreRefusedWithInvalidRequestContent) {
  const std::string deep = std::string(400000, '[') + std::string(400000, ']');
  http::Response res =
      Call("PUT", "/providers/Microsoft.Subscription/aliases/deep",
           R"({"properties":{"displayName":)" + deep + "}}");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(Body(res)["error"]["code"], "InvalidRequestContent");
  res = Call("PUT", SubScope() + "/resourcegroups/rg",
             R"({"location":"westeurope","tags":)" + deep + "}");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(Body(res)["error"]["code"], "InvalidRequestContent");
  // Nesting real clients use still works.
  res = Call("PUT", SubScope() + "/resourcegroups/rg",
             R"({"location":"westeurope","tags":{"a":"b"}})");
  EXPECT_EQ(res.status, 201) << res.body;
}

TEST_F(ManagementApiTest, RoleAssignmentNamesThatAreNotGuidsCommitNothing) {
  const std::string list = SubScope() + kAssignments;
  for (const char* name : {"\xff", "not-a-guid", "x%2F..%2Fy"}) {
    http::Response res =
        Call("PUT", list + "/" + std::string(name), AssignmentBody());
    EXPECT_EQ(res.status, 400) << res.body;
    EXPECT_EQ(Body(res)["error"]["code"], "InvalidRoleAssignmentId");
  }
  http::Response res = Call("GET", list);
  ASSERT_EQ(res.status, 200) << res.body;
  const json items = Body(res)["value"];
  ASSERT_EQ(items.size(), 1u);  // The Owner assignment of SetUp only.
  EXPECT_TRUE(resources::IsGuid(items[0]["name"].get<std::string>()));
  // A GUID is accepted, as ARM clients send it.
  res = Call("PUT", list + "/6f4c6a52-9d3c-4b1e-8f6e-0c5d2a7b9e11",
             AssignmentBody());
  EXPECT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(Body(res)["name"], "6f4c6a52-9d3c-4b1e-8f6e-0c5d2a7b9e11");
}

TEST_F(ManagementApiTest, ABadGroupNameInTheScopeCommitsNothing) {
  http::Response res =
      Call("PUT",
           SubScope() + "/resourcegroups/g\xff" + kAssignments +
               "/6f4c6a52-9d3c-4b1e-8f6e-0c5d2a7b9e11",
           AssignmentBody());
  EXPECT_EQ(res.status, 400) << res.body;
  EXPECT_EQ(Body(res)["error"]["code"], "InvalidResourceGroup");
}

// Rows stored before ids were validated (or by another way in) may hold
// any bytes: listing them answers 200 with valid JSON, never a 500.
TEST_F(ManagementApiTest, StoredBytesThatAreNotUtf8NeverBreakAListing) {
  ASSERT_OK(store_->Transact([&](store::Transaction& tx) {
    return tx.role_assignments().Create({.id = "old-\xff\xfe",
                                         .principal_id = sp_.object_id,
                                         .role_name = "Reader",
                                         .scope = SubScope(),
                                         .created_at = 1});
  }));
  http::Response res;
  ASSERT_NO_THROW(res = Call("GET", SubScope() + kAssignments));
  ASSERT_EQ(res.status, 200) << res.body;
  bool found = false;
  const json listed = Body(res);
  for (const json& a : listed["value"]) {
    found |= a["name"] == "old-\xef\xbf\xbd\xef\xbf\xbd";
  }
  EXPECT_TRUE(found) << res.body;
}

}  // namespace
}  // namespace atrest::api
