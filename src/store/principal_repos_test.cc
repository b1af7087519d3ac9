// CRUD, unique keys, NotFound and delete rules of the principal, client
// secret, role assignment and signing key repositories.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/store_test_util.h"

namespace atrest::store {
namespace {

using Repos = StoreTest;

Principal User(const std::string& oid, const std::string& tenant,
               const std::string& upn) {
  Principal p;
  p.object_id = oid;
  p.tenant_id = tenant;
  p.kind = PrincipalKind::kUser;
  p.display_name = "user " + oid;
  p.user_principal_name = upn;
  p.created_at = 100;
  return p;
}

Principal ServicePrincipal(const std::string& oid, const std::string& tenant,
                           const std::string& app_id) {
  Principal p = User(oid, tenant, "");
  p.kind = PrincipalKind::kServicePrincipal;
  p.app_id = app_id;
  return p;
}

Principal ManagedIdentity(const std::string& oid, const std::string& tenant,
                          const std::string& resource) {
  Principal p = User(oid, tenant, "");
  p.kind = PrincipalKind::kManagedIdentity;
  p.resource_id = resource;
  return p;
}

TEST_F(Repos, Principals) {
  ASSERT_OK(Tx(
      [](Transaction& tx) { return tx.tenants().Create(MakeTenant("t1")); }));
  const Principal user = User("u1", "t1", "Alice@Contoso.example");
  const Principal sp = ServicePrincipal("sp1", "t1", "app-1");
  const Principal mi = ManagedIdentity("mi1", "t1", "/subscriptions/s/x/ACC");
  ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.principals().Create(user));
    RETURN_IF_ERROR(tx.principals().Create(sp));
    return tx.principals().Create(mi);
  }));
  ASSERT_OK(store_->Read([&](Transaction& tx) -> Status {
    PrincipalRepo& p = tx.principals();
    EXPECT_EQ(*p.Get("u1"), user);
    EXPECT_EQ(*p.FindUserByName("t1", "alice@contoso.EXAMPLE"), user);
    EXPECT_EQ(*p.FindServicePrincipalByAppId("t1", "app-1"), sp);
    EXPECT_EQ(*p.FindManagedIdentityByResource("/SUBSCRIPTIONS/s/x/acc"), mi);
    EXPECT_EQ(p.FindServicePrincipalByAppId("t2", "app-1").status().code(),
              StatusCode::kNotFound);
    EXPECT_EQ(p.ListByTenant("t1")->size(), 3u);
    return Status::Ok();
  }));

  auto create = [&](const Principal& p) {
    return Tx([&](Transaction& tx) { return tx.principals().Create(p); });
  };
  EXPECT_EQ(create(User("u1", "t1", "bob")).message(),
            "principal 'u1' already exists");
  EXPECT_EQ(create(User("u2", "t1", "ALICE@contoso.example")).message(),
            "user 'ALICE@contoso.example' already exists in tenant 't1'");
  EXPECT_EQ(create(ServicePrincipal("sp2", "t1", "app-1")).message(),
            "service principal for app id 'app-1' already exists in tenant "
            "'t1'");
  EXPECT_EQ(
      create(ManagedIdentity("mi2", "t1", "/subscriptions/s/x/acc")).message(),
      "managed identity for resource '/subscriptions/s/x/acc' already "
      "exists");
  EXPECT_EQ(create(User("u3", "t9", "carol")).code(), StatusCode::kNotFound);
  Principal bad = sp;
  bad.object_id = "bad";
  bad.user_principal_name = "also-a-user";
  EXPECT_EQ(create(bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(create(ServicePrincipal("sp3", "t1", "")).code(),
            StatusCode::kInvalidArgument);

  EXPECT_EQ(
      Tx([](Transaction& tx) { return tx.tenants().Delete("t1"); }).code(),
      StatusCode::kFailedPrecondition);
  ASSERT_OK(Tx([](Transaction& tx) { return tx.principals().Delete("mi1"); }));
  EXPECT_EQ(
      Tx([](Transaction& tx) { return tx.principals().Delete("mi1"); }).code(),
      StatusCode::kNotFound);
}

TEST_F(Repos, ClientSecretsAndCascade) {
  const ClientSecret secret{"sp1", "k1", "$argon2id$v=19$HASH", 10, 20};
  ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("t1")));
    RETURN_IF_ERROR(tx.principals().Create(ServicePrincipal("sp1", "t1", "a")));
    RETURN_IF_ERROR(tx.principals().Create(User("u1", "t1", "u")));
    RETURN_IF_ERROR(tx.principals().AddSecret(secret));
    return tx.principals().AddSecret(ClientSecret{"sp1", "k0", "h0", 1, 2});
  }));
  auto list = store_->ReadResult(
      [](Transaction& tx) { return tx.principals().ListSecrets("sp1"); });
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1], secret);

  Status dup =
      Tx([&](Transaction& tx) { return tx.principals().AddSecret(secret); });
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message().find("HASH"), std::string::npos);
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.principals().AddSecret(ClientSecret{"u1", "k", "h"});
            }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.principals().AddSecret(ClientSecret{"nope", "k", "h"});
            }).code(),
            StatusCode::kNotFound);
  ASSERT_OK(Tx([](Transaction& tx) {
    return tx.principals().DeleteSecret("sp1", "k0");
  }));
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.principals().DeleteSecret("sp1", "k0");
            }).code(),
            StatusCode::kNotFound);

  // Deleting the principal takes its secrets and role assignments along.
  ASSERT_OK(Tx([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.role_assignments().Create(
        RoleAssignment{"ra1", "sp1", "Reader", "/subscriptions/s1"}));
    return tx.principals().Delete("sp1");
  }));
  ASSERT_OK(store_->Read([](Transaction& tx) -> Status {
    EXPECT_TRUE(tx.principals().ListSecrets("sp1")->empty());
    EXPECT_EQ(tx.role_assignments().Get("ra1").status().code(),
              StatusCode::kNotFound);
    return Status::Ok();
  }));
}

