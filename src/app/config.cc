#include "app/config.h"

#include <toml++/toml.h>

#include <charconv>
#include <cstdlib>
#include <limits>

namespace atrest::app {
namespace {

// How a setting is parsed from text and stored in Config.
struct Setting {
  SettingInfo info;
  std::function<Status(Config&, const std::string&)> set;
};

// A setter with the kind of value it takes (for --help and flag parsing).
struct Field {
  std::function<Status(Config&, const std::string&)> set;
  SettingInfo::Kind kind = SettingInfo::Kind::kText;
  int64_t min = 0;
  int64_t max = 0;
};

template <typename Int>
Field IntField(Int Config::*field, int64_t min, int64_t max) {
  auto set = [=](Config& c, const std::string& text) -> Status {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < min ||
        v > max) {
      return InvalidArgumentError("must be an integer from " +
                                  std::to_string(min) + " to " +
                                  std::to_string(max));
    }
    c.*field = static_cast<Int>(v);
    return Status::Ok();
  };
  return {set, SettingInfo::Kind::kInteger, min, max};
}

Field StringField(std::string Config::*field) {
  return {[=](Config& c, const std::string& text) {
    c.*field = text;
    return Status::Ok();
  }};
}

// A list of key vault suffixes, checked as the server will read it.
Field VaultSuffixesField(std::string Config::*field) {
  return {[=](Config& c, const std::string& text) -> Status {
            RETURN_IF_ERROR(keys::ParseVaultSuffixes(text).status());
            c.*field = text;
            return Status::Ok();
          },
          SettingInfo::Kind::kList};
}

Field BoolField(bool Config::*field) {
  auto set = [=](Config& c, const std::string& text) -> Status {
    if (text == "true" || text == "1" || text == "yes") {
      c.*field = true;
    } else if (text == "false" || text == "0" || text == "no") {
      c.*field = false;
    } else {
      return InvalidArgumentError("must be true or false");
    }
    return Status::Ok();
  };
  return {set, SettingInfo::Kind::kBoolean};
}

// The short spellings users guess for the settings they set most.
std::string AliasOf(std::string_view toml_key) {
  if (toml_key == "server.data_dir") return "--data-dir";
  if (toml_key == "server.port") return "--port";
  if (toml_key == "server.domain") return "--domain";
  return "";
}

Setting Make(std::string toml_key, std::string help, Field field) {
  std::string env = "ATREST_";
  std::string flag = "--";
  for (char ch : toml_key) {
    env += ch == '.' ? '_' : static_cast<char>(std::toupper(ch));
    flag += (ch == '.' || ch == '_') ? '-' : ch;
  }
  std::string alias = AliasOf(toml_key);
  return {{.toml_key = toml_key,
           .env_var = env,
           .flag = flag,
           .help = std::move(help),
           .kind = field.kind,
           .min = field.min,
           .max = field.max,
           .alias = std::move(alias)},
          std::move(field.set)};
}

const std::vector<Setting>& Table() {
  static const std::vector<Setting> table = {
      Make("server.data_dir", "where metadata, blobs and keys are kept",
           StringField(&Config::data_dir)),
      Make("server.listen_address", "address to listen on",
           StringField(&Config::listen_address)),
      Make("server.port", "HTTPS port", IntField(&Config::port, 0, 65535)),
      Make("server.domain", "DNS domain of the endpoints",
           StringField(&Config::domain)),
      Make("server.tls_cert_file", "PEM certificate chain (default: generated)",
           StringField(&Config::tls_cert_file)),
      Make("server.tls_key_file", "PEM private key of the certificate",
           StringField(&Config::tls_key_file)),
      Make("server.threads", "worker threads (0: one per core)",
           IntField(&Config::threads, 0, 256)),
      Make("server.max_connections", "open connections at most",
           IntField(&Config::max_connections, 1, 1000000)),
      Make("server.access_log", "JSON-lines access log file ('-': stdout)",
           StringField(&Config::access_log)),
      Make("server.error_log",
           "JSON-lines log of 5xx responses and aborted downloads, with "
           "request ids ('-': stderr)",
           StringField(&Config::error_log)),
      Make("server.metrics_public",
           "serve /metrics without the bearer token in "
           "<data_dir>/metrics-token",
           BoolField(&Config::metrics_public)),
      Make("crypto.fips", "use only OpenSSL's FIPS provider",
           BoolField(&Config::fips)),
      Make("crypto.fips_module_dir", "directory holding fips.so",
           StringField(&Config::fips_module_dir)),
      Make("limits.max_upload_bytes", "largest file upload",
           IntField(&Config::max_upload_bytes, 1,
                    std::numeric_limits<int64_t>::max())),
      Make("limits.request_timeout_seconds", "longest request",
           IntField(&Config::request_timeout_seconds, 1, 86400)),
      Make("limits.header_timeout_seconds",
           "longest wait for a request's line and headers",
           IntField(&Config::header_timeout_seconds, 1, 3600)),
      Make("limits.idle_timeout_seconds", "keep-alive idle time",
           IntField(&Config::idle_timeout_seconds, 1, 3600)),
      Make("limits.min_upload_rate",
           "slowest an upload may arrive, in bytes/s (0: no minimum)",
           IntField(&Config::min_upload_rate, 0, int64_t{1} << 30)),
      Make("limits.min_upload_rate_window_seconds",
           "seconds over which limits.min_upload_rate is measured",
           IntField(&Config::min_upload_rate_window_seconds, 1, 3600)),
      Make("limits.max_uploads_per_principal",
           "file uploads one principal (or one account's API keys) may "
           "have in flight",
           IntField(&Config::max_uploads_per_principal, 1, 100000)),
      Make("limits.max_uploads_per_account",
           "file uploads one AI account may have in flight",
           IntField(&Config::max_uploads_per_account, 1, 100000)),
      Make("identity.token_lifetime_seconds", "lifetime of issued tokens",
           IntField(&Config::token_lifetime_seconds, 1, 86400)),
      Make("identity.clock_skew_seconds",
           "clock skew allowed when checking token times",
           IntField(&Config::clock_skew_seconds, 0, 3600)),
      Make("hsm.module",
           "PKCS#11 module for RSA-HSM keys (default: SoftHSM2 in data dir)",
           StringField(&Config::hsm_module)),
      Make("hsm.token_label", "label of the PKCS#11 token",
           StringField(&Config::hsm_token_label)),
      Make("hsm.pin_file", "file holding the token's user PIN",
           StringField(&Config::hsm_pin_file)),
      Make("hsm.module_may_wait",
           "the module may wait on a device or network: run key operations "
           "on the handler pool (ignored for the default SoftHSM2)",
           BoolField(&Config::hsm_module_may_wait)),
      Make("vault.maintenance_seconds",
           "how often scheduled purges and key rotations run",
           IntField(&Config::vault_maintenance_seconds, 1, 86400)),
      Make("accounts.kek_recheck_seconds",
           "how long an account key unwrapped by a customer-managed key is "
           "used before the key vault is asked again",
           IntField(&Config::kek_recheck_seconds, 1, 86400)),
      Make("accounts.vault_suffixes",
           "key vault suffixes (host[:port], comma-separated) whose vaults "
           "may hold customer-managed keys, besides the built-in vault",
           VaultSuffixesField(&Config::vault_suffixes)),
      Make("training.max_concurrent_jobs",
           "fine-tuning jobs that run at the same time",
           IntField(&Config::max_concurrent_jobs, 1, 64)),
      Make("training.external_trainer_command",
           "program and arguments (space-separated) of an external trainer; "
           "empty: none",
           StringField(&Config::external_trainer_command)),
      Make("training.external_trainer_model",
           "base model id under which the external trainer is offered",
           StringField(&Config::external_trainer_model)),
      Make("training.external_trainer_timeout_seconds",
           "longest an external trainer may run one job",
           IntField(&Config::external_trainer_timeout_seconds, 1, 2592000)),
      Make("testing.full_disk_flag_file",
           "TESTING ONLY: while this file exists the data disk counts as "
           "full; empty: off",
           StringField(&Config::testing_full_disk_flag_file)),
  };
  return table;
}

// The TOML value at a dotted key as text, or nullopt when absent. A list
// setting may be an array of strings, joined with commas.
Result<std::optional<std::string>> TomlText(const toml::table& doc,
                                            const SettingInfo& setting) {
  const std::string& key = setting.toml_key;
  toml::node_view<const toml::node> node = doc.at_path(key);
  if (!node) return std::optional<std::string>();
  if (auto s = node.value<std::string>(); s && node.is_string()) return s;
  if (auto b = node.value<bool>(); b && node.is_boolean()) {
    return std::optional<std::string>(*b ? "true" : "false");
  }
  if (auto i = node.value<int64_t>(); i && node.is_integer()) {
    return std::optional<std::string>(std::to_string(*i));
  }
  if (const toml::array* a = node.as_array();
      a != nullptr && setting.kind == SettingInfo::Kind::kList) {
    std::string joined;
    for (const toml::node& e : *a) {
      std::optional<std::string> item = e.value<std::string>();
      if (!item || !e.is_string()) {
        return InvalidArgumentError(key + " must be an array of strings");
      }
      joined += (joined.empty() ? "" : ",") + *item;
    }
    return std::optional<std::string>(joined);
  }
  return InvalidArgumentError(key + " has an unsupported type");
}

}  // namespace

