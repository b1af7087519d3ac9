#include "http/tls_material.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include "env/testing.h"

namespace atrest::http {
namespace {

std::unique_ptr<X509, decltype(&X509_free)> LoadCert(const std::string& p) {
  FILE* f = std::fopen(p.c_str(), "r");
  X509* x = f ? PEM_read_X509(f, nullptr, nullptr, nullptr) : nullptr;
  if (f) std::fclose(f);
  return {x, &X509_free};
}

std::string Read(const std::string& path) {
  Result<Bytes> b = env::ReadFile(env::Env::Default().fs(), path);
  return b.ok() ? std::string(AsString(*b)) : "";
}

TEST(TlsMaterialTest, CreatesCaAndServerCertWithExpectedNames) {
  auto dir = env::ScopedTempDir::Create();
  ASSERT_TRUE(dir.ok());
  Result<TlsFiles> files =
      EnsureTlsMaterial(env::Env::Default(), dir->path(), "localhost");
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_TRUE(files->created);
  auto cert = LoadCert(files->cert_chain_path);
  ASSERT_TRUE(cert);
  for (const char* name :
       {"localhost", "login.localhost", "management.localhost",
        "kv1.vault.localhost", "acct.openai.localhost"}) {
    EXPECT_EQ(X509_check_host(cert.get(), name, 0, 0, nullptr), 1) << name;
  }
  for (const char* name : {"x.localhost", "a.b.vault.localhost"}) {
    EXPECT_NE(X509_check_host(cert.get(), name, 0, 0, nullptr), 1) << name;
  }
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);

  auto ca = LoadCert(files->ca_cert_path);
  ASSERT_TRUE(ca);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(ca.get())), 1);

  struct stat st;
  ASSERT_EQ(stat(files->key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir->path() + "/tls/ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(TlsMaterialTest, ReusesMaterialAndReissuesForNewDomain) {
  auto dir = env::ScopedTempDir::Create();
  ASSERT_TRUE(dir.ok());
  env::Env& e = env::Env::Default();
  Result<TlsFiles> first = EnsureTlsMaterial(e, dir->path(), "localhost");
  ASSERT_TRUE(first.ok());
  std::string ca = Read(first->ca_cert_path);
  std::string cert = Read(first->cert_chain_path);

  Result<TlsFiles> again = EnsureTlsMaterial(e, dir->path(), "localhost");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(Read(again->ca_cert_path), ca);
  EXPECT_EQ(Read(again->cert_chain_path), cert);

  // Another domain: same CA, new server certificate.
  Result<TlsFiles> other = EnsureTlsMaterial(e, dir->path(), "example.test");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->created);
  EXPECT_EQ(Read(other->ca_cert_path), ca);
  auto c = LoadCert(other->cert_chain_path);
  EXPECT_EQ(X509_check_host(c.get(), "kv.vault.example.test", 0, 0, nullptr),
            1);
}

TEST(TlsMaterialTest, RejectsBadDomainAndMismatchedUserFiles) {
  auto dir = env::ScopedTempDir::Create();
  ASSERT_TRUE(dir.ok());
  env::Env& e = env::Env::Default();
  EXPECT_EQ(EnsureTlsMaterial(e, dir->path(), "Bad Domain").status().code(),
            StatusCode::kInvalidArgument);
  Result<TlsFiles> gen = EnsureTlsMaterial(e, dir->path(), "localhost");
  ASSERT_TRUE(gen.ok());
  EXPECT_TRUE(UserTlsMaterial(e, gen->cert_chain_path, gen->key_path).ok());
  EXPECT_EQ(
      UserTlsMaterial(e, gen->cert_chain_path, dir->path() + "/tls/ca.key")
          .status()
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_FALSE(UserTlsMaterial(e, "/nonexistent", gen->key_path).ok());
}

}  // namespace
}  // namespace atrest::http