TEST_F(Repos, RoleAssignments) {
  const RoleAssignment ra{"ra1", "u1", "Key Vault Crypto User",
                          "/subscriptions/S1/resourceGroups/RG", 5};
  ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("t1")));
    RETURN_IF_ERROR(tx.principals().Create(User("u1", "t1", "u")));
    RETURN_IF_ERROR(tx.role_assignments().Create(ra));
    return tx.role_assignments().Create(
        RoleAssignment{"ra0", "u1", "Reader", "/subscriptions/s1", 6});
  }));
  ASSERT_OK(store_->Read([&](Transaction& tx) -> Status {
    RoleAssignmentRepo& r = tx.role_assignments();
    EXPECT_EQ(*r.Get("ra1"), ra);
    EXPECT_EQ(r.ListForPrincipal("u1")->size(), 2u);
    auto at = r.ListAtScope("/subscriptions/s1/resourcegroups/rg");
    EXPECT_EQ(at->size(), 1u);
    EXPECT_EQ(at->at(0), ra);
    return Status::Ok();
  }));
  RoleAssignment same_role = ra;
  same_role.id = "ra2";
  same_role.scope = "/SUBSCRIPTIONS/s1/resourceGroups/rg";
  Status s = Tx(
      [&](Transaction& tx) { return tx.role_assignments().Create(same_role); });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message().find("already has role 'Key Vault Crypto User'") !=
                std::string::npos,
            true)
      << s;
  RoleAssignment same_id = ra;
  same_id.role_name = "Owner";
  s = Tx(
      [&](Transaction& tx) { return tx.role_assignments().Create(same_id); });
  EXPECT_EQ(s.message(), "role assignment 'ra1' already exists");
  RoleAssignment orphan = ra;
  orphan.id = "ra3";
  orphan.principal_id = "ghost";
  EXPECT_EQ(Tx([&](Transaction& tx) {
              return tx.role_assignments().Create(orphan);
            }).code(),
            StatusCode::kNotFound);
  ASSERT_OK(
      Tx([](Transaction& tx) { return tx.role_assignments().Delete("ra1"); }));
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.role_assignments().Delete("ra1");
            }).code(),
            StatusCode::kNotFound);
}

