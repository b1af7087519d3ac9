#include "http/tls_material.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <vector>

namespace atrest::http {
namespace {

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Fn(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;

constexpr long kCaSeconds = 10L * 365 * 24 * 3600;
constexpr long kServerSeconds = 825L * 24 * 3600;
constexpr int kRenewDays = 30;

Status SslError(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return InternalError("TLS material: " + what + ": " + buf);
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

Result<PkeyPtr> ParseKey(const Bytes& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return SslError("parse private key");
  return key;
}

Result<X509Ptr> ParseCert(const Bytes& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return SslError("parse certificate");
  return cert;
}

std::string KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                           nullptr);
  return BioToString(bio.get());
}

std::string CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return BioToString(bio.get());
}

Status AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return SslError("extension " + value);
  }
  return Status::Ok();
}

// A certificate for `key` named `cn`, signed by issuer_key (self-signed when
// issuer is null), with the given extensions (nid, value) in order.
Result<X509Ptr> MakeCert(EVP_PKEY* key, const std::string& cn, X509* issuer,
                         EVP_PKEY* issuer_key, long seconds,
                         const std::vector<std::pair<int, std::string>>& exts) {
  X509Ptr cert(X509_new());
  unsigned char serial[16];
  if (!cert || RAND_bytes(serial, sizeof(serial)) != 1) {
    return SslError("new certificate");
  }
  serial[0] &= 0x7f;  // Positive.
  BnPtr bn(BN_bin2bn(serial, sizeof(serial), nullptr));
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!bn || X509_set_version(cert.get(), 2) != 1 ||
      !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) ||
      !X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), seconds) ||
      X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), issuer != nullptr
                                           ? X509_get_subject_name(issuer)
                                           : name) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return SslError("fill certificate");
  }
  X509* effective_issuer = issuer != nullptr ? issuer : cert.get();
  for (const auto& [nid, value] : exts) {
    RETURN_IF_ERROR(AddExt(cert.get(), effective_issuer, nid, value));
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
    return SslError("sign certificate");
  }
  return cert;
}

bool ValidFor(X509* cert, int days) {
  ASN1_TIME* limit = X509_time_adj_ex(nullptr, days, 0, nullptr);
  bool ok = limit != nullptr &&
            ASN1_TIME_compare(X509_get0_notAfter(cert), limit) > 0;
  ASN1_TIME_free(limit);
  return ok;
}

bool ValidDomain(const std::string& d) {
  if (d.empty() || d.size() > 200 || d.front() == '.' || d.back() == '.') {
    return false;
  }
  for (char c : d) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.')) {
      return false;
    }
  }
  return true;
}

// Reads a (cert, key) pair if both files exist and parse.
bool LoadPair(env::FileSystem& fs, const std::string& cert_path,
              const std::string& key_path, X509Ptr* cert, PkeyPtr* key) {
  if (!fs.Exists(cert_path) || !fs.Exists(key_path)) return false;
  Result<Bytes> cert_pem = env::ReadFile(fs, cert_path);
  Result<Bytes> key_pem = env::ReadFile(fs, key_path);
  if (!cert_pem.ok() || !key_pem.ok()) return false;
  Result<X509Ptr> c = ParseCert(*cert_pem);
  Result<PkeyPtr> k = ParseKey(*key_pem);
  if (!c.ok() || !k.ok() || X509_check_private_key(c->get(), k->get()) != 1) {
    ERR_clear_error();
    return false;
  }
  *cert = std::move(*c);
  *key = std::move(*k);
  return true;
}

Result<PkeyPtr> NewKey() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return SslError("generate EC P-256 key");
  return key;
}

}  // namespace

Result<TlsFiles> EnsureTlsMaterial(env::Env& env, const std::string& data_dir,
                                   const std::string& domain) {
  if (!ValidDomain(domain)) {
    return InvalidArgumentError("TLS material: bad domain '" + domain +
                                "'; want a lower-case DNS name");
  }
  env::FileSystem& fs = env.fs();
  const std::string dir = data_dir + "/tls";
  RETURN_IF_ERROR(fs.CreateDirs(dir));
  TlsFiles files{dir + "/server.crt", dir + "/server.key", dir + "/ca.crt",
                 false};
  const std::string ca_key_path = dir + "/ca.key";

  X509Ptr ca, server;
  PkeyPtr ca_key, server_key;
  bool ca_ok = LoadPair(fs, files.ca_cert_path, ca_key_path, &ca, &ca_key) &&
               ValidFor(ca.get(), kRenewDays);
  if (!ca_ok) {
    ASSIGN_OR_RETURN(ca_key, NewKey());
    ASSIGN_OR_RETURN(
        ca, MakeCert(ca_key.get(), "atrest local CA (" + domain + ")", nullptr,
                     ca_key.get(), kCaSeconds,
                     {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                      {NID_key_usage, "critical,keyCertSign,cRLSign"},
                      {NID_subject_key_identifier, "hash"}}));
    RETURN_IF_ERROR(env::WriteFileAtomically(fs, ca_key_path,
                                             AsBytes(KeyPem(ca_key.get()))));
    RETURN_IF_ERROR(env::WriteFileAtomically(fs, files.ca_cert_path,
                                             AsBytes(CertPem(ca.get()))));
    files.created = true;
  }

  bool server_ok =
      ca_ok &&
      LoadPair(fs, files.cert_chain_path, files.key_path, &server,
               &server_key) &&
      ValidFor(server.get(), kRenewDays) &&
      X509_verify(server.get(), ca_key.get()) == 1 &&
      X509_check_host(server.get(), ("login." + domain).c_str(), 0, 0,
                      nullptr) == 1 &&
      X509_check_host(server.get(), domain.c_str(), 0, 0, nullptr) == 1;
  ERR_clear_error();
  if (!server_ok) {
    ASSIGN_OR_RETURN(server_key, NewKey());
    std::string san = "DNS:" + domain + ",DNS:login." + domain +
                      ",DNS:management." + domain + ",DNS:*.vault." + domain +
                      ",DNS:*.openai." + domain + ",IP:127.0.0.1,IP:::1";
    ASSIGN_OR_RETURN(
        server, MakeCert(server_key.get(), domain, ca.get(), ca_key.get(),
                         kServerSeconds,
                         {{NID_basic_constraints, "critical,CA:FALSE"},
                          {NID_key_usage, "critical,digitalSignature"},
                          {NID_ext_key_usage, "serverAuth"},
                          {NID_subject_alt_name, san},
                          {NID_subject_key_identifier, "hash"},
                          {NID_authority_key_identifier, "keyid:always"}}));
    RETURN_IF_ERROR(env::WriteFileAtomically(
        fs, files.key_path, AsBytes(KeyPem(server_key.get()))));
    RETURN_IF_ERROR(env::WriteFileAtomically(
        fs, files.cert_chain_path,
        AsBytes(CertPem(server.get()) + CertPem(ca.get()))));
    files.created = true;
  }
  return files;
}

Result<TlsFiles> UserTlsMaterial(env::Env& env, const std::string& cert_path,
                                 const std::string& key_path) {
  X509Ptr cert;
  PkeyPtr key;
  if (!LoadPair(env.fs(), cert_path, key_path, &cert, &key)) {
    return InvalidArgumentError(
        "TLS: cannot use certificate '" + cert_path + "' with key '" +
        key_path + "': missing, not PEM, or the key does not match");
  }
  return TlsFiles{cert_path, key_path, "", false};
}

}  // namespace atrest::http
