// TLS material for the one HTTPS port: the service's own CA and server
// certificate, made on first start and reused afterwards, or files a user
// supplies.
//
// Generated layout under <data_dir>/tls/ (all files mode 0600, written
// atomically through env::FileSystem):
//   ca.key      EC P-256 private key of the CA (PKCS#8 PEM)
//   ca.crt      self-signed CA certificate, 10 years, CA:TRUE, pathlen 0;
//               the file clients trust (NODE_EXTRA_CA_CERTS,
//               REQUESTS_CA_BUNDLE)
//   server.key  EC P-256 private key of the server (PKCS#8 PEM)
//   server.crt  server certificate followed by ca.crt; 825 days (the
//               longest validity Apple platforms accept); SANs exactly
//               DNS:<domain>, DNS:login.<domain>, DNS:management.<domain>,
//               DNS:*.vault.<domain>, DNS:*.openai.<domain>, IP:127.0.0.1,
//               IP:::1 (no "*.<domain>": Node refuses "*.localhost" for
//               "x.localhost", and the two wildcards cover what is needed).
//
// On later starts the files are reused when the CA is valid for 30 more
// days and the server certificate is signed by it, names this domain and is
// valid for 30 more days. A stale server certificate is re-issued by the
// same CA (clients keep trusting it); a missing or stale CA regenerates
// everything.
//
// Thread safety: call once at start-up; not safe against concurrent calls
// on the same data dir.
#ifndef ATREST_HTTP_TLS_MATERIAL_H_
#define ATREST_HTTP_TLS_MATERIAL_H_

#include <string>

#include "base/status.h"
#include "env/env.h"

namespace atrest::http {

struct TlsFiles {
  std::string cert_chain_path;  // PEM: server certificate, then chain.
  std::string key_path;         // PEM private key of the server.
  std::string ca_cert_path;     // PEM CA to trust; empty for user files.
  bool created = false;         // True when this call generated anything.
};

// Ensures the generated material exists for `domain` (lower-case DNS name,
// e.g. "localhost") under `data_dir` and returns its paths. InvalidArgument
// for a malformed domain; Internal for an OpenSSL failure; filesystem errors
// as the Env reports them.
Result<TlsFiles> EnsureTlsMaterial(env::Env& env, const std::string& data_dir,
                                   const std::string& domain);

// User-supplied certificate chain and key: checks both parse as PEM and the
// key matches the certificate. InvalidArgument with the path on mismatch.
Result<TlsFiles> UserTlsMaterial(env::Env& env, const std::string& cert_path,
                                 const std::string& key_path);

}  // namespace atrest::http

#endif  // ATREST_HTTP_TLS_MATERIAL_H_
