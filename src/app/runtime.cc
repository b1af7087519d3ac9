#include "app/runtime.h"

#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "accounts/account_keys.h"
#include "accounts/account_service.h"
#include "api/accounts_arm_api.h"
#include "api/keyvault_api.h"
#include "api/keyvault_arm_api.h"
#include "api/login_api.h"
#include "api/management_api.h"
#include "api/openai_api.h"
#include "api/services.h"
#include "api/system_api.h"
#include "app/metrics_token.h"
#include "blob/fs_blob_store.h"
#include "deploy/deployments.h"
#include "env/full_disk.h"
#include "files/file_service.h"
#include "finetune/fine_tuning.h"
#include "hsm/softhsm.h"
#include "http/concurrency_limiter.h"
#include "http/event_log.h"
#include "http/server.h"
#include "http/shutdown_signal.h"
#include "keys/root_key.h"
#include "keys/vault_hosts.h"
#include "store/sqlite_store.h"
#include "training/external_trainer.h"
#include "training/ngram_trainer.h"

namespace atrest::app {

// Everything the running server owns, in construction order (and so
// destroyed in the reverse: the server before the services it calls).
struct Runtime::Parts {
  Config config;
  std::ostream* log = nullptr;
  // The test-only full-disk switch (env/full_disk.h) wraps the real
  // filesystem, and SQLite's, when it is configured.
  std::optional<env::FullDiskSwitch> full_disk;
  std::optional<env::FullDiskFileSystem> full_disk_fs;
  std::optional<env::Env> test_env;
  env::Env* env = nullptr;
  std::optional<keys::RootKey> root;
  std::unique_ptr<store::SqliteStore> store;
  std::optional<keys::VaultHosts> vault_hosts;
  std::unique_ptr<identity::IdentityService> identity;
  std::unique_ptr<resources::ResourceManager> resources;
  std::unique_ptr<hsm::Token> hsm_token;
  http::MetricsRegistry metrics;
  vault::EventBus events;
  std::unique_ptr<vault::VaultService> vaults;
  http::TlsFiles tls;
  std::unique_ptr<accounts::AccountKeys> account_keys;
  std::unique_ptr<accounts::AccountService> accounts;
  std::unique_ptr<blob::FsBlobStore> blobs;
  std::unique_ptr<files::FileService> files;
  std::unique_ptr<finetune::FineTuning> fine_tuning;
  std::unique_ptr<deploy::Deployments> deployments;
  http::ConcurrencyLimiter uploads;
  std::unique_ptr<api::Services> services;
  BootstrapResult boot;
  std::unique_ptr<std::ofstream> access_log_file;
  std::unique_ptr<http::AccessLog> access_log;
  std::unique_ptr<std::ofstream> event_log_file;
  std::unique_ptr<http::EventLog> event_log;
  std::string metrics_token_path;
  MetricsToken metrics_token;
  http::Router router;
  std::unique_ptr<http::Server> server;
  // Scheduled purges and rotations (VaultService::RunMaintenance).
  std::mutex maintenance_mu;
  std::condition_variable maintenance_cv;
  bool stopping = false;  // Guarded by maintenance_mu.
  std::thread maintenance;

