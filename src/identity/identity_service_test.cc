#include "identity/identity_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "env/testing.h"
#include "keys/root_key.h"
#include "store/sqlite_store.h"

namespace atrest::identity {
namespace {

using std::chrono::hours;
using ::testing::HasSubstr;

constexpr char kAuthority[] = "https://login.localhost:8443";
constexpr char kVault[] = "https://vault.localhost:8443";

class IdentityServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ =
        std::move(store::SqliteStore::Open({.data_dir = dir_.path()})).value();
    service_ = NewService();
    tenant_ = service_->CreateTenant("Default Directory")->id;
    sp_ = *service_->CreateServicePrincipal(tenant_, "app1");
  }

  std::unique_ptr<IdentityService> NewService() {
    keys::RootKey root =
        *keys::RootKey::FromBytes(crypto::SecretBytes::CopyFrom(Bytes(32, 7)));
    return std::make_unique<IdentityService>(
        *store_, env_, *root.DeriveAead("identity/signing-keys"),
        IdentityOptions{.authority = kAuthority,
                        .managed_identity_audiences = {kVault}});
  }

  Result<AccessToken> Token(const std::string& secret,
                            const std::string& scope = std::string(kVault) +
                                                       "/.default") {
    return service_->ClientCredentials(tenant_, sp_.app_id, secret, scope);
  }
  Result<Caller> Check(const std::string& token,
                       std::optional<std::string> tenant = std::nullopt) {
    return service_->Authenticate(token, {kVault}, tenant);
  }

  env::ScopedTempDir dir_ = std::move(env::ScopedTempDir::Create()).value();
  env::FakeClock clock_;
  env::Env env_{clock_, env::Env::Default().random(), env::Env::Default().fs()};
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<IdentityService> service_;
  std::string tenant_;
  ServicePrincipalCredentials sp_;
};

TEST_F(IdentityServiceTest, ClientCredentialsTokenValidates) {
  Result<AccessToken> t = Token(sp_.client_secret);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->expires_in, 3600);
  Result<Caller> c = Check(t->token, tenant_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->object_id, sp_.object_id);
  EXPECT_EQ(c->app_id, sp_.app_id);
  EXPECT_EQ(c->tenant_id, tenant_);
}