TEST_F(Repos, SigningKeys) {
  const Bytes sealed = {0, 1, 2, 0, 255, 0};
  const SigningKey old_key{"t1", "kid-old", 100, 200, sealed};
  const SigningKey new_key{"t1", "kid-new", 150, 300, {9}};
  ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("t1")));
    RETURN_IF_ERROR(tx.signing_keys().Add(old_key));
    return tx.signing_keys().Add(new_key);
  }));
  ASSERT_OK(store_->Read([&](Transaction& tx) -> Status {
    EXPECT_EQ(*tx.signing_keys().Get("t1", "kid-old"), old_key);
    auto list = tx.signing_keys().ListByTenant("t1");
    EXPECT_EQ(*list, (std::vector<SigningKey>{new_key, old_key}));
    EXPECT_EQ(tx.signing_keys().Get("t2", "kid-old").status().code(),
              StatusCode::kNotFound);
    return Status::Ok();
  }));
  EXPECT_EQ(Tx([&](Transaction& tx) {
              return tx.signing_keys().Add(old_key);
            }).message(),
            "signing key 'kid-old' already exists in tenant 't1'");
  EXPECT_EQ(Tx([&](Transaction& tx) {
              return tx.signing_keys().Add(SigningKey{"t9", "k", 1, 2, {1}});
            }).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(Tx([&](Transaction& tx) {
              return tx.signing_keys().Add(SigningKey{"t1", "k", 1, 2, {}});
            }).code(),
            StatusCode::kInvalidArgument);
  ASSERT_OK(Tx([](Transaction& tx) {
    return tx.signing_keys().Delete("t1", "kid-old");
  }));
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.signing_keys().Delete("t1", "kid-old");
            }).code(),
            StatusCode::kNotFound);
}

TEST_F(Repos, WritesInsideReadAreRefused) {
  Status s = store_->Read(
      [](Transaction& tx) { return tx.tenants().Create(MakeTenant("t1")); });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s;
  // The connection is writable again for the next write transaction.
  ASSERT_OK(Tx(
      [](Transaction& tx) { return tx.tenants().Create(MakeTenant("t1")); }));
}

}  // namespace
}  // namespace atrest::store

namespace atrest::store {
namespace {

class DirectoryTransfer : public StoreTest {};

TEST_F(DirectoryTransfer, MovesTheSubscriptionAndDropsItsRoleAssignments) {
  ASSERT_OK(Tx([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("t1")));
    RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("t2")));
    RETURN_IF_ERROR(tx.subscriptions().Create(MakeSubscription("s1", "t1")));
    RETURN_IF_ERROR(tx.subscriptions().Create(MakeSubscription("s10", "t1")));
    RETURN_IF_ERROR(tx.principals().Create(Principal{
        .object_id = "u1", .tenant_id = "t1", .user_principal_name = "u"}));
    RETURN_IF_ERROR(tx.role_assignments().Create(
        RoleAssignment{"ra1", "u1", "Owner", "/subscriptions/S1"}));
    RETURN_IF_ERROR(tx.role_assignments().Create(RoleAssignment{
        "ra2", "u1", "Reader", "/subscriptions/s1/resourceGroups/g"}));
    return tx.role_assignments().Create(
        RoleAssignment{"ra3", "u1", "Owner", "/subscriptions/s10"});
  }));
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.subscriptions().ChangeTenant("s1", "nope");
            }).code(),
            StatusCode::kNotFound);
  ASSERT_OK(Tx([](Transaction& tx) {
    return tx.subscriptions().ChangeTenant("s1", "t2");
  }));
  ASSERT_OK(store_->Read([](Transaction& tx) -> Status {
    EXPECT_EQ(tx.subscriptions().Get("s1")->tenant_id, "t2");
    EXPECT_EQ(tx.role_assignments().Get("ra1").status().code(),
              StatusCode::kNotFound);
    EXPECT_EQ(tx.role_assignments().Get("ra2").status().code(),
              StatusCode::kNotFound);
    // A subscription whose id merely starts the same way keeps its roles.
    EXPECT_TRUE(tx.role_assignments().Get("ra3").ok());
    return Status::Ok();
  }));
}

}  // namespace
}  // namespace atrest::store