  std::string PortSuffix() const {
    return config.port == 443 ? "" : ":" + std::to_string(config.port);
  }
  std::string Authority() const {
    return "https://login." + config.domain + PortSuffix();
  }
};

namespace {

using Parts = Runtime::Parts;

// Below this much free space the data disk counts as full at start.
constexpr uint64_t kLowDiskBytes = uint64_t{16} << 20;

// Says in the log when the server starts on a (nearly) full data disk: it
// serves, but what needs space fails with 507 until space is freed.
void ReportDiskSpace(Parts& p) {
  Result<uint64_t> available = p.env->fs().AvailableBytes(p.config.data_dir);
  if (!available.ok() || *available >= kLowDiskBytes) return;
  *p.log << "atrest: the data disk is "
         << (*available == 0 ? "full" : "nearly full") << " (" << *available
         << " bytes free on the filesystem that holds " << p.config.data_dir
         << "): serving read-only in effect. Reads and downloads work; "
            "every change (uploads, keys, resources, audit records) is "
            "refused with 507 until space is freed there. Free space on "
            "that filesystem or grow it; no restart is needed.\n";
}

Status OpenStore(Parts& p) {
  env::Env& real_env = env::Env::Default();
  if (!p.config.testing_full_disk_flag_file.empty()) {
    p.full_disk.emplace(p.config.testing_full_disk_flag_file);
    p.full_disk_fs.emplace(real_env.fs(), *p.full_disk);
    p.test_env.emplace(real_env.clock(), real_env.random(), *p.full_disk_fs);
    *p.log << "atrest: TESTING ONLY: the data disk counts as full while "
           << p.full_disk->flag_path() << " exists\n";
  }
  p.env = p.test_env ? &*p.test_env : &real_env;
  const std::string& dir = p.config.data_dir;
  RETURN_IF_ERROR(p.env->fs().CreateDirs(dir).WithContext("data dir " + dir));
  ASSIGN_OR_RETURN(keys::RootKey root,
                   keys::RootKey::LoadOrCreate(p.env->fs(), dir + "/root.key"));
  p.root.emplace(std::move(root));
  store::SqliteStoreOptions options{.data_dir = dir};
  if (p.full_disk) {
    options.simulate_full_disk = [&p] { return p.full_disk->full(); };
  }
  ASSIGN_OR_RETURN(p.store, store::SqliteStore::Open(options));
  ReportDiskSpace(p);
  return Status::Ok();
}

// The identity provider, and the key vaults accounts may use: the only
// hosts and audiences an account identity's token is ever minted for.
Status MakeIdentity(Parts& p) {
  const Config& c = p.config;
  ASSIGN_OR_RETURN(std::vector<keys::VaultSuffix> suffixes,
                   keys::ParseVaultSuffixes(c.vault_suffixes));
  ASSIGN_OR_RETURN(
      keys::VaultHosts hosts,
      keys::VaultHosts::Create({.host = "vault." + c.domain, .port = c.port},
                               std::move(suffixes)));
  p.vault_hosts.emplace(std::move(hosts));
  ASSIGN_OR_RETURN(auto seal, p.root->DeriveAead("identity/signing-keys"));
  p.identity = std::make_unique<identity::IdentityService>(
      *p.store, *p.env, std::move(seal),
      identity::IdentityOptions{
          .authority = p.Authority(),
          .token_lifetime = std::chrono::seconds(c.token_lifetime_seconds),
          .clock_skew = std::chrono::seconds(c.clock_skew_seconds),
          .managed_identity_audiences = p.vault_hosts->Audiences()});
  p.resources = std::make_unique<resources::ResourceManager>(*p.store, *p.env);
  return Status::Ok();
}

// The token for RSA-HSM keys: the configured PKCS#11 module, or by default
// a SoftHSM2 token under the data dir; none (HSM keys refused) when SoftHSM2
// is not installed and no module is configured.
Result<std::unique_ptr<hsm::Token>> OpenHsm(Parts& p) {
  const Config& c = p.config;
  if (c.hsm_module.empty()) {
    if (!hsm::FindSoftHsmModule().ok()) {
      *p.log << "atrest: SoftHSM2 is not installed; RSA-HSM keys are "
                "disabled\n";
      return std::unique_ptr<hsm::Token>();
    }
    ASSIGN_OR_RETURN(
        hsm::TokenOptions options,
        hsm::PrepareSoftHsm(*p.env, c.data_dir + "/hsm", c.hsm_token_label));
    return hsm::Token::Open(options);
  }
  hsm::TokenOptions options{.module_path = c.hsm_module,
                            .token_label = c.hsm_token_label};
  if (!c.hsm_pin_file.empty()) {
    ASSIGN_OR_RETURN(Bytes pin, env::ReadFile(p.env->fs(), c.hsm_pin_file));
    while (!pin.empty() && (pin.back() == '\n' || pin.back() == '\r')) {
      pin.pop_back();
    }
    options.pin = crypto::SecretBytes::CopyFrom(pin);
    std::fill(pin.begin(), pin.end(), uint8_t{0});
  }
  return hsm::Token::Open(options);
}

Status MakeVaults(Parts& p) {
  ASSIGN_OR_RETURN(p.hsm_token, OpenHsm(p));
  ASSIGN_OR_RETURN(
      http::CounterFamily * ops,
      p.metrics.AddCounter("atrest_vault_operations_total",
                           "Key vault data-plane calls by operation and result",
                           {"operation", "result"}));
  ASSIGN_OR_RETURN(
      http::HistogramFamily * seconds,
      p.metrics.AddHistogram(
          "atrest_vault_operation_seconds",
          "Key vault data-plane call latency by operation", {"operation"},
          {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}));
  vault::VaultServiceOptions options;
  options.on_operation = [ops, seconds](std::string_view op,
                                        std::string_view result, double s) {
    ops->Inc({std::string(op), std::string(result)});
    seconds->Observe({std::string(op)}, s);
  };
  ASSIGN_OR_RETURN(p.vaults,
                   vault::VaultService::Create(*p.store, *p.env, *p.root,
                                               *p.resources, p.hsm_token.get(),
                                               p.events, std::move(options)));
  p.resources->AddGroupDeletionHook(
      [&p](const std::string& sub, const std::string& group) {
        return p.vaults->DeleteVaultsInGroup(sub, group);
      });
  return Status::Ok();
}

Status LoadTls(Parts& p) {
  const Config& c = p.config;
  if (c.tls_cert_file.empty()) {
    ASSIGN_OR_RETURN(p.tls,
                     http::EnsureTlsMaterial(*p.env, c.data_dir, c.domain));
  } else {
    ASSIGN_OR_RETURN(
        p.tls, http::UserTlsMaterial(*p.env, c.tls_cert_file, c.tls_key_file));
  }
  return Status::Ok();
}

// AI accounts and their files. Key vaults, the built-in one included, are
// reached over HTTPS as a client would: the built-in vault's names resolve
// to this server, whose certificate is checked against its own CA.
Status MakeAccounts(Parts& p) {
  const Config& c = p.config;
  accounts::AccountKeysOptions options;
  options.kek_recheck = std::chrono::seconds(c.kek_recheck_seconds);
  options.vault_hosts = *p.vault_hosts;
  if (!p.tls.ca_cert_path.empty()) {
    options.vault_https.ca_files.push_back(p.tls.ca_cert_path);
  }
  options.vault_https.connect_domain = c.domain;
  options.vault_https.connect_address =
      c.listen_address == "0.0.0.0" ? "127.0.0.1"
      : c.listen_address == "::"    ? "::1"
                                    : c.listen_address;
  options.vault_https.timeout = std::chrono::seconds(10);
  ASSIGN_OR_RETURN(p.account_keys,
                   accounts::AccountKeys::Create(
                       *p.store, *p.env, *p.root, *p.identity, p.vaults.get(),
                       &p.events, std::move(options)));
  ASSIGN_OR_RETURN(auto api_key_seal, p.root->DeriveAead("accounts/api-keys"));
  p.accounts = std::make_unique<accounts::AccountService>(
      *p.store, *p.env, std::move(api_key_seal), *p.identity, *p.resources,
      *p.account_keys);
  ASSIGN_OR_RETURN(p.blobs,
                   blob::FsBlobStore::Open(p.env->fs(), c.data_dir + "/blobs"));
  p.files = std::make_unique<files::FileService>(
      *p.store, *p.env, *p.blobs, *p.account_keys,
      files::FileServiceOptions{.max_file_bytes =
                                    static_cast<uint64_t>(c.max_upload_bytes)});
  ASSIGN_OR_RETURN(int swept, p.files->SweepOrphans());
  if (swept > 0) {
    *p.log << "atrest: removed " << swept
           << " blobs no file refers to (an interrupted upload or delete)\n";
  }
  return Status::Ok();
}

// The base models jobs may start from: the built-in trainer, and an
// external one if configured.
Result<std::vector<finetune::BaseModel>> Catalog(const Config& c) {
  std::vector<finetune::BaseModel> catalog = {
      {training::NgramTrainer::kBaseModel,
       "atrest's built-in chat model: a word n-gram model conditioned on the "
       "conversation, trained on the CPU",
       std::make_shared<training::NgramTrainer>()}};
  if (c.external_trainer_command.empty()) return catalog;
  training::ExternalTrainerOptions o;
  std::istringstream words(c.external_trainer_command);
  for (std::string w; words >> w;) o.argv.push_back(w);
  o.timeout = std::chrono::seconds(c.external_trainer_timeout_seconds);
  const std::string program = o.argv.empty() ? "" : o.argv.front();
  ASSIGN_OR_RETURN(std::unique_ptr<training::ExternalTrainer> external,
                   training::ExternalTrainer::Create(std::move(o)));
  catalog.push_back({c.external_trainer_model,
                     "an external trainer (" + program + ")",
                     std::move(external)});
  return catalog;
}

Status MakeTraining(Parts& p) {
  ASSIGN_OR_RETURN(std::vector<finetune::BaseModel> catalog, Catalog(p.config));
  p.fine_tuning = std::make_unique<finetune::FineTuning>(
      *p.store, *p.env, *p.files, *p.account_keys, std::move(catalog),
      finetune::FineTuningOptions{.max_concurrent_jobs =
                                      p.config.max_concurrent_jobs});
  p.deployments = std::make_unique<deploy::Deployments>(
      *p.store, *p.env, *p.files, *p.fine_tuning, *p.account_keys);
  p.deployments->Start();
  RETURN_IF_ERROR(p.fine_tuning->Start());
  p.accounts->SetOnDeleted([&p](const std::string& uid) {
    p.fine_tuning->CancelAccount(uid);
    p.deployments->ForgetAccount(uid);
    p.files->DeleteAccountBlobs(uid);
  });
  p.resources->AddGroupDeletionHook(
      [&p](const std::string& sub, const std::string& group) {
        return p.accounts->DeleteAccountsInGroup(sub, group);
      });
  return Status::Ok();
}

Status MakeServices(Parts& p) {
  const Config& c = p.config;
  p.services = std::make_unique<api::Services>(
      api::Services{.identity = *p.identity,
                    .resources = *p.resources,
                    .metrics = &p.metrics,
                    .vaults = p.vaults.get(),
                    .accounts = p.accounts.get(),
                    .files = p.files.get(),
                    .fine_tuning = p.fine_tuning.get(),
                    .deployments = p.deployments.get(),
                    .domain = c.domain,
                    .port = c.port,
                    .uploads = &p.uploads,
                    .max_uploads_per_principal =
                        static_cast<size_t>(c.max_uploads_per_principal),
                    .max_uploads_per_account =
                        static_cast<size_t>(c.max_uploads_per_account)});
  ASSIGN_OR_RETURN(
      p.boot, Bootstrap(*p.env, *p.store, *p.identity, *p.resources, c.data_dir,
                        p.services->Origin("management")));
  return Status::Ok();
}

// A log destination: "-" is `standard`, "" none, else a file appended to.
Result<std::ostream*> OpenLog(const std::string& where, std::ostream& standard,
                              std::unique_ptr<std::ofstream>& file,
                              const char* what) {
  if (where == "-") return &standard;
  if (where.empty()) return nullptr;
  file = std::make_unique<std::ofstream>(where, std::ios::app);
  if (!*file) {
    return InvalidArgumentError(std::string("cannot open ") + what + " " +
                                where);
  }
  return file.get();
}

Status OpenLogs(Parts& p) {
  const Config& c = p.config;
  ASSIGN_OR_RETURN(
      std::ostream * access,
      OpenLog(c.access_log, std::cout, p.access_log_file, "access log"));
  if (access) p.access_log = std::make_unique<http::AccessLog>(*access);
  // The event log (every 5xx, every aborted response) is never off.
  ASSIGN_OR_RETURN(std::ostream * events,
                   OpenLog(c.error_log.empty() ? "-" : c.error_log, std::cerr,
                           p.event_log_file, "error log"));
  p.event_log = std::make_unique<http::EventLog>(*events);
  // /metrics wants a bearer token unless the operator made it public.
  p.metrics_token_path = c.data_dir + "/metrics-token";
  if (!c.metrics_public) {
    ASSIGN_OR_RETURN(p.metrics_token, LoadOrCreateMetricsToken(
                                          p.env->fs(), p.metrics_token_path));
  }
  return Status::Ok();
}

Status RegisterRoutes(Parts& p) {
  const Config& c = p.config;
  http::Router& router = p.router;
  api::Services& s = *p.services;
  RETURN_IF_ERROR(api::RegisterLoginRoutes(router, s));
  RETURN_IF_ERROR(api::RegisterManagementRoutes(router, s));
  // The system surface also answers on the address `serve` prints.
  RETURN_IF_ERROR(api::RegisterSystemRoutes(
      router, s,
      {.metrics_token = p.metrics_token.token,
       .extra_hosts = {c.listen_address, "127.0.0.1", "::1"}}));
  RETURN_IF_ERROR(api::RegisterKeyVaultDataRoutes(
      router, s,
      {.key_operations_on_io_threads =
           c.hsm_module.empty() || !c.hsm_module_may_wait}));
  RETURN_IF_ERROR(api::RegisterKeyVaultManagementRoutes(router, s));
  RETURN_IF_ERROR(api::RegisterAccountManagementRoutes(router, s));
  return api::RegisterOpenAiRoutes(router, s);
}

Status MakeServer(Parts& p) {
  const Config& c = p.config;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  http::ServerOptions options{
      .address = c.listen_address,
      .port = c.port,
      .io_threads = c.threads > 0 ? c.threads : std::max(1, cores),
      .max_connections = static_cast<size_t>(c.max_connections),
      .header_timeout = std::chrono::seconds(c.header_timeout_seconds),
      .body_timeout = std::chrono::seconds(c.request_timeout_seconds),
      .idle_timeout = std::chrono::seconds(c.idle_timeout_seconds),
      .min_body_rate = static_cast<uint64_t>(c.min_upload_rate),
      .min_body_rate_window =
          std::chrono::seconds(c.min_upload_rate_window_seconds)};
  ASSIGN_OR_RETURN(
      p.server,
      http::Server::Create(options, p.router, p.tls, *p.env, p.access_log.get(),
                           &p.metrics, p.event_log.get()));
  return Status::Ok();
}

void MaintenanceLoop(Parts& p) {
  std::unique_lock lock(p.maintenance_mu);
  while (!p.maintenance_cv.wait_for(
      lock, std::chrono::seconds(p.config.vault_maintenance_seconds),
      [&] { return p.stopping; })) {
    lock.unlock();
    Result<int> done = p.vaults->RunMaintenance();
    if (!done.ok()) {
      std::cerr << "atrest: vault maintenance: " << done.status().message()
                << "\n";
    }
    lock.lock();
  }
}

}  // namespace

Result<std::unique_ptr<Runtime>> Runtime::Create(const Config& config,
                                                 std::ostream& log) {
  auto p = std::make_unique<Parts>();
  p->config = config;
  p->log = &log;
  for (Status (*step)(Parts&) :
       {OpenStore, MakeIdentity, MakeVaults, LoadTls, MakeAccounts,
        MakeTraining, MakeServices, OpenLogs, RegisterRoutes, MakeServer}) {
    RETURN_IF_ERROR(step(*p));
  }
  return std::unique_ptr<Runtime>(new Runtime(std::move(p)));
}

Runtime::Runtime(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Runtime::~Runtime() { Stop(std::chrono::milliseconds(0)); }

Status Runtime::Start() {
  RETURN_IF_ERROR(parts_->server->Start());
  parts_->maintenance =
      std::thread([p = parts_.get()] { MaintenanceLoop(*p); });
  return Status::Ok();
}

void Runtime::Stop(std::chrono::milliseconds grace) {
  parts_->server->Stop(grace);
  {
    std::lock_guard lock(parts_->maintenance_mu);
    parts_->stopping = true;
  }
  parts_->maintenance_cv.notify_all();
  if (parts_->maintenance.joinable()) parts_->maintenance.join();
}

int Runtime::RunUntilShutdownSignal(std::chrono::milliseconds grace) {
  const int sig = http::WaitForShutdownSignal();
  Stop(grace);
  return sig;
}

uint16_t Runtime::port() const { return parts_->server->port(); }
const http::Router& Runtime::router() const { return parts_->router; }
api::Services& Runtime::services() { return *parts_->services; }
const BootstrapResult& Runtime::bootstrap() const { return parts_->boot; }
const std::string& Runtime::ca_cert_path() const {
  return parts_->tls.ca_cert_path;
}

void Runtime::PrintEndpoints(std::ostream& out) const {
  const Parts& p = *parts_;
  const Config& c = p.config;
  const bool v6 = c.listen_address.find(':') != std::string::npos;
  out << "atrest is serving on https://" << (v6 ? "[" : "") << c.listen_address
      << (v6 ? "]" : "") << ":" << port() << "\n"
      << "  identity     " << p.Authority() << "/<tenant>/v2.0\n"
      << "  management   " << p.services->Origin("management") << "\n"
      << "  key vaults   https://<vault>.vault." << c.domain << p.PortSuffix()
      << "\n"
      << "  AI accounts  https://<account>.openai." << c.domain
      << p.PortSuffix() << "\n"
      << "  health       " << p.services->Origin("") << "/healthz\n";
  if (!p.tls.ca_cert_path.empty()) {
    out << "CA certificate: " << p.tls.ca_cert_path
        << "  (NODE_EXTRA_CA_CERTS / REQUESTS_CA_BUNDLE)\n";
  }
  out << "metrics token: "
      << (c.metrics_public
              ? std::string("none, /metrics is public")
              : p.metrics_token_path +
                    (p.metrics_token.created ? " (created now)" : ""))
      << "\n";
  out << "administrator credentials: " << p.boot.credentials_path
      << (p.boot.created ? " (created now)" : "") << "\n";
  out.flush();
}

}  // namespace atrest::app
