// The hostile-input sweep: every route the real server registers, taken
// from its router (so a route added later is covered without anyone
// remembering to), is sent each class of hostile input over real TLS:
//   oversize bodies, deeply nested JSON, bytes that are not UTF-8 in the
//   path, the query and the body, a token of another tenant, a token of
//   another audience, and clients that trickle or stall.
// Every answer must be a 4xx (or, where the input is merely odd, a normal
// answer), never a 5xx, a crash or a hang; errors must come in the surface's
// own shape with no internal detail; and the server must keep answering.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "api/services.h"
#include "app/runtime.h"
#include "base/base64.h"
#include "base/json.h"
#include "env/testing.h"
#include "http/router.h"
#include "http/test_client.h"
#include "identity/identity_service.h"
#include "resources/resource_manager.h"
#include "resources/roles.h"

namespace atrest::app {
namespace {

namespace bhttp = boost::beast::http;
using http::Surface;
using http::testing::StringResponse;
using http::testing::TestClient;
using nlohmann::json;

// One concrete request target for a route.
struct Target {
  const http::Route* route;
  Surface surface;
  std::string tls_host;  // For SNI and the certificate check.
  std::string host;      // The Host header.
  std::string path;
  std::string Name() const {
    return route->method + " " + route->host_pattern + route->path_pattern;
  }
};

// Who is calling: the headers a request carries.
using Credential = std::vector<std::pair<std::string, std::string>>;

// A port nothing listens on now (the server needs its real port before it
// binds: audiences and vault URIs name it).
uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

class RouteSweepTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ =
        new env::ScopedTempDir(std::move(env::ScopedTempDir::Create()).value());
    Config c;
    c.data_dir = dir_->path();
    c.port = FreePort();
    c.access_log = "";
    c.header_timeout_seconds = 2;
    c.request_timeout_seconds = 2;
    c.idle_timeout_seconds = 5;
    c.vault_maintenance_seconds = 3600;
    c.min_upload_rate_window_seconds = 2;
    Result<std::unique_ptr<Runtime>> rt = Runtime::Create(c, std::cerr);
    ASSERT_TRUE(rt.ok()) << rt.status();
    runtime_ = rt->release();
    ASSERT_TRUE(runtime_->Start().ok());
    ASSERT_NO_FATAL_FAILURE(MakeCallers());
  }
  static void TearDownTestSuite() {
    delete runtime_;
    runtime_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  // The callers of each kind: the owner (the bootstrap administrator), a
  // principal of another tenant, each with a token for every surface.
  static void MakeCallers() {
    identity::IdentityService& id = runtime_->services().identity;
    json creds = json::parse(ReadAll(runtime_->bootstrap().credentials_path));
    tenant_ = creds["tenantId"];
    const std::string app = creds["clientId"], secret = creds["clientSecret"];
    for (const auto& [surface, scope] : Scopes()) {
      Result<identity::AccessToken> t =
          id.ClientCredentials(tenant_, app, secret, scope);
      ASSERT_TRUE(t.ok()) << t.status();
      owner_tokens_[surface] = t->token;
    }
    owner_oid_ = ClaimsOf(owner_tokens_[Surface::kArm])["oid"];
    Result<store::Tenant> evil = id.CreateTenant("Sweep Evil");
    ASSERT_TRUE(evil.ok());
    Result<identity::ServicePrincipalCredentials> sp =
        id.CreateServicePrincipal(evil->id, "sweep-evil");
    ASSERT_TRUE(sp.ok()) << sp.status();
    for (const auto& [surface, scope] : Scopes()) {
      Result<identity::AccessToken> t =
          id.ClientCredentials(evil->id, sp->app_id, sp->client_secret, scope);
      ASSERT_TRUE(t.ok()) << t.status();
      foreign_tokens_[surface] = t->token;
    }
  }

  // A fresh world per test, so that handlers get past their lookups and a
  // test that deletes or cancels what it was sent leaves the next one its
  // own: a subscription the owner owns, a group, a vault with a key, an AI
  // account.
  void SetUp() override {
    static int n = 0;
    const std::string tag = std::to_string(++n);
    group_ = "sweep-rg" + tag;
    vault_ = "sweepkv" + tag;
    account_ = "sweepai" + tag;
    Result<store::Subscription> sub =
        runtime_->services().resources.CreateSubscription(tenant_,
                                                          "sweep " + tag);
    ASSERT_TRUE(sub.ok()) << sub.status();
    sub_ = sub->id;
    ASSERT_TRUE(runtime_->services()
                    .resources
                    .AssignRoleUnchecked(owner_oid_,
                                         *resources::FindRole("Owner"),
                                         "/subscriptions/" + sub_)
                    .ok());
    ASSERT_NO_FATAL_FAILURE(Arm("PUT",
                                "/subscriptions/" + sub_ + "/resourcegroups/" +
                                    group_ + "?api-version=2021-04-01",
                                R"({"location":"westeurope"})"));
    json vault = {{"location", "westeurope"},
                  {"properties",
                   {{"tenantId", tenant_},
                    {"sku", {{"family", "A"}, {"name", "standard"}}},
                    {"accessPolicies",
                     {{{"tenantId", tenant_},
                       {"objectId", owner_oid_},
                       {"permissions", {{"keys", {"all"}}}}}}}}}};
    ASSERT_NO_FATAL_FAILURE(Arm("PUT",
                                Group() +
                                    "/providers/Microsoft.KeyVault/vaults/" +
                                    vault_ + "?api-version=2023-07-01",
                                vault.dump()));
    StringResponse key = Call({nullptr, Surface::kKeyVault, VaultHost(),
                               VaultHost(), "/keys/k1/create?api-version=7.4"},
                              "POST", R"({"kty":"RSA","key_size":2048})",
                              Owner(Surface::kKeyVault));
    ASSERT_EQ(key.result_int(), 200) << key.body();
    json account = {{"location", "westeurope"},
                    {"kind", "OpenAI"},
                    {"sku", {{"name", "S0"}}},
                    {"properties", {{"customSubDomainName", account_}}}};
    const std::string acc =
        Group() + "/providers/Microsoft.CognitiveServices/accounts/" + account_;
    ASSERT_NO_FATAL_FAILURE(
        Arm("PUT", acc + "?api-version=2023-05-01", account.dump()));
    StringResponse keys =
        Arm("POST", acc + "/listKeys?api-version=2023-05-01", "");
    api_key_ = json::parse(keys.body())["key1"];
  }

  static std::map<Surface, std::string> Scopes() {
    return {{Surface::kArm, "https://management.localhost/.default"},
            {Surface::kKeyVault, "https://vault.localhost/.default"},
            {Surface::kOpenAi, "https://cognitiveservices.azure.com/.default"}};
  }
  static std::string Group() {
    return "/subscriptions/" + sub_ + "/resourceGroups/" + group_;
  }
  static std::string VaultHost() { return vault_ + ".vault.localhost"; }
  static json ClaimsOf(const std::string& token) {
    const size_t a = token.find('.'), b = token.find('.', a + 1);
    Result<Bytes> payload = Base64UrlDecode(token.substr(a + 1, b - a - 1));
    return json::parse(payload->begin(), payload->end());
  }
  static std::string ReadAll(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  static Credential Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }
  // The owner's credential for a surface (an api-key for the OpenAI one,
  // as its clients mostly send).
  static Credential Owner(Surface s) {
    if (s == Surface::kOpenAi) return {{"api-key", api_key_}};
    if (!owner_tokens_.count(s)) return {};
    return Bearer(owner_tokens_[s]);
  }

  static StringResponse Arm(const std::string& method, const std::string& path,
                            const std::string& body) {
    StringResponse r = Call({nullptr, Surface::kArm, "management.localhost",
                             "management.localhost", path},
                            method, body, Owner(Surface::kArm));
    EXPECT_LT(r.result_int(), 300) << method << " " << path << ": " << r.body();
    return r;
  }

  // Sends one request on a fresh connection; a failed exchange is a
  // response with status 0.
  static StringResponse Call(
      const Target& t, const std::string& method, const std::string& body,
      const Credential& cred,
      const std::string& content_type = "application/json") {
    Result<std::unique_ptr<TestClient>> c = TestClient::Connect(
        runtime_->port(), runtime_->ca_cert_path(), t.tls_host);
    if (!c.ok()) return StringResponse();
    bhttp::request<bhttp::string_body> req;
    req.method_string(method);
    req.target(t.path);
    req.version(11);
    req.set(bhttp::field::host, t.host);
    for (const auto& [name, value] : cred) req.set(name, value);
    if (!body.empty()) req.set(bhttp::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
    Result<StringResponse> r = (*c)->Send(req);
    return r.ok() ? std::move(*r) : StringResponse();
  }

  // Every route of the running server, as a concrete request.
  static std::vector<Target> Targets() {
    std::vector<Target> out;
    for (const http::Router::Listed& l : runtime_->router().Routes()) {
      const http::Route& r = *l.route;
      Target t{&r, l.surface, "", "", ""};
      std::string host = r.host_pattern;
      if (host == "*") continue;  // A fallback: the named hosts cover it.
      if (host.starts_with("*.vault.")) host = VaultHost();
      if (host.starts_with("*.openai.")) {
        host = account_ + host.substr(1);
      }
      t.host = host;
      const bool ip =
          host.find_first_not_of("0123456789.:") == std::string::npos;
      t.tls_host = ip ? "localhost" : host;
      if (host.find(':') != std::string::npos) t.host = "[" + host + "]";
      t.path = Fill(r.path_pattern, false) + ApiVersion(l.surface);
      if (t.path.empty()) t.path = "/";
      out.push_back(std::move(t));
    }
    return out;
  }

  // A plausible value for a {param}, from its name or the segment before.
  static std::string ValueFor(const std::string& param,
                              const std::string& previous) {
    if (param == "{sub}") return sub_;
    if (param == "{group}") return group_;
    if (param == "{tenant}") return tenant_;
    if (param == "{version}") return "0123456789abcdef0123456789abcdef";
    if (param == "{location}") return "westeurope";
    if (previous == "vaults" || previous == "deletedVaults") return vault_;
    if (previous == "accounts") return account_;
    if (previous == "keys" || previous == "deletedkeys") return "k1";
    if (previous == "roleAssignments") {
      return "6f4c6a52-9d3c-4b1e-8f6e-0c5d2a7b9e11";
    }
    return "p1";
  }

  // The query every request of the surface carries, so that a request gets
  // past the api-version check to what it is meant to test.
  static std::string ApiVersion(Surface s) {
    switch (s) {
      case Surface::kArm:
        return "?api-version=2023-05-01";
      case Surface::kKeyVault:
        return "?api-version=7.4";
      case Surface::kOpenAi:
        return "?api-version=2024-10-21";
      default:
        return "";
    }
  }

  // `pattern` with each {param} filled in (ValueFor); with `bad_first`,
  // the first one is a byte that is not UTF-8 instead ("" when there is
  // no {param}).
  static std::string Fill(const std::string& pattern, bool bad_first) {
    std::string out, previous;
    bool bad_done = false;
    size_t start = 0;
    while (start <= pattern.size()) {
      const size_t slash = pattern.find('/', start);
      const std::string seg =
          pattern.substr(start, slash == std::string::npos ? std::string::npos
                                                           : slash - start);
      if (seg.size() > 2 && seg.front() == '{') {
        out += bad_first && !bad_done ? "%FF" : ValueFor(seg, previous);
        bad_done = true;
      } else {
        out += seg;
      }
      previous = seg;
      if (slash == std::string::npos) break;
      out += "/";
      start = slash + 1;
    }
    if (bad_first && !bad_done) return "";
    return out.empty() ? "/" : out;
  }

  static std::string WithQuery(const std::string& path,
                               const std::string& query) {
    return path + (path.find('?') == std::string::npos ? "?" : "&") + query;
  }

  // An error body in the surface's shape, naming nothing internal.
  static void ExpectErrorShape(const Target& t, const StringResponse& r,
                               const std::string& what) {
    SCOPED_TRACE(t.Name() + " (" + what + ") -> " +
                 std::to_string(r.result_int()) + " " +
                 std::string(r.body().substr(0, 300)));
    json j = ParseJsonOrDiscarded(r.body(), kRequestJsonLimits);
    ASSERT_TRUE(j.is_object());
    std::string message;
    if (t.surface == Surface::kLogin) {
      ASSERT_TRUE(j["error"].is_string());
      ASSERT_TRUE(j["error_description"].is_string());
      message = j["error_description"];
    } else {
      ASSERT_TRUE(j["error"].is_object());
      ASSERT_TRUE(j["error"]["message"].is_string());
      if (t.surface != Surface::kOpenAi) {
        EXPECT_TRUE(j["error"]["code"].is_string());
      }
      message = j["error"]["message"];
    }
    for (const std::string& internal :
         {dir_->path(), std::string("/tmp/"), std::string("errno"),
          std::string("No such file"), std::string("SQLITE"),
          std::string("std::"), std::string("what()")}) {
      EXPECT_EQ(message.find(internal), std::string::npos) << internal;
    }
  }

  // A response to a hostile request: never a 5xx or a dropped exchange;
  // an error in the surface's shape. `want`, when set, is the one status
  // the request must get.
  static void Check(const Target& t, const StringResponse& r,
                    const std::string& what, int want = 0) {
    const int status = r.result_int();
    EXPECT_NE(status, 0) << t.Name() << " (" << what << "): no answer";
    EXPECT_LT(status, 500) << t.Name() << " (" << what << "): " << r.body();
    if (want != 0) {
      EXPECT_EQ(status, want) << t.Name() << " (" << what << "): " << r.body();
    }
    // A HEAD answer has no body to hold the error.
    if (status >= 400 && t.route->method != "HEAD")
      ExpectErrorShape(t, r, what);
  }

  static void ExpectServing() {
    StringResponse r =
        Call({nullptr, Surface::kGeneric, "localhost", "localhost", "/healthz"},
             "GET", "", {});
    ASSERT_EQ(r.result_int(), 200) << "the server stopped answering";
  }

  static bool Authenticated(Surface s) {
    return s == Surface::kArm || s == Surface::kKeyVault ||
           s == Surface::kOpenAi;
  }

  static std::string Nested(size_t depth) {
    return "{\"properties\":" + std::string(depth, '[') +
           std::string(depth, ']') + "}";
  }

  static env::ScopedTempDir* dir_;
  static Runtime* runtime_;
  static std::string tenant_, owner_oid_, sub_, group_, vault_, account_,
      api_key_;
  static std::map<Surface, std::string> owner_tokens_, foreign_tokens_;
};

env::ScopedTempDir* RouteSweepTest::dir_ = nullptr;
Runtime* RouteSweepTest::runtime_ = nullptr;
std::string RouteSweepTest::tenant_, RouteSweepTest::owner_oid_,
    RouteSweepTest::sub_, RouteSweepTest::group_, RouteSweepTest::vault_,
    RouteSweepTest::account_, RouteSweepTest::api_key_;
std::map<Surface, std::string> RouteSweepTest::owner_tokens_,
    RouteSweepTest::foreign_tokens_;

TEST_F(RouteSweepTest, CoversEveryRouteOfEverySurface) {
  const std::vector<Target> targets = Targets();
  std::map<Surface, int> per_surface;
  for (const Target& t : targets) ++per_surface[t.surface];
  // Every surface the server has, with the routes it has today at least.
  EXPECT_GE(targets.size(), 100u);
  for (Surface s : {Surface::kArm, Surface::kKeyVault, Surface::kOpenAi,
                    Surface::kLogin, Surface::kGeneric}) {
    EXPECT_GT(per_surface[s], 0) << static_cast<int>(s);
  }
}

TEST_F(RouteSweepTest, OversizeBodiesAre413) {
  for (const Target& t : Targets()) {
    Result<std::unique_ptr<TestClient>> c = TestClient::Connect(
        runtime_->port(), runtime_->ca_cert_path(), t.tls_host);
    ASSERT_TRUE(c.ok());
    // The head only: the server must refuse on the declared length.
    const std::string head =
        t.route->method + " " + t.path + " HTTP/1.1\r\nHost: " + t.host +
        "\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(t.route->limits.max_body_bytes + 1) + "\r\n\r\n";
    ASSERT_TRUE((*c)->WriteRaw(head).ok());
    Result<StringResponse> r = (*c)->Read();
    Check(t, r.ok() ? *r : StringResponse(), "oversize", 413);
  }
  ExpectServing();
}

TEST_F(RouteSweepTest, DeeplyNestedJsonIsRefusedNotFatal) {
  for (const Target& t : Targets()) {
    const uint64_t room = t.route->limits.max_body_bytes;
    const size_t depth = static_cast<size_t>(
        std::min<uint64_t>(200'000, room > 64 ? (room - 32) / 2 : 1));
    Check(t, Call(t, t.route->method, Nested(depth), Owner(t.surface)),
          "nested JSON");
  }
  ExpectServing();
}

TEST_F(RouteSweepTest, BytesThatAreNotUtf8AreRefused) {
  for (const Target& t : Targets()) {
    const Credential cred = Owner(t.surface);
    if (std::string bad = Fill(t.route->path_pattern, true); !bad.empty()) {
      Target b = t;
      b.path = bad + ApiVersion(t.surface);
      Check(t, Call(b, t.route->method, "", cred), "path %FF", 400);
    }
    Target q = t;
    q.path = WithQuery(t.path, "x=%FF");
    Check(t, Call(q, t.route->method, "", cred), "query %FF", 400);
    Check(t, Call(t, t.route->method, "{\"name\":\"\xff\xfe\"}", cred),
          "body \\xff");
    Check(t,
          Call(t, t.route->method, "grant_type=%FF&client_id=%FE", cred,
               "application/x-www-form-urlencoded"),
          "form %FF");
  }
  ExpectServing();
}

TEST_F(RouteSweepTest, AnotherTenantsTokenNeitherChangesNorSeesAnything) {
  for (const Target& t : Targets()) {
    if (!Authenticated(t.surface)) continue;
    const Credential cred = Bearer(foreign_tokens_[t.surface]);
    StringResponse r = Call(t, t.route->method, "{}", cred);
    Check(t, r, "foreign tenant");
    if (t.route->method != "GET") {
      EXPECT_GE(r.result_int(), 400) << t.Name() << ": " << r.body();
    } else if (r.result_int() < 300) {
      // A listing of the caller's own things: none of the victim's.
      for (const std::string& victim : {sub_, group_, vault_, account_}) {
        EXPECT_EQ(r.body().find(victim), std::string::npos)
            << t.Name() << " shows " << victim << ": " << r.body();
      }
    }
  }
  ExpectServing();
}

TEST_F(RouteSweepTest, ATokenOfAnotherAudienceIs401) {
  for (const Target& t : Targets()) {
    if (!Authenticated(t.surface)) continue;
    // The owner's own token, minted for a surface other than this one.
    const Surface other =
        t.surface == Surface::kArm ? Surface::kKeyVault : Surface::kArm;
    Check(t, Call(t, t.route->method, "{}", Bearer(owner_tokens_[other])),
          "wrong audience", 401);
  }
  ExpectServing();
}

TEST_F(RouteSweepTest, TricklingAndStalledClientsAreCutOff) {
  // All at once: each route gets a client that sends its head a byte at a
  // time (header timeout 2 s), and one that stalls after declaring a body
  // (body timeout 2 s). Every connection must be closed by the server.
  const std::vector<Target> targets = Targets();
  std::atomic<int> open{0};
  std::vector<std::thread> clients;
  for (const Target& t : targets) {
    for (const bool body : {false, true}) {
      clients.emplace_back([&t, body, &open] {
        Result<std::unique_ptr<TestClient>> c = TestClient::Connect(
            runtime_->port(), runtime_->ca_cert_path(), t.tls_host);
        if (!c.ok()) return;  // Refused at once: not left hanging.
        const std::string head = t.route->method + " " + t.path +
                                 " HTTP/1.1\r\nHost: " + t.host + "\r\n";
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::seconds(10);
        bool closed = false;
        if (body) {
          closed =
              !(*c)->WriteRaw(head + "Content-Length: 1000\r\n\r\n{").ok() ||
              (*c)->ClosedByServer(std::chrono::seconds(10));
        } else {
          for (size_t i = 0;
               !closed && std::chrono::steady_clock::now() < deadline; ++i) {
            closed =
                !(*c)->WriteRaw(i < head.size() ? std::string(1, head[i])
                                                : std::string("X-Slow: y\r\n"))
                     .ok() ||
                (*c)->ClosedByServer(std::chrono::milliseconds(250));
          }
        }
        if (!closed) ++open;
      });
    }
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(open.load(), 0) << "connections the server left open";
  ExpectServing();
}

}  // namespace
}  // namespace atrest::app
