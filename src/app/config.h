// The server's configuration: embedded defaults, overridden by a TOML file,
// then by ATREST_* environment variables, then by command-line flags.
//
// Every setting has one entry in the table in config.cc, which gives its
// TOML key ("server.port"), environment variable (ATREST_SERVER_PORT),
// flag (--server-port, and for the few a user guesses, a short spelling:
// --port, --data-dir, --domain) and the kind of value it takes. `atrest
// serve` with nothing set runs on the
// embedded defaults: SQLite and local files in ./atrest-data, the built-in
// vault and identity provider, HTTPS on 127.0.0.1:8443 for *.localhost.
#ifndef ATREST_APP_CONFIG_H_
#define ATREST_APP_CONFIG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "keys/vault_hosts.h"

namespace atrest::app {

struct Config {
  // [server]
  std::string data_dir = "atrest-data";
  std::string listen_address = "127.0.0.1";
  uint16_t port = 8443;
  std::string domain = "localhost";
  std::string tls_cert_file;  // Empty: generate a CA and certificate.
  std::string tls_key_file;
  int threads = 0;  // 0: one per core.
  int max_connections = 10000;
  std::string access_log = "-";  // "-" is standard output; "" disables.
  // 5xx responses and aborted streamed responses, with their request ids
  // (http/event_log.h). "-" is standard error.
  std::string error_log = "-";
  // /metrics without its bearer token (<data_dir>/metrics-token).
  bool metrics_public = false;
  // [crypto]
  bool fips = false;
  std::string fips_module_dir;
  // [limits]
  int64_t max_upload_bytes = int64_t{512} << 20;
  int request_timeout_seconds = 300;
  int header_timeout_seconds = 30;
  int idle_timeout_seconds = 75;
  // A streamed upload must keep this many bytes per second, measured over
  // windows of this many seconds of waiting for the client, or it is cut
  // off (http/body_rate.h). 0 disables.
  int64_t min_upload_rate = 4096;
  int min_upload_rate_window_seconds = 20;
  // File uploads in flight at once, per principal and per AI account.
  int max_uploads_per_principal = 8;
  int max_uploads_per_account = 16;
  // [identity]
  int token_lifetime_seconds = 3600;
  int clock_skew_seconds = 300;
  // [hsm]: the PKCS#11 token of RSA-HSM keys. An empty module means the
  // default: a SoftHSM2 token made under <data_dir>/hsm (docs/hsm.md).
  std::string hsm_module;
  std::string hsm_token_label = "atrest";
  std::string hsm_pin_file;  // For a user-supplied module: file with the PIN.
  // A user-supplied module that may wait (network HSM, USB token) must not
  // run on the I/O threads; SoftHSM2 computes in process and does.
  bool hsm_module_may_wait = true;
  // [vault]
  int vault_maintenance_seconds = 60;  // Purges and rotations run this often.
  // [accounts]: an unwrapped account key is trusted this long before the
  // key vault is asked again; every account with a customer-managed key is
  // rechecked this often (built-in vault changes act at once).
  int kek_recheck_seconds = 300;
  // The key vault suffixes (comma- or space-separated "host[:port]",
  // keys/vault_hosts.h) whose vaults accounts may use for customer-managed
  // keys, besides the built-in vault.<domain> at `port`; the identities'
  // tokens go nowhere else.
  std::string vault_suffixes = std::string(keys::kAzureVaultSuffixes);
  // [training]: fine-tuning jobs run this many at a time. An external
  // trainer (docs/trainer-protocol.md) is offered as the base model
  // `external_trainer_model` when `external_trainer_command` is set: the
  // program and its arguments, separated by spaces (no shell, no quoting).
  int max_concurrent_jobs = 1;
  std::string external_trainer_command;
  std::string external_trainer_model = "external-trainer-1";
  int external_trainer_timeout_seconds = 86400;
  // [testing]: never set in production. While a file exists at this path,
  // the data disk counts as full (env/full_disk.h); empty: off.
  std::string testing_full_disk_flag_file;
};

// One configurable setting, for the loader and for `atrest serve --help`.
struct SettingInfo {
  // kList: comma-separated text, or in TOML an array of strings.
  enum class Kind { kText, kList, kInteger, kBoolean };
  std::string toml_key;  // "server.port"
  std::string env_var;   // "ATREST_SERVER_PORT"
  std::string flag;      // "--server-port"
  std::string help;
  Kind kind = Kind::kText;
  int64_t min = 0;  // kInteger: the allowed range.
  int64_t max = 0;
  std::string alias;  // A short spelling accepted too ("--port"), or empty.
};
const std::vector<SettingInfo>& Settings();

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnvironment();

// Builds the configuration. `toml_path` may be empty (no file); a named file
// that does not exist is an error. `flags` maps flag names ("--server-port",
// or its alias "--port") to the values given on the command line. Each bad
// value is InvalidArgument naming where it came from and what is allowed.
Result<Config> LoadConfig(const std::string& toml_path, const EnvLookup& env,
                          const std::map<std::string, std::string>& flags);

}  // namespace atrest::app

#endif  // ATREST_APP_CONFIG_H_
