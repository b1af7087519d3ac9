// The atrest executable: the server (`atrest serve`) and administration
// commands.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <vector>

#include "app/admin.h"
#include "app/config.h"
#include "app/selftest.h"
#include "app/serve.h"
#include "cli/account_commands.h"
#include "cli/commands.h"
#include "cli/keyvault_commands.h"
#include "cli/keyvault_key_commands.h"
#include "cli/profile.h"
#include "crypto/provider.h"
#include "http/tls_material.h"

namespace {

constexpr const char* kVersion = "0.1.0";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "atrest: AI training data and fine-tuned models encrypted at rest under "
      "keys you control"};
  app.require_subcommand(1);

  // Every server setting is a flag of `serve`; values given on the command
  // line override the environment and the config file (app/config.h).
  std::string config_path;
  std::map<std::string, std::string> flags;
  auto* serve = app.add_subcommand(
      "serve", "run the server (embedded defaults need no configuration)");
  serve->add_option("--config", config_path, "TOML configuration file")
      ->envname("ATREST_CONFIG");
  // Each flag is declared with its type, so that --help says INT or
  // BOOLEAN and CLI11 refuses a bad value before the server starts; the
  // loader still checks every value wherever it comes from.
  for (const atrest::app::SettingInfo& s : atrest::app::Settings()) {
    using Kind = atrest::app::SettingInfo::Kind;
    const std::string names = s.alias.empty() ? s.flag : s.flag + "," + s.alias;
    const std::string help =
        s.help + " [" + s.toml_key + ", " + s.env_var + "]";
    switch (s.kind) {
      case Kind::kInteger:
        serve
            ->add_option_function<int64_t>(
                names,
                [&flags, name = s.flag](int64_t v) {
                  flags[name] = std::to_string(v);
                },
                help)
            ->check(CLI::Range(s.min, s.max));
        break;
      case Kind::kBoolean:
        // "--crypto-fips", "--crypto-fips true" or "--crypto-fips false".
        serve
            ->add_option_function<bool>(
                names,
                [&flags, name = s.flag](bool v) {
                  flags[name] = v ? "true" : "false";
                },
                help)
            ->expected(0, 1)
            ->default_str("true");
        break;
      case Kind::kList:
      case Kind::kText:
        serve
            ->add_option_function<std::string>(
                names,
                [&flags, name = s.flag](const std::string& v) {
                  flags[name] = v;
                },
                help)
            ->type_name(s.kind == Kind::kList ? "LIST" : "TEXT");
        break;
    }
  }

  std::string tls_dir, tls_domain = "localhost";
  auto* tls_init = app.add_subcommand(
      "tls-init",
      "make the CA and server certificate a data dir would get on first "
      "start, and print the CA path");
  tls_init->add_option("--data-dir,--server-data-dir", tls_dir, "data dir")
      ->required();
  tls_init->add_option("--domain,--server-domain", tls_domain,
                       "DNS domain of the endpoints");

  // `atrest ad ...`: tenants and service principals, on the data dir.
  atrest::app::AdminContext admin_ctx{.data_dir = "atrest-data"};
  std::string ad_name, ad_role, ad_scopes, ad_id;
  auto* ad = app.add_subcommand(
      "ad", "tenants and service principals (on the server's data dir)");
  ad->require_subcommand(1);
  ad->add_option("--data-dir,--server-data-dir", admin_ctx.data_dir,
                 "the server's data dir")
      ->envname("ATREST_SERVER_DATA_DIR")
      ->capture_default_str();
  ad->add_option("--tenant", admin_ctx.tenant_id,
                 "tenant id (default: the only tenant, else the one the "
                 "server made on first start)");
  auto* ad_tenant = ad->add_subcommand("tenant", "tenants");
  ad_tenant->require_subcommand(1);
  auto* tenant_create = ad_tenant->add_subcommand(
      "create", "create a tenant with a subscription in it");
  tenant_create->add_option("--name", ad_name, "display name")->required();
  auto* ad_sp = ad->add_subcommand("sp", "service principals");
  ad_sp->require_subcommand(1);
  auto* sp_create = ad_sp->add_subcommand(
      "create-for-rbac",
      "create a service principal with a secret, optionally with a role");
  sp_create->add_option("--name", ad_name, "display name")->required();
  sp_create->add_option("--role", ad_role, "role to assign (e.g. Contributor)");
  sp_create->add_option("--scopes", ad_scopes,
                        "space-separated scopes for the role");
  auto* sp_list = ad_sp->add_subcommand("list", "list service principals");
  auto* sp_delete =
      ad_sp->add_subcommand("delete", "delete a service principal");
  sp_delete->add_option("--id", ad_id, "appId or objectId")->required();
  std::string ad_subscription, ad_to_tenant;
  auto* ad_sub = ad->add_subcommand("subscription", "subscriptions");
  ad_sub->require_subcommand(1);
  auto* sub_move = ad_sub->add_subcommand(
      "change-directory",
      "transfer a subscription to another tenant (drops its role "
      "assignments; managed identities do not move)");
  sub_move->add_option("--subscription", ad_subscription, "subscription id")
      ->required();
  sub_move->add_option("--to-tenant", ad_to_tenant, "target tenant id")
      ->required();

  // `atrest login` and `atrest group ...`: the client, speaking REST as az.
  atrest::cli::LoginOptions login_opts;
  std::string cli_ca_file, group_name, group_location;
  std::vector<std::string> group_tags;
  bool service_principal = false, assume_yes = false;
  auto* login = app.add_subcommand(
      "login", "get a token for a service principal and save the profile");
  login
      ->add_flag("--service-principal", service_principal,
                 "log in as a service principal")
      ->required();
  login->add_option("--username,-u", login_opts.client_id, "appId")->required();
  login->add_option("--password,-p", login_opts.client_secret, "client secret")
      ->envname("ATREST_CLIENT_SECRET");
  login->add_option("--tenant,-t", login_opts.tenant_id, "tenant id")
      ->required();
  login->add_option("--authority", login_opts.authority, "identity endpoint")
      ->capture_default_str();
  login
      ->add_option("--management-endpoint", login_opts.management_endpoint,
                   "Resource Manager endpoint")
      ->capture_default_str();
  login->add_option("--subscription", login_opts.subscription_id,
                    "subscription to use (default: the first one)");
  login->add_option("--ca-file", cli_ca_file,
                    "extra trusted CA certificates (PEM) [REQUESTS_CA_BUNDLE, "
                    "NODE_EXTRA_CA_CERTS]");
  auto* group = app.add_subcommand("group", "resource groups");
  group->require_subcommand(1);
  group->fallthrough();  // `group list --ca-file x` works too.
  group->add_option("--ca-file", cli_ca_file,
                    "extra trusted CA certificates (PEM) [REQUESTS_CA_BUNDLE, "
                    "NODE_EXTRA_CA_CERTS]");
  auto* group_create = group->add_subcommand("create", "create or update");
  group_create->add_option("--name,-n", group_name, "group name")->required();
  group_create->add_option("--location,-l", group_location, "location")
      ->required();
  group_create->add_option("--tags", group_tags, "key=value ...");
  auto* group_list = group->add_subcommand("list", "list resource groups");
  auto* group_show = group->add_subcommand("show", "show a resource group");
  group_show->add_option("--name,-n", group_name, "group name")->required();
  auto* group_delete =
      group->add_subcommand("delete", "delete a resource group");
  group_delete->add_option("--name,-n", group_name, "group name")->required();
  group_delete->add_flag("--yes,-y", assume_yes,
                         "do not prompt (never prompts)");

  // `atrest keyvault ...`: Key Vault management as `az keyvault` does it
  // (cli/keyvault_commands.h), and the data-plane `keyvault key ...`
  // commands (cli/keyvault_key_commands.h) registered below.
  atrest::cli::VaultTarget kv_target;
  atrest::cli::KeyVaultCreateOptions kv_create_opts;
  atrest::cli::KeyVaultUpdateOptions kv_update_opts;
  atrest::cli::KeyVaultPolicyOptions kv_policy_opts;
  std::vector<std::string> kv_ip_rules, kv_key_perms, kv_secret_perms,
      kv_cert_perms, kv_storage_perms;
  std::string kv_location;
  int64_t kv_after = 0;
  auto* keyvault = app.add_subcommand("keyvault", "key vaults");
  keyvault->require_subcommand(1);
  keyvault->fallthrough();
  keyvault->add_option("--ca-file", cli_ca_file,
                       "extra trusted CA certificates (PEM) "
                       "[REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS]");
  // -n, -g and --subscription; -g is looked up by name when not required.
  auto add_target = [&](CLI::App* cmd, bool group_required) {
    cmd->add_option("--name,-n", kv_target.name, "vault name")->required();
    auto* g = cmd->add_option("--resource-group,-g", kv_target.resource_group,
                              "resource group");
    if (group_required) g->required();
    cmd->add_option("--subscription", kv_target.subscription,
                    "subscription id (default: the profile's)");
  };
  // az's three-state flags: "--flag", "--flag true" or "--flag false".
  auto add_bool = [](CLI::App* cmd, const std::string& name,
                     std::optional<bool>& value, const std::string& help) {
    cmd->add_option(name, value, help)->expected(0, 1)->default_str("true");
  };
  std::vector<CLI::Option*> kv_ip_options;
  auto add_network = [&](CLI::App* cmd, atrest::cli::NetworkRuleOptions& n) {
    cmd->add_option("--default-action", n.default_action,
                    "network rules default: Allow or Deny");
    cmd->add_option("--bypass", n.bypass,
                    "services that bypass the rules: AzureServices or None");
    kv_ip_options.push_back(cmd->add_option(
        "--ip-rules,--network-acls-ips", kv_ip_rules,
        "allowed IPv4 addresses or CIDR ranges (space or comma separated)"));
  };
  auto* kv_create = keyvault->add_subcommand("create", "create a vault");
  add_target(kv_create, true);
  kv_create->add_option("--location,-l", kv_create_opts.location,
                        "location (default: the resource group's)");
  kv_create->add_option("--sku", kv_create_opts.sku, "standard or premium")
      ->capture_default_str();
  kv_create
      ->add_option("--retention-days", kv_create_opts.retention_days,
                   "soft delete retention, 7 to 90 days")
      ->capture_default_str();
  add_bool(kv_create, "--enable-purge-protection",
           kv_create_opts.enable_purge_protection,
           "refuse purges until retention ends (irreversible)");
  add_bool(kv_create, "--enable-rbac-authorization",
           kv_create_opts.enable_rbac_authorization,
           "authorize data actions by RBAC instead of access policies");
  add_network(kv_create, kv_create_opts.network);
  kv_create->add_option("--tags", group_tags, "key=value ...");
  kv_create->add_flag("--no-self-perms", kv_create_opts.no_self_perms,
                      "do not give the caller an access policy");
  auto* kv_show = keyvault->add_subcommand("show", "show a vault");
  add_target(kv_show, false);
  auto* kv_list = keyvault->add_subcommand("list", "list vaults");
  kv_list->add_option("--resource-group,-g", kv_target.resource_group,
                      "resource group (default: the whole subscription)");
  kv_list->add_option("--subscription", kv_target.subscription,
                      "subscription id (default: the profile's)");
  auto* kv_update = keyvault->add_subcommand("update", "update a vault");
  add_target(kv_update, false);
  add_bool(kv_update, "--enable-purge-protection",
           kv_update_opts.enable_purge_protection,
           "refuse purges until retention ends (irreversible)");
  kv_update->add_option("--retention-days", kv_update_opts.retention_days,
                        "soft delete retention (fixed at creation)");
  add_bool(kv_update, "--enable-rbac-authorization",
           kv_update_opts.enable_rbac_authorization,
           "authorize data actions by RBAC instead of access policies");
  add_network(kv_update, kv_update_opts.network);
  auto* kv_delete =
      keyvault->add_subcommand("delete", "delete a vault (soft delete)");
  add_target(kv_delete, false);
  auto* kv_purge =
      keyvault->add_subcommand("purge", "purge a soft-deleted vault");
  kv_purge->add_option("--name,-n", kv_target.name, "vault name")->required();
  kv_purge->add_option("--location,-l", kv_location,
                       "location of the deleted vault (default: looked up)");
  kv_purge->add_option("--subscription", kv_target.subscription,
                       "subscription id (default: the profile's)");
  auto add_principal = [&](CLI::App* cmd) {
    add_target(cmd, false);
    cmd->add_option("--object-id", kv_policy_opts.object_id,
                    "object id of the principal")
        ->required();
    cmd->add_option("--application-id", kv_policy_opts.application_id,
                    "application id, for a compound identity");
  };
  auto* kv_set_policy = keyvault->add_subcommand(
      "set-policy", "add or change a principal's access policy");
  add_principal(kv_set_policy);
  auto* kv_key_perms_opt = kv_set_policy->add_option(
      "--key-permissions", kv_key_perms, "key permissions (space separated)");
  auto* kv_secret_perms_opt = kv_set_policy->add_option(
      "--secret-permissions", kv_secret_perms, "secret permissions");
  auto* kv_cert_perms_opt = kv_set_policy->add_option(
      "--certificate-permissions", kv_cert_perms, "certificate permissions");
  auto* kv_storage_perms_opt = kv_set_policy->add_option(
      "--storage-permissions", kv_storage_perms, "storage permissions");
  auto* kv_delete_policy = keyvault->add_subcommand(
      "delete-policy", "remove a principal's access policy");
  add_principal(kv_delete_policy);
  auto* kv_audit = keyvault->add_subcommand(
      "audit", "print the vault's data-plane audit events (atrest)");
  add_target(kv_audit, false);
  kv_audit->add_option("--after", kv_after,
                       "only events after this sequence number");

  // `atrest keyvault key ...`: the keys data plane, as `az keyvault key`.
  atrest::cli::KeyTarget key_target;
  atrest::cli::KeyCreateOptions key_create_opts;
  atrest::cli::KeyImportOptions key_import_opts;
  atrest::cli::KeyAttributeOptions key_attr_opts;
  std::vector<std::string> key_ops, key_tags;
  std::string key_kty, key_protection, key_file;
  std::optional<int> key_size;
  bool key_disabled = false;
  auto* kv_key = keyvault->add_subcommand("key", "keys in a vault");
  kv_key->require_subcommand(1);
  kv_key->fallthrough();
  // --vault-name, --name/-n and (when `with_version`) --version.
  auto add_key = [&](CLI::App* cmd, bool with_name, bool with_version) {
    cmd->add_option("--vault-name", key_target.vault_name, "vault name")
        ->required();
    if (with_name) {
      cmd->add_option("--name,-n", key_target.name, "key name")->required();
    }
    if (with_version) {
      cmd->add_option("--version,-v", key_target.version,
                      "key version (default: the latest)");
    }
  };
  const std::vector<std::string> kOps = {"encrypt", "decrypt", "sign",
                                         "verify",  "wrapKey", "unwrapKey",
                                         "import",  "export"};
  std::vector<CLI::Option*> key_ops_options, key_tags_options;
  // --ops, --tags, --expires and --not-before.
  auto add_attributes = [&](CLI::App* cmd) {
    key_ops_options.push_back(
        cmd->add_option("--ops", key_ops, "permitted operations")
            ->check(CLI::IsMember(kOps)));
    key_tags_options.push_back(
        cmd->add_option("--tags", key_tags, "key=value ..."));
    cmd->add_option("--expires", key_attr_opts.expires,
                    "expiry, ISO 8601 UTC (2030-01-01T00:00:00Z)");
    cmd->add_option("--not-before", key_attr_opts.not_before,
                    "activation, ISO 8601 UTC");
  };
  // --kty, --protection and --disabled of create and import.
  auto add_new_key = [&](CLI::App* cmd) {
    add_key(cmd, true, false);
    add_attributes(cmd);
    cmd->add_option("--kty", key_kty, "key type")
        ->check(CLI::IsMember({"RSA", "RSA-HSM"}));
    cmd->add_option("--protection,-p", key_protection,
                    "where the key is protected")
        ->check(CLI::IsMember({"software", "hsm"}));
    cmd->add_flag("--disabled", key_disabled, "create the key disabled");
  };
  auto* key_create = kv_key->add_subcommand("create", "create a new key");
  add_new_key(key_create);
  key_create->add_option("--size", key_size, "RSA key size in bits")
      ->check(CLI::IsMember({2048, 3072, 4096}));
  auto* key_import =
      kv_key->add_subcommand("import", "import an RSA private key");
  add_new_key(key_import);
  key_import
      ->add_option("--pem-file", key_import_opts.pem_file,
                   "PKCS#8 or PKCS#1 PEM private key (unencrypted)")
      ->required();
  auto* key_show = kv_key->add_subcommand("show", "show a key");
  add_key(key_show, true, true);
  auto* key_list = kv_key->add_subcommand("list", "list the vault's keys");
  add_key(key_list, false, false);
  auto* key_list_versions =
      kv_key->add_subcommand("list-versions", "list a key's versions");
  add_key(key_list_versions, true, false);
  auto* key_set_attributes = kv_key->add_subcommand(
      "set-attributes", "change a key's attributes, operations or tags");
  add_key(key_set_attributes, true, true);
  add_attributes(key_set_attributes);
  key_set_attributes->add_option("--enabled", key_attr_opts.enabled,
                                 "true or false");
  auto* key_delete =
      kv_key->add_subcommand("delete", "delete a key (soft delete)");
  add_key(key_delete, true, false);
  auto* key_recover =
      kv_key->add_subcommand("recover", "recover a soft-deleted key");
  add_key(key_recover, true, false);
  auto* key_purge = kv_key->add_subcommand("purge", "purge a soft-deleted key");
  add_key(key_purge, true, false);
  auto* key_rotate =
      kv_key->add_subcommand("rotate", "make a new version of a key");
  add_key(key_rotate, true, false);
  auto* key_backup =
      kv_key->add_subcommand("backup", "write a key's backup blob to a file");
  add_key(key_backup, true, false);
  key_backup
      ->add_option("--file,--file-path,-f", key_file,
                   "file to write (must not exist)")
      ->required();
  auto* key_restore =
      kv_key->add_subcommand("restore", "restore a key from a backup file");
  add_key(key_restore, false, false);
  key_restore
      ->add_option("--file,--file-path,-f", key_file, "backup file to read")
      ->required();

  // Runs the keyvault key subcommand that was parsed.
  auto run_key = [&](const atrest::cli::CliContext& ctx) {
    namespace cli = atrest::cli;
    for (CLI::Option* o : key_ops_options) {
      if (o->count() > 0) key_attr_opts.ops = key_ops;
    }
    for (CLI::Option* o : key_tags_options) {
      if (o->count() > 0) key_attr_opts.tags = key_tags;
    }
    if (key_disabled) key_attr_opts.enabled = false;
    if (key_create->parsed()) {
      key_create_opts.key = key_target;
      key_create_opts.kty = key_kty;
      key_create_opts.size = key_size;
      key_create_opts.protection = key_protection;
      key_create_opts.attributes = key_attr_opts;
      return cli::KeyCreate(ctx, key_create_opts);
    }
    if (key_import->parsed()) {
      key_import_opts.key = key_target;
      key_import_opts.kty = key_kty;
      key_import_opts.protection = key_protection;
      key_import_opts.attributes = key_attr_opts;
      return cli::KeyImport(ctx, key_import_opts);
    }
    if (key_show->parsed()) return cli::KeyShow(ctx, key_target);
    if (key_list->parsed()) return cli::KeyList(ctx, key_target.vault_name);
    if (key_list_versions->parsed()) {
      return cli::KeyListVersions(ctx, key_target);
    }
    if (key_set_attributes->parsed()) {
      return cli::KeySetAttributes(ctx, key_target, key_attr_opts);
    }
    if (key_delete->parsed()) return cli::KeyDelete(ctx, key_target);
    if (key_recover->parsed()) return cli::KeyRecover(ctx, key_target);
    if (key_purge->parsed()) return cli::KeyPurge(ctx, key_target);
    if (key_rotate->parsed()) return cli::KeyRotate(ctx, key_target);
    if (key_backup->parsed()) {
      return cli::KeyBackup(ctx, key_target, key_file);
    }
    return cli::KeyRestore(ctx, key_target.vault_name, key_file);
  };

  // Runs the keyvault subcommand that was parsed.
  auto run_keyvault = [&](const atrest::cli::CliContext& ctx) {
    namespace cli = atrest::cli;
    if (kv_key->parsed()) return run_key(ctx);
    auto network = [&](cli::NetworkRuleOptions& n) {
      for (CLI::Option* o : kv_ip_options) {
        if (o->count() > 0) n.ip_rules = kv_ip_rules;
      }
    };
    auto given = [](CLI::Option* o, const std::vector<std::string>& v) {
      return o->count() > 0 ? std::optional(v) : std::nullopt;
    };
    kv_policy_opts.vault = kv_update_opts.vault = kv_create_opts.vault =
        kv_target;
    if (kv_create->parsed()) {
      kv_create_opts.tags = group_tags;
      network(kv_create_opts.network);
      return cli::KeyVaultCreate(ctx, kv_create_opts);
    }
    if (kv_show->parsed()) return cli::KeyVaultShow(ctx, kv_target);
    if (kv_list->parsed()) {
      return cli::KeyVaultList(ctx, kv_target.resource_group,
                               kv_target.subscription);
    }
    if (kv_update->parsed()) {
      network(kv_update_opts.network);
      return cli::KeyVaultUpdate(ctx, kv_update_opts);
    }
    if (kv_delete->parsed()) return cli::KeyVaultDelete(ctx, kv_target);
    if (kv_purge->parsed()) {
      return cli::KeyVaultPurge(ctx, kv_target.name, kv_location,
                                kv_target.subscription);
    }
    if (kv_set_policy->parsed()) {
      kv_policy_opts.key_permissions = given(kv_key_perms_opt, kv_key_perms);
      kv_policy_opts.secret_permissions =
          given(kv_secret_perms_opt, kv_secret_perms);
      kv_policy_opts.certificate_permissions =
          given(kv_cert_perms_opt, kv_cert_perms);
      kv_policy_opts.storage_permissions =
          given(kv_storage_perms_opt, kv_storage_perms);
      return cli::KeyVaultSetPolicy(ctx, kv_policy_opts);
    }
    if (kv_delete_policy->parsed()) {
      return cli::KeyVaultDeletePolicy(ctx, kv_policy_opts);
    }
    return cli::KeyVaultAudit(ctx, kv_target, kv_after);
  };

  // `atrest cognitiveservices account ...` and `atrest resource move`: AI
  // accounts as `az cognitiveservices account` and `az resource move` manage
  // them (cli/account_commands.h).
  atrest::cli::AccountTarget acct_target;
  atrest::cli::AccountCreateOptions acct_create_opts;
  atrest::cli::AccountUpdateOptions acct_update_opts;
  atrest::cli::ResourceMoveOptions move_opts;
  std::vector<std::string> acct_tags;
  std::string acct_key_name;
  auto* cogsvc = app.add_subcommand("cognitiveservices",
                                    "AI services (Azure OpenAI accounts)");
  cogsvc->require_subcommand(1);
  cogsvc->fallthrough();
  cogsvc->add_option("--ca-file", cli_ca_file,
                     "extra trusted CA certificates (PEM) "
                     "[REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS]");
  auto* acct = cogsvc->add_subcommand("account", "AI accounts");
  acct->require_subcommand(1);
  acct->fallthrough();
  // -n, -g and --subscription.
  auto add_account = [&](CLI::App* cmd) {
    cmd->add_option("--name,-n", acct_target.name, "account name")->required();
    cmd->add_option("--resource-group,-g", acct_target.resource_group,
                    "resource group")
        ->required();
    cmd->add_option("--subscription", acct_target.subscription,
                    "subscription id (default: the profile's)");
  };
  auto* acct_create = acct->add_subcommand("create", "create an account");
  add_account(acct_create);
  acct_create
      ->add_option("--location,-l", acct_create_opts.location, "location")
      ->required();
  acct_create
      ->add_option("--kind", acct_create_opts.kind, "OpenAI or AIServices")
      ->capture_default_str();
  acct_create->add_option("--sku", acct_create_opts.sku, "pricing tier")
      ->capture_default_str();
  acct_create->add_flag("--assign-identity", acct_create_opts.assign_identity,
                        "give the account a system-assigned identity");
  acct_create->add_option("--tags", acct_tags, "key=value ...");
  auto* acct_show = acct->add_subcommand("show", "show an account");
  add_account(acct_show);
  auto* acct_list = acct->add_subcommand("list", "list accounts");
  acct_list->add_option("--resource-group,-g", acct_target.resource_group,
                        "resource group (default: the whole subscription)");
  acct_list->add_option("--subscription", acct_target.subscription,
                        "subscription id (default: the profile's)");
  auto* acct_update = acct->add_subcommand(
      "update", "update tags or the encryption (customer-managed key)");
  add_account(acct_update);
  acct_update
      ->add_option("--encryption-key-source",
                   acct_update_opts.encryption_key_source,
                   "Microsoft.KeyVault or Microsoft.CognitiveServices")
      ->check(
          CLI::IsMember({"Microsoft.KeyVault", "Microsoft.CognitiveServices"}));
  acct_update->add_option("--encryption-key-vault",
                          acct_update_opts.encryption_key_vault,
                          "key vault URI (https://<vault>.vault.<domain>)");
  acct_update->add_option("--encryption-key-name",
                          acct_update_opts.encryption_key_name, "key name");
  acct_update->add_option("--encryption-key-version",
                          acct_update_opts.encryption_key_version,
                          "key version (default: the latest, followed)");
  acct_update->add_option(
      "--encryption-key-id", acct_update_opts.encryption_key_id,
      "key identifier https://<vault>/keys/<name>[/<version>] (atrest)");
  auto* acct_update_tags =
      acct_update->add_option("--tags", acct_tags, "key=value ... (replaces)");
  auto* acct_delete = acct->add_subcommand("delete", "delete an account");
  add_account(acct_delete);
  auto* acct_keys = acct->add_subcommand("keys", "the account's API keys");
  acct_keys->require_subcommand(1);
  acct_keys->fallthrough();
  auto* acct_keys_list = acct_keys->add_subcommand("list", "list the keys");
  add_account(acct_keys_list);
  auto* acct_keys_regenerate =
      acct_keys->add_subcommand("regenerate", "regenerate a key");
  add_account(acct_keys_regenerate);
  acct_keys_regenerate->add_option("--key-name", acct_key_name, "Key1 or Key2")
      ->required()
      ->check(CLI::IsMember({"Key1", "Key2"}, CLI::ignore_case));
  auto* acct_identity =
      acct->add_subcommand("identity", "the account's managed identity");
  acct_identity->require_subcommand(1);
  acct_identity->fallthrough();
  auto* acct_identity_assign = acct_identity->add_subcommand(
      "assign", "give the account a system-assigned identity");
  add_account(acct_identity_assign);
  auto* acct_identity_remove =
      acct_identity->add_subcommand("remove", "remove the account's identity");
  add_account(acct_identity_remove);
  auto* acct_identity_show =
      acct_identity->add_subcommand("show", "show the account's identity");
  add_account(acct_identity_show);
  auto* acct_dep =
      acct->add_subcommand("deployment", "the account's model deployments");
  acct_dep->require_subcommand(1);
  acct_dep->fallthrough();
  atrest::cli::DeploymentOptions dep_opts;
  auto add_deployment_name = [&](CLI::App* c) {
    add_account(c);
    c->add_option("--deployment-name", dep_opts.deployment, "deployment name")
        ->required();
  };
  auto* dep_create = acct_dep->add_subcommand(
      "create", "deploy a fine-tuned model (or one of its checkpoints)");
  add_deployment_name(dep_create);
  dep_create->add_option("--model-name", dep_opts.model_name, "model id")
      ->required();
  dep_create->add_option("--model-version", dep_opts.model_version)
      ->capture_default_str();
  dep_create->add_option("--model-format", dep_opts.model_format)
      ->capture_default_str();
  dep_create->add_option("--sku-name", dep_opts.sku_name)
      ->capture_default_str();
  dep_create->add_option("--sku-capacity", dep_opts.sku_capacity)
      ->capture_default_str();
  auto* dep_show = acct_dep->add_subcommand("show", "show a deployment");
  add_deployment_name(dep_show);
  auto* dep_list = acct_dep->add_subcommand("list", "list deployments");
  add_account(dep_list);
  auto* dep_delete =
      acct_dep->add_subcommand("delete", "delete (and unload) a deployment");
  add_deployment_name(dep_delete);
  auto* resource = app.add_subcommand("resource", "resources");
  resource->require_subcommand(1);
  resource->fallthrough();
  resource->add_option("--ca-file", cli_ca_file,
                       "extra trusted CA certificates (PEM) "
                       "[REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS]");
  auto* resource_move = resource->add_subcommand(
      "move", "move resources (AI accounts) to another resource group");
  resource_move->add_option("--ids", move_opts.ids, "resource ids")->required();
  resource_move
      ->add_option("--destination-group", move_opts.destination_group,
                   "target resource group")
      ->required();
  resource_move->add_option("--destination-subscription-id",
                            move_opts.destination_subscription,
                            "target subscription (default: the profile's)");

  // Runs the cognitiveservices account subcommand that was parsed.
  auto run_account = [&](const atrest::cli::CliContext& ctx) {
    namespace cli = atrest::cli;
    if (acct_create->parsed()) {
      acct_create_opts.account = acct_target;
      acct_create_opts.tags = acct_tags;
      return cli::AccountCreate(ctx, acct_create_opts);
    }
    if (acct_show->parsed()) return cli::AccountShow(ctx, acct_target);
    if (acct_list->parsed()) {
      return cli::AccountList(ctx, acct_target.resource_group,
                              acct_target.subscription);
    }
    if (acct_update->parsed()) {
      acct_update_opts.account = acct_target;
      if (acct_update_tags->count() > 0) acct_update_opts.tags = acct_tags;
      return cli::AccountUpdate(ctx, acct_update_opts);
    }
    if (acct_delete->parsed()) return cli::AccountDelete(ctx, acct_target);
    if (acct_keys_list->parsed()) {
      return cli::AccountKeysList(ctx, acct_target);
    }
    if (acct_keys_regenerate->parsed()) {
      return cli::AccountKeysRegenerate(ctx, acct_target, acct_key_name);
    }
    if (acct_identity_assign->parsed()) {
      return cli::AccountIdentityAssign(ctx, acct_target);
    }
    if (acct_identity_remove->parsed()) {
      return cli::AccountIdentityRemove(ctx, acct_target);
    }
    if (dep_create->parsed()) {
      dep_opts.account = acct_target;
      return cli::DeploymentCreate(ctx, dep_opts);
    }
    if (dep_show->parsed()) {
      return cli::DeploymentShow(ctx, acct_target, dep_opts.deployment);
    }
    if (dep_list->parsed()) return cli::DeploymentList(ctx, acct_target);
    if (dep_delete->parsed()) {
      return cli::DeploymentDelete(ctx, acct_target, dep_opts.deployment);
    }
    return cli::AccountIdentityShow(ctx, acct_target);
  };

  auto* version = app.add_subcommand("version", "print the version");
  auto* selftest = app.add_subcommand(
      "selftest", "check that the cryptography in use works");
  bool fips = false;
  std::string fips_module_dir;
  selftest->add_flag("--fips", fips, "use only OpenSSL's FIPS provider")
      ->envname("ATREST_CRYPTO_FIPS");
  selftest
      ->add_option("--fips-module-dir", fips_module_dir,
                   "directory holding fips.so")
      ->envname("ATREST_CRYPTO_FIPS_MODULE_DIR");

  CLI11_PARSE(app, argc, argv);

  if (version->parsed()) {
    std::cout << "atrest " << kVersion << " ("
              << atrest::crypto::CryptoDescription() << ")\n";
    return 0;
  }
  if (selftest->parsed()) {
    atrest::Status init = atrest::crypto::InitializeCrypto(
        {.fips = fips, .fips_module_dir = fips_module_dir});
    if (!init.ok()) {
      std::cerr << "atrest: " << init.message() << "\n";
      return 2;
    }
    atrest::Status s = atrest::app::RunSelfTest(std::cout);
    std::cout << (s.ok() ? "self-test passed\n" : "self-test FAILED\n");
    return s.ok() ? 0 : 1;
  }
  if (ad->parsed()) {
    atrest::Status s;
    if (tenant_create->parsed()) {
      s = atrest::app::CreateTenant(admin_ctx, ad_name, std::cout);
    } else if (sp_create->parsed()) {
      s = atrest::app::CreateServicePrincipalForRbac(
          admin_ctx, ad_name, ad_role, ad_scopes, std::cout);
    } else if (sp_list->parsed()) {
      s = atrest::app::ListServicePrincipals(admin_ctx, std::cout);
    } else if (sp_delete->parsed()) {
      s = atrest::app::DeleteServicePrincipal(admin_ctx, ad_id, std::cout);
    } else if (sub_move->parsed()) {
      s = atrest::app::ChangeSubscriptionDirectory(admin_ctx, ad_subscription,
                                                   ad_to_tenant, std::cout);
    }
    if (!s.ok()) {
      std::cerr << "atrest: " << s.message() << "\n";
      return 1;
    }
    return 0;
  }
  if (login->parsed() || group->parsed() || keyvault->parsed() ||
      cogsvc->parsed() || resource->parsed()) {
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    const char* home = std::getenv("HOME");
    atrest::Result<std::string> profile_path =
        atrest::cli::DefaultProfilePath(xdg ? xdg : "", home ? home : "");
    atrest::Status s = profile_path.status();
    if (s.ok()) {
      atrest::cli::CliContext ctx{
          .env = atrest::env::Env::Default(),
          .profile_path = *profile_path,
          .ca_files = atrest::cli::CaFilesFromEnvironment(cli_ca_file),
          .out = std::cout};
      if (login->parsed()) {
        s = atrest::cli::Login(ctx, login_opts);
      } else if (group_create->parsed()) {
        s = atrest::cli::GroupCreate(ctx, group_name, group_location,
                                     group_tags);
      } else if (group_list->parsed()) {
        s = atrest::cli::GroupList(ctx);
      } else if (group_show->parsed()) {
        s = atrest::cli::GroupShow(ctx, group_name);
      } else if (group_delete->parsed()) {
        s = atrest::cli::GroupDelete(ctx, group_name);
      } else if (keyvault->parsed()) {
        s = run_keyvault(ctx);
      } else if (cogsvc->parsed()) {
        s = run_account(ctx);
      } else if (resource_move->parsed()) {
        s = atrest::cli::ResourceMove(ctx, move_opts);
      }
    }
    if (!s.ok()) {
      std::cerr << "atrest: " << atrest::cli::FormatError(s) << "\n";
      return 1;
    }
    return 0;
  }
  if (tls_init->parsed()) {
    atrest::env::Env& env = atrest::env::Env::Default();
    atrest::Result<atrest::http::TlsFiles> files = [&] {
      atrest::Status made = env.fs().CreateDirs(tls_dir);
      if (!made.ok()) return atrest::Result<atrest::http::TlsFiles>(made);
      return atrest::http::EnsureTlsMaterial(env, tls_dir, tls_domain);
    }();
    if (!files.ok()) {
      std::cerr << "atrest: " << files.status().message() << "\n";
      return 1;
    }
    std::cout << files->ca_cert_path << "\n";
    return 0;
  }
  if (serve->parsed()) {
    atrest::Result<atrest::app::Config> config = atrest::app::LoadConfig(
        config_path, atrest::app::ProcessEnvironment(), flags);
    if (!config.ok()) {
      std::cerr << "atrest: " << config.status().message() << "\n";
      return 2;
    }
    atrest::Status init = atrest::crypto::InitializeCrypto(
        {.fips = config->fips, .fips_module_dir = config->fips_module_dir});
    if (!init.ok()) {
      std::cerr << "atrest: " << init.message() << "\n";
      return 2;
    }
    // Prove the provider works before any customer data is touched.
    std::ostringstream selftest_log;
    if (atrest::Status s = atrest::app::RunSelfTest(selftest_log); !s.ok()) {
      std::cerr << selftest_log.str() << "atrest: crypto self-test failed\n";
      return 2;
    }
    return atrest::app::Serve(*config, std::cout, std::cerr);
  }
  return 0;
}
