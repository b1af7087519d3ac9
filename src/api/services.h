// Services: everything the API handlers may use, bound into their closures
// when the routes are registered (api/routes.h). Handlers are functions of
// (Request, Services) -> Response; they own nothing.
#ifndef ATREST_API_SERVICES_H_
#define ATREST_API_SERVICES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "accounts/account_service.h"
#include "deploy/deployments.h"
#include "files/file_service.h"
#include "finetune/fine_tuning.h"
#include "http/concurrency_limiter.h"
#include "http/metrics.h"
#include "identity/identity_service.h"
#include "resources/resource_manager.h"
#include "vault/vault_service.h"

namespace atrest::api {

struct Services {
  identity::IdentityService& identity;
  resources::ResourceManager& resources;
  http::MetricsRegistry* metrics = nullptr;      // May be null.
  vault::VaultService* vaults = nullptr;         // Null: no vault surfaces.
  accounts::AccountService* accounts = nullptr;  // Null: no AI accounts.
  files::FileService* files = nullptr;
  finetune::FineTuning* fine_tuning = nullptr;  // Null: no fine-tuning.
  deploy::Deployments* deployments = nullptr;
  std::string domain = "localhost";
  uint16_t port = 443;  // The public HTTPS port, for audiences and URLs.
  // Uploads in flight (Files API) at most per principal (an Entra object
  // id, or an account's API keys) and per account; more are answered 429
  // with Retry-After. Null: no limit.
  http::ConcurrencyLimiter* uploads = nullptr;
  size_t max_uploads_per_principal = 8;
  size_t max_uploads_per_account = 16;

  // "https://<name>.<domain>[:port]" as clients spell that surface.
  std::string Origin(const std::string& name) const;
  // The token audiences a surface accepts: its origin with and without the
  // port, each with and without a trailing slash.
  std::vector<std::string> Audiences(const std::string& name) const;
};

}  // namespace atrest::api

#endif  // ATREST_API_SERVICES_H_
