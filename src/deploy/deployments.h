// Deployments: Microsoft.CognitiveServices/accounts/deployments of
// fine-tuned models (reference/azure-openai-api.md §3.3) and the models
// they hold in memory to answer chat completions (§1.7).
//
// Creating a deployment decrypts the model (its DEK unwrapped by the
// account's AEK) into memory and parses it; the decrypted bytes are wiped
// at once and the parsed model wipes itself when the last user lets it go,
// so DELETE unloads and zeroizes it.
//
// Key state, as the seed says: while the account's key is inaccessible new
// deployments are refused (403 CustomerManagedKeyInaccessible) and loaded
// ones keep serving. Beyond Azure, an account whose properties set
// `unloadDeploymentsOnKeyRevocation: true` has its deployments unloaded the
// moment its key becomes inaccessible. A deployment not in memory (unloaded
// that way, or after a restart) is loaded again on its next request when
// the key allows.
//
// Thread safety: safe for concurrent use.
#ifndef ATREST_DEPLOY_DEPLOYMENTS_H_
#define ATREST_DEPLOY_DEPLOYMENTS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "accounts/account_keys.h"
#include "env/env.h"
#include "files/file_service.h"
#include "finetune/fine_tuning.h"
#include "store/store.h"
#include "training/language_model.h"

namespace atrest::deploy {

class Deployments {
 public:
  Deployments(store::Store& store, env::Env& env, files::FileService& files,
              finetune::FineTuning& fine_tuning, accounts::AccountKeys& keys);
  // Stops listening to key state changes.
  ~Deployments();
  Deployments(const Deployments&) = delete;
  Deployments& operator=(const Deployments&) = delete;

  // Loads every stored deployment whose key is accessible (at start) and
  // listens for key state changes.
  void Start();

  // PUT: the body's properties.model {format "OpenAI", name, version} and
  // sku {name, capacity}. Returns the resource (ARM shape) and whether it
  // was created. Errors carry ARM codes in Status::reason().
  Result<std::pair<nlohmann::json, bool>> Put(const store::Account& account,
                                              const std::string& name,
                                              const nlohmann::json& body);
  Result<nlohmann::json> Get(const store::Account& account,
                             const std::string& name);
  Result<std::vector<nlohmann::json>> List(const store::Account& account);
  // Removes the row and unloads (zeroizes) the model.
  Status Delete(const store::Account& account, const std::string& name);

  // Names of the account's deployments of `model_id` (or, unless `exact`,
  // of its checkpoints by their model names).
  Result<std::vector<std::string>> UsingModel(const store::Account& account,
                                              const std::string& model_id,
                                              bool exact = false);

  // The deployment's loaded model, loading it if needed. NotFound with
  // reason "DeploymentNotFound" when there is no such deployment.
  Result<std::shared_ptr<const training::LanguageModel>> Model(
      const store::Account& account, const std::string& name);

  // Unloads every deployment of the account `uid` (a deleted account).
  void ForgetAccount(const std::string& uid);
  // Number of models in memory (for tests and metrics).
  size_t loaded() const;

 private:
  using Key = std::pair<std::string, std::string>;  // uid, folded name.
  static Key KeyOf(const std::string& uid, const std::string& name);
  Result<std::shared_ptr<const training::LanguageModel>> Load(
      const store::Account& account, const std::string& model);
  nlohmann::json ToArm(const store::Account& account,
                       const store::DeploymentRow& row) const;
  void OnKeyState(const std::string& uid, const accounts::KeyStatus& status);
  int64_t Now() const;

  store::Store& store_;
  env::Env& env_;
  files::FileService& files_;
  finetune::FineTuning& fine_tuning_;
  accounts::AccountKeys& keys_;

  mutable std::mutex mu_;
  std::map<Key, std::shared_ptr<const training::LanguageModel>> loaded_;
  // Per account uid, bumped by every unload (Delete, ForgetAccount,
  // revocation). A load that began before an unload of its account does not
  // put its model in loaded_, so an unload cannot be undone by a load that
  // was in flight. Guarded by mu_.
  std::map<std::string, uint64_t> unloads_;
  int listener_ = -1;  // AccountKeys' id of OnKeyState, once Start() ran.
};

}  // namespace atrest::deploy

#endif  // ATREST_DEPLOY_DEPLOYMENTS_H_
