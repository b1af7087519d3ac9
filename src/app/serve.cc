#include "app/serve.h"

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
#include "api/system_api.h"
#include "app/bootstrap.h"
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
namespace {

// Everything the running server owns, in construction order.
struct Runtime {
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<identity::IdentityService> identity;
  std::unique_ptr<resources::ResourceManager> resources;
  std::unique_ptr<hsm::Token> hsm_token;
  vault::EventBus events;
  std::unique_ptr<vault::VaultService> vaults;
  std::unique_ptr<blob::FsBlobStore> blobs;
  std::unique_ptr<accounts::AccountKeys> account_keys;
  std::unique_ptr<accounts::AccountService> accounts;
  std::unique_ptr<files::FileService> files;
  std::unique_ptr<finetune::FineTuning> fine_tuning;
  std::unique_ptr<deploy::Deployments> deployments;
  http::MetricsRegistry metrics;
  std::unique_ptr<std::ofstream> log_file;
  std::unique_ptr<http::AccessLog> access_log;
  std::unique_ptr<std::ofstream> error_log_file;
  std::unique_ptr<http::EventLog> event_log;
  http::ConcurrencyLimiter uploads;
  std::unique_ptr<api::Services> services;
  http::Router router;
};

// Below this much free space the data disk counts as full at start.
constexpr uint64_t kLowDiskBytes = uint64_t{16} << 20;

// Says in the log when the server starts on a (nearly) full data disk: it
// serves, but what needs space fails with 507 until space is freed.
void ReportDiskSpace(env::FileSystem& fs, const std::string& dir) {
  Result<uint64_t> available = fs.AvailableBytes(dir);
  if (!available.ok() || *available >= kLowDiskBytes) return;
  std::cerr << "atrest: the data disk is "
            << (*available == 0 ? "full" : "nearly full") << " (" << *available
            << " bytes free on the filesystem that holds " << dir
            << "): serving read-only in effect. Reads and downloads work; "
               "every change (uploads, keys, resources, audit records) is "
               "refused with 507 until space is freed there. Free space on "
               "that filesystem or grow it; no restart is needed.\n";
}

// The token for RSA-HSM keys: the configured PKCS#11 module, or by default
// a SoftHSM2 token under the data dir; none (HSM keys refused) when SoftHSM2
// is not installed and no module is configured.
Result<std::unique_ptr<hsm::Token>> OpenHsm(const Config& config,
                                            env::Env& env) {
  if (config.hsm_module.empty()) {
    if (!hsm::FindSoftHsmModule().ok()) {
      std::cerr << "atrest: SoftHSM2 is not installed; RSA-HSM keys are "
                   "disabled\n";
      return std::unique_ptr<hsm::Token>();
    }
    ASSIGN_OR_RETURN(hsm::TokenOptions options,
                     hsm::PrepareSoftHsm(env, config.data_dir + "/hsm",
                                         config.hsm_token_label));
    return hsm::Token::Open(options);
  }
  hsm::TokenOptions options{.module_path = config.hsm_module,
                            .token_label = config.hsm_token_label};
  if (!config.hsm_pin_file.empty()) {
    ASSIGN_OR_RETURN(Bytes pin, env::ReadFile(env.fs(), config.hsm_pin_file));
    while (!pin.empty() && (pin.back() == '\n' || pin.back() == '\r')) {
      pin.pop_back();
    }
    options.pin = crypto::SecretBytes::CopyFrom(pin);
    std::fill(pin.begin(), pin.end(), uint8_t{0});
  }
  return hsm::Token::Open(options);
}

Status Run(const Config& config, std::ostream& out) {
  // The test-only full-disk switch (env/full_disk.h) wraps the real
  // filesystem, and SQLite's, when it is configured.
  env::Env& real_env = env::Env::Default();
  std::optional<env::FullDiskSwitch> full_disk;
  std::optional<env::FullDiskFileSystem> full_disk_fs;
  std::optional<env::Env> test_env;
  if (!config.testing_full_disk_flag_file.empty()) {
    full_disk.emplace(config.testing_full_disk_flag_file);
    full_disk_fs.emplace(real_env.fs(), *full_disk);
    test_env.emplace(real_env.clock(), real_env.random(), *full_disk_fs);
    std::cerr << "atrest: TESTING ONLY: the data disk counts as full while "
              << full_disk->flag_path() << " exists\n";
  }
  env::Env& env = test_env ? *test_env : real_env;
  const std::string& dir = config.data_dir;
  RETURN_IF_ERROR(env.fs().CreateDirs(dir).WithContext("data dir " + dir));
  ASSIGN_OR_RETURN(keys::RootKey root,
                   keys::RootKey::LoadOrCreate(env.fs(), dir + "/root.key"));
  Runtime rt;
  store::SqliteStoreOptions store_options{.data_dir = dir};
  if (full_disk) {
    store_options.simulate_full_disk = [&full_disk] {
      return full_disk->full();
    };
  }
  ASSIGN_OR_RETURN(rt.store, store::SqliteStore::Open(store_options));
  ReportDiskSpace(env.fs(), dir);

  const std::string port_suffix =
      config.port == 443 ? "" : ":" + std::to_string(config.port);
  const std::string authority = "https://login." + config.domain + port_suffix;
  // The key vaults accounts may use, and so the only hosts and audiences an
  // account identity's token is ever minted for.
  ASSIGN_OR_RETURN(std::vector<keys::VaultSuffix> vault_suffixes,
                   keys::ParseVaultSuffixes(config.vault_suffixes));
  ASSIGN_OR_RETURN(keys::VaultHosts vault_hosts,
                   keys::VaultHosts::Create(
                       {.host = "vault." + config.domain, .port = config.port},
                       std::move(vault_suffixes)));
  ASSIGN_OR_RETURN(auto seal, root.DeriveAead("identity/signing-keys"));
  rt.identity = std::make_unique<identity::IdentityService>(
      *rt.store, env, std::move(seal),
      identity::IdentityOptions{
          .authority = authority,
          .token_lifetime = std::chrono::seconds(config.token_lifetime_seconds),
          .clock_skew = std::chrono::seconds(config.clock_skew_seconds),
          .managed_identity_audiences = vault_hosts.Audiences()});
  rt.resources = std::make_unique<resources::ResourceManager>(*rt.store, env);
  ASSIGN_OR_RETURN(rt.hsm_token, OpenHsm(config, env));
  ASSIGN_OR_RETURN(http::CounterFamily * vault_ops,
                   rt.metrics.AddCounter(
                       "atrest_vault_operations_total",
                       "Key vault data-plane calls by operation and result",
                       {"operation", "result"}));
  ASSIGN_OR_RETURN(
      http::HistogramFamily * vault_seconds,
      rt.metrics.AddHistogram(
          "atrest_vault_operation_seconds",
          "Key vault data-plane call latency by operation", {"operation"},
          {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}));
  vault::VaultServiceOptions vault_options;
  vault_options.on_operation = [vault_ops, vault_seconds](
                                   std::string_view op, std::string_view result,
                                   double seconds) {
    vault_ops->Inc({std::string(op), std::string(result)});
    vault_seconds->Observe({std::string(op)}, seconds);
  };
  ASSIGN_OR_RETURN(rt.vaults,
                   vault::VaultService::Create(
                       *rt.store, env, root, *rt.resources, rt.hsm_token.get(),
                       rt.events, std::move(vault_options)));
  rt.resources->AddGroupDeletionHook(
      [&rt](const std::string& sub, const std::string& group) {
        return rt.vaults->DeleteVaultsInGroup(sub, group);
      });
  http::TlsFiles tls;
  if (config.tls_cert_file.empty()) {
    ASSIGN_OR_RETURN(tls, http::EnsureTlsMaterial(env, dir, config.domain));
  } else {
    ASSIGN_OR_RETURN(tls, http::UserTlsMaterial(env, config.tls_cert_file,
                                                config.tls_key_file));
  }

  // AI accounts. Key vaults, the built-in one included, are reached over
  // HTTPS as a client would: the built-in vault's names resolve to this
  // server, whose certificate is checked against its own CA.
  accounts::AccountKeysOptions key_options;
  key_options.kek_recheck = std::chrono::seconds(config.kek_recheck_seconds);
  key_options.vault_hosts = vault_hosts;
  if (!tls.ca_cert_path.empty()) {
    key_options.vault_https.ca_files.push_back(tls.ca_cert_path);
  }
  key_options.vault_https.connect_domain = config.domain;
  key_options.vault_https.connect_address =
      config.listen_address == "0.0.0.0" ? "127.0.0.1"
      : config.listen_address == "::"    ? "::1"
                                         : config.listen_address;
  key_options.vault_https.timeout = std::chrono::seconds(10);
  ASSIGN_OR_RETURN(rt.account_keys,
                   accounts::AccountKeys::Create(
                       *rt.store, env, root, *rt.identity, rt.vaults.get(),
                       &rt.events, std::move(key_options)));
  ASSIGN_OR_RETURN(auto api_key_seal, root.DeriveAead("accounts/api-keys"));
  rt.accounts = std::make_unique<accounts::AccountService>(
      *rt.store, env, std::move(api_key_seal), *rt.identity, *rt.resources,
      *rt.account_keys);
  ASSIGN_OR_RETURN(rt.blobs, blob::FsBlobStore::Open(env.fs(), dir + "/blobs"));
  rt.files = std::make_unique<files::FileService>(
      *rt.store, env, *rt.blobs, *rt.account_keys,
      files::FileServiceOptions{
          .max_file_bytes = static_cast<uint64_t>(config.max_upload_bytes)});
  ASSIGN_OR_RETURN(int swept, rt.files->SweepOrphans());
  if (swept > 0) {
    std::cerr << "atrest: removed " << swept
              << " blobs no file refers to (an interrupted upload or "
                 "delete)\n";
  }
  // Fine-tuning: the built-in trainer, and an external one if configured.
  std::vector<finetune::BaseModel> catalog = {
      {training::NgramTrainer::kBaseModel,
       "atrest's built-in chat model: a word n-gram model conditioned on the "
       "conversation, trained on the CPU",
       std::make_shared<training::NgramTrainer>()}};
  if (!config.external_trainer_command.empty()) {
    training::ExternalTrainerOptions o;
    std::istringstream words(config.external_trainer_command);
    for (std::string w; words >> w;) o.argv.push_back(w);
    o.timeout = std::chrono::seconds(config.external_trainer_timeout_seconds);
    const std::string program = o.argv.empty() ? "" : o.argv.front();
    ASSIGN_OR_RETURN(std::unique_ptr<training::ExternalTrainer> external,
                     training::ExternalTrainer::Create(std::move(o)));
    catalog.push_back({config.external_trainer_model,
                       "an external trainer (" + program + ")",
                       std::move(external)});
  }
  rt.fine_tuning = std::make_unique<finetune::FineTuning>(
      *rt.store, env, *rt.files, *rt.account_keys, std::move(catalog),
      finetune::FineTuningOptions{.max_concurrent_jobs =
                                      config.max_concurrent_jobs});
  rt.deployments = std::make_unique<deploy::Deployments>(
      *rt.store, env, *rt.files, *rt.fine_tuning, *rt.account_keys);
  rt.deployments->Start();
  RETURN_IF_ERROR(rt.fine_tuning->Start());
  rt.accounts->SetOnDeleted([&rt](const std::string& uid) {
    rt.fine_tuning->CancelAccount(uid);
    rt.deployments->ForgetAccount(uid);
    rt.files->DeleteAccountBlobs(uid);
  });
  rt.resources->AddGroupDeletionHook(
      [&rt](const std::string& sub, const std::string& group) {
        return rt.accounts->DeleteAccountsInGroup(sub, group);
      });

  rt.services = std::make_unique<api::Services>(
      api::Services{.identity = *rt.identity,
                    .resources = *rt.resources,
                    .metrics = &rt.metrics,
                    .vaults = rt.vaults.get(),
                    .accounts = rt.accounts.get(),
                    .files = rt.files.get(),
                    .fine_tuning = rt.fine_tuning.get(),
                    .deployments = rt.deployments.get(),
                    .domain = config.domain,
                    .port = config.port,
                    .uploads = &rt.uploads,
                    .max_uploads_per_principal =
                        static_cast<size_t>(config.max_uploads_per_principal),
                    .max_uploads_per_account =
                        static_cast<size_t>(config.max_uploads_per_account)});

  ASSIGN_OR_RETURN(BootstrapResult boot,
                   Bootstrap(env, *rt.store, *rt.identity, *rt.resources, dir,
                             rt.services->Origin("management")));

  if (config.access_log == "-") {
    rt.access_log = std::make_unique<http::AccessLog>(std::cout);
  } else if (!config.access_log.empty()) {
    rt.log_file =
        std::make_unique<std::ofstream>(config.access_log, std::ios::app);
    if (!*rt.log_file) {
      return InvalidArgumentError("cannot open access log " +
                                  config.access_log);
    }
    rt.access_log = std::make_unique<http::AccessLog>(*rt.log_file);
  }

  if (config.error_log == "-") {
    rt.event_log = std::make_unique<http::EventLog>(std::cerr);
  } else {
    rt.error_log_file =
        std::make_unique<std::ofstream>(config.error_log, std::ios::app);
    if (!*rt.error_log_file) {
      return InvalidArgumentError("cannot open error log " + config.error_log);
    }
    rt.event_log = std::make_unique<http::EventLog>(*rt.error_log_file);
  }
  // /metrics wants a bearer token unless the operator made it public.
  const std::string metrics_token_path = dir + "/metrics-token";
  MetricsToken metrics_token;
  if (!config.metrics_public) {
    ASSIGN_OR_RETURN(metrics_token,
                     LoadOrCreateMetricsToken(env.fs(), metrics_token_path));
  }

  RETURN_IF_ERROR(api::RegisterLoginRoutes(rt.router, *rt.services));
  RETURN_IF_ERROR(api::RegisterManagementRoutes(rt.router, *rt.services));
  // The system surface also answers on the address printed below.
  RETURN_IF_ERROR(api::RegisterSystemRoutes(
      rt.router, *rt.services,
      {.metrics_token = metrics_token.token,
       .extra_hosts = {config.listen_address, "127.0.0.1", "::1"}}));
  RETURN_IF_ERROR(api::RegisterKeyVaultDataRoutes(
      rt.router, *rt.services,
      {.key_operations_on_io_threads =
           config.hsm_module.empty() || !config.hsm_module_may_wait}));
  RETURN_IF_ERROR(
      api::RegisterKeyVaultManagementRoutes(rt.router, *rt.services));
  RETURN_IF_ERROR(
      api::RegisterAccountManagementRoutes(rt.router, *rt.services));
  RETURN_IF_ERROR(api::RegisterOpenAiRoutes(rt.router, *rt.services));

  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  http::ServerOptions options{
      .address = config.listen_address,
      .port = config.port,
      .io_threads = config.threads > 0 ? config.threads : std::max(1, cores),
      .max_connections = static_cast<size_t>(config.max_connections),
      .header_timeout = std::chrono::seconds(config.header_timeout_seconds),
      .body_timeout = std::chrono::seconds(config.request_timeout_seconds),
      .idle_timeout = std::chrono::seconds(config.idle_timeout_seconds),
      .min_body_rate = static_cast<uint64_t>(config.min_upload_rate),
      .min_body_rate_window =
          std::chrono::seconds(config.min_upload_rate_window_seconds)};
  ASSIGN_OR_RETURN(
      auto server,
      http::Server::Create(options, rt.router, tls, env, rt.access_log.get(),
                           &rt.metrics, rt.event_log.get()));
  RETURN_IF_ERROR(server->Start());

  const bool v6 = config.listen_address.find(':') != std::string::npos;
  out << "atrest is serving on https://" << (v6 ? "[" : "")
      << config.listen_address << (v6 ? "]" : "") << ":" << server->port()
      << "\n"
      << "  identity     " << authority << "/<tenant>/v2.0\n"
      << "  management   " << rt.services->Origin("management") << "\n"
      << "  key vaults   https://<vault>.vault." << config.domain << port_suffix
      << "\n"
      << "  AI accounts  https://<account>.openai." << config.domain
      << port_suffix << "\n"
      << "  health       " << rt.services->Origin("") << "/healthz\n";
  if (!tls.ca_cert_path.empty()) {
    out << "CA certificate: " << tls.ca_cert_path
        << "  (NODE_EXTRA_CA_CERTS / REQUESTS_CA_BUNDLE)\n";
  }
  out << "metrics token: "
      << (config.metrics_public
              ? std::string("none, /metrics is public")
              : metrics_token_path +
                    (metrics_token.created ? " (created now)" : ""))
      << "\n";
  out << "administrator credentials: " << boot.credentials_path
      << (boot.created ? " (created now)" : "") << "\n";
  out.flush();

  // Scheduled purges and rotations (VaultService::RunMaintenance).
  std::mutex maintenance_mu;
  std::condition_variable maintenance_cv;
  bool stopping = false;
  std::thread maintenance([&] {
    std::unique_lock lock(maintenance_mu);
    while (!maintenance_cv.wait_for(
        lock, std::chrono::seconds(config.vault_maintenance_seconds),
        [&] { return stopping; })) {
      lock.unlock();
      Result<int> done = rt.vaults->RunMaintenance();
      if (!done.ok()) {
        std::cerr << "atrest: vault maintenance: " << done.status().message()
                  << "\n";
      }
      lock.lock();
    }
  });

  int sig = http::RunUntilShutdownSignal(*server, std::chrono::seconds(10));
  {
    std::lock_guard lock(maintenance_mu);
    stopping = true;
  }
  maintenance_cv.notify_all();
  maintenance.join();
  out << "atrest stopped (signal " << sig << ")\n";
  return Status::Ok();
}

}  // namespace

int Serve(const Config& config, std::ostream& out, std::ostream& err) {
  Status s = Run(config, out);
  if (!s.ok()) {
    err << "atrest: " << s.message() << "\n";
    if (s.code() == StatusCode::kInsufficientStorage) {
      err << "atrest: the data disk is full and this start must write "
             "first (a first start, or state that does not exist yet); "
             "free space on the filesystem that holds "
          << config.data_dir << " and start again\n";
    }
    return 1;
  }
  return 0;
}

}  // namespace atrest::app