TEST_F(IdentityServiceTest, BadCredentialsAndScopesAreRefused) {
  EXPECT_EQ(Token("wrong").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(service_
                ->ClientCredentials(tenant_, "nope", sp_.client_secret,
                                    std::string(kVault) + "/.default")
                .status()
                .code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(
      service_
          ->ClientCredentials("other-tenant", sp_.app_id, sp_.client_secret,
                              std::string(kVault) + "/.default")
          .status()
          .code(),
      StatusCode::kUnauthenticated);
  for (const char* scope :
       {"", kVault, "https://a/.default https://b/.default", "/.default"}) {
    EXPECT_EQ(Token(sp_.client_secret, scope).status().code(),
              StatusCode::kInvalidArgument)
        << scope;
  }
  Result<AccessToken> t = Token("wrong");
  EXPECT_THAT(t.status().message(), ::testing::Not(HasSubstr("wrong")));
  EXPECT_EQ(t.status().reason(), "invalid_client");
  EXPECT_EQ(service_
                ->ClientCredentials(tenant_, "nope", sp_.client_secret,
                                    std::string(kVault) + "/.default")
                .status()
                .reason(),
            "unauthorized_client");
  EXPECT_EQ(Token(sp_.client_secret, kVault).status().reason(),
            "invalid_scope");
}

TEST_F(IdentityServiceTest, AudienceTenantAndExpiryAreEnforced) {
  std::string token = Token(sp_.client_secret)->token;
  EXPECT_EQ(service_
                ->Authenticate(token, {"https://management.localhost:8443"},
                               std::nullopt)
                .status()
                .code(),
            StatusCode::kUnauthenticated);
  EXPECT_FALSE(Check(token, "another-tenant").ok());
  clock_.Advance(hours(1) + std::chrono::minutes(6));
  Result<Caller> c = Check(token);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("expired"));
}

TEST_F(IdentityServiceTest, DeletedPrincipalsTokensStopWorking) {
  std::string token = Token(sp_.client_secret)->token;
  ASSERT_TRUE(Check(token).ok());
  ASSERT_TRUE(service_->DeletePrincipal(sp_.object_id).ok());
  EXPECT_EQ(Check(token).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(IdentityServiceTest, DiscoveryAndJwksDescribeTheTokens) {
  nlohmann::json oidc = service_->OpenIdConfiguration(tenant_);
  EXPECT_EQ(oidc["issuer"], std::string(kAuthority) + "/" + tenant_ + "/v2.0");
  EXPECT_EQ(oidc["token_endpoint"],
            std::string(kAuthority) + "/" + tenant_ + "/oauth2/v2.0/token");
  std::string token = Token(sp_.client_secret)->token;
  Result<nlohmann::json> jwks = service_->Jwks(tenant_);
  ASSERT_TRUE(jwks.ok());
  ASSERT_EQ((*jwks)["keys"].size(), 1u);
  EXPECT_EQ((*jwks)["keys"][0]["kty"], "RSA");
  EXPECT_FALSE((*jwks)["keys"][0].contains("d"));
  EXPECT_EQ(service_->Jwks("unknown").status().code(), StatusCode::kNotFound);
}

TEST_F(IdentityServiceTest, SigningKeysRollOverAndOldTokensStillValidate) {
  std::string before = Token(sp_.client_secret)->token;
  // Just before the old key stops signing.
  clock_.Advance(hours(24 * 30) - std::chrono::minutes(30));
  std::string late_old = Token(sp_.client_secret)->token;
  clock_.Advance(std::chrono::minutes(31));
  std::string after = Token(sp_.client_secret)->token;
  auto kid = [](const std::string& t) {
    return t.substr(0, t.find('.'));  // The header names the kid.
  };
  EXPECT_EQ(kid(before), kid(late_old));
  EXPECT_NE(kid(late_old), kid(after));
  EXPECT_EQ((*service_->Jwks(tenant_))["keys"].size(), 2u);
  EXPECT_TRUE(Check(late_old).ok());  // Signed by the retired key.
  EXPECT_TRUE(Check(after).ok());
  clock_.Advance(hours(2));
  EXPECT_EQ((*service_->Jwks(tenant_))["keys"].size(), 1u);
}

TEST_F(IdentityServiceTest, KeysSurviveARestartAndNoSecretIsStoredInClear) {
  std::string token = Token(sp_.client_secret)->token;
  service_ = NewService();  // Fresh caches, same store and root key.
  EXPECT_TRUE(Check(token).ok());
  store_.reset();
  std::ifstream db(dir_.Join("metadata.db"), std::ios::binary);
  std::stringstream all;
  all << db.rdbuf();
  EXPECT_EQ(all.str().find(sp_.client_secret), std::string::npos);
  EXPECT_EQ(all.str().find("PRIVATE KEY"), std::string::npos);
}

TEST_F(IdentityServiceTest, ManagedIdentityTokens) {
  Result<store::Principal> mi = service_->CreateManagedIdentity(
      tenant_, "/subscriptions/s/resourceGroups/g/providers/x/accounts/a", "a");
  ASSERT_TRUE(mi.ok()) << mi.status();
  Result<AccessToken> t = service_->ManagedIdentityToken(mi->object_id, kVault);
  ASSERT_TRUE(t.ok());
  Result<Caller> c = Check(t->token, tenant_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->object_id, mi->object_id);
  EXPECT_FALSE(service_->ManagedIdentityToken(sp_.object_id, kVault).ok());
  // With a trailing slash it is the same audience.
  t = service_->ManagedIdentityToken(mi->object_id, std::string(kVault) + "/");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(Check(t->token, tenant_).ok());
}

// Wrong secrets put their address (and, from several, the client) in
// backoff; the right secret still works from the owner's address, and once
// verified from anywhere, without a slow check.
TEST_F(IdentityServiceTest, WrongSecretsAreThrottledNotTheRightOne) {
  const std::string scope = std::string(kVault) + "/.default";
  const std::string attacker = "203.0.113.9";
  std::chrono::seconds wait{0};
  auto ask = [&](const std::string& secret, const std::string& peer) {
    return service_->ClientCredentials(tenant_, sp_.app_id, secret, scope, peer,
                                       &wait);
  };
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(ask("wrong", attacker).status().reason(), "invalid_client") << i;
  }
  Result<AccessToken> t = ask("wrong", attacker);
  EXPECT_EQ(t.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(t.status().reason(), "temporarily_unavailable");
  EXPECT_EQ(wait, std::chrono::seconds(1));
  // Not even the right secret is checked from there (never verified yet).
  EXPECT_EQ(ask(sp_.client_secret, attacker).status().reason(),
            "temporarily_unavailable");
  // From another address it is, though the client is in backoff too.
  t = ask(sp_.client_secret, "198.51.100.1");
  ASSERT_TRUE(t.ok()) << t.status();
  // Verified once, it works from the attacker's address as well.
  t = ask(sp_.client_secret, attacker);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(Check(t->token, tenant_).ok());
  // A wrong one still waits; after the wait it is checked (and wrong).
  EXPECT_EQ(ask("wrong", attacker).status().reason(),
            "temporarily_unavailable");
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(ask("wrong", attacker).status().reason(), "invalid_client");
  EXPECT_EQ(ask("wrong", attacker).status().reason(),
            "temporarily_unavailable");
  EXPECT_EQ(wait, std::chrono::seconds(2));
}

TEST_F(IdentityServiceTest, CheapChecksComeFirst) {
  const std::string scope = std::string(kVault) + "/.default";
  // Unknown clients and tenants, and bad scopes, never count as failures.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(
        service_->ClientCredentials(tenant_, "nope", "x", scope, "192.0.2.1")
            .status()
            .reason(),
        "unauthorized_client");
    EXPECT_EQ(
        service_
            ->ClientCredentials(tenant_, sp_.app_id, "x", "bad", "192.0.2.1")
            .status()
            .reason(),
        "invalid_scope");
  }
  // A secret longer than any atrest issues is wrong at once (and counts).
  const std::string huge(IdentityService::kMaxClientSecretChars + 1, 'a');
  EXPECT_EQ(
      service_->ClientCredentials(tenant_, sp_.app_id, huge, scope, "192.0.2.1")
          .status()
          .reason(),
      "invalid_client");
  Result<AccessToken> t = service_->ClientCredentials(
      tenant_, sp_.app_id, sp_.client_secret, scope, "192.0.2.1");
  ASSERT_TRUE(t.ok()) << t.status();
}

// The second wall behind the key vault client: a managed identity's token
// is never minted for another surface, whoever asks.
TEST_F(IdentityServiceTest, ManagedIdentityTokensOnlyForVaultAudiences) {
  Result<store::Principal> mi = service_->CreateManagedIdentity(
      tenant_, "/subscriptions/s/resourceGroups/g/providers/x/accounts/a", "a");
  ASSERT_TRUE(mi.ok()) << mi.status();
  for (const char* resource :
       {"https://management.localhost:8443", "https://login.localhost:8443",
        "https://management.azure.com", "https://vault.azure.net",
        "https://vault.localhost:8443/x", "https://localhost:8443", "", "/"}) {
    Result<AccessToken> t =
        service_->ManagedIdentityToken(mi->object_id, resource);
    ASSERT_FALSE(t.ok()) << resource;
    EXPECT_EQ(t.status().code(), StatusCode::kPermissionDenied) << resource;
    EXPECT_EQ(t.status().reason(), "AudienceNotAllowed") << resource;
  }
}

}  // namespace
}  // namespace atrest::identity