const std::vector<SettingInfo>& Settings() {
  static const std::vector<SettingInfo> infos = [] {
    std::vector<SettingInfo> v;
    for (const Setting& s : Table()) v.push_back(s.info);
    return v;
  }();
  return infos;
}

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<Config> LoadConfig(const std::string& toml_path, const EnvLookup& env,
                          const std::map<std::string, std::string>& flags) {
  Config config;
  std::optional<toml::table> doc;
  if (!toml_path.empty()) {
    // toml++ reports parse errors by exception when the compiler has them;
    // turn the exception into a Status here, at the library boundary.
    try {
      doc = toml::parse_file(toml_path);
    } catch (const toml::parse_error& err) {
      return InvalidArgumentError(
          "config file " + toml_path + ": " + std::string(err.description()) +
          " (line " + std::to_string(err.source().begin.line) + ")");
    }
  }
  for (const Setting& s : Table()) {
    if (doc) {
      Result<std::optional<std::string>> v = TomlText(*doc, s.info);
      if (!v.ok()) return v.status().WithContext("config file " + toml_path);
      if (*v) {
        RETURN_IF_ERROR(s.set(config, **v)
                            .WithContext("config file " + toml_path + ": " +
                                         s.info.toml_key));
      }
    }
    if (std::optional<std::string> v = env(s.info.env_var)) {
      RETURN_IF_ERROR(s.set(config, *v).WithContext(s.info.env_var));
    }
    if (auto it = flags.find(s.info.flag); it != flags.end()) {
      RETURN_IF_ERROR(s.set(config, it->second).WithContext(s.info.flag));
    } else if (it = flags.find(s.info.alias);
               !s.info.alias.empty() && it != flags.end()) {
      RETURN_IF_ERROR(s.set(config, it->second).WithContext(s.info.alias));
    }
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return InvalidArgumentError(
        "server.tls_cert_file and server.tls_key_file go together: set both "
        "or neither");
  }
  return config;
}

}  // namespace atrest::app
