#include "deploy/deployments.h"

#include <algorithm>
#include <cctype>

#include "base/json.h"
#include "base/json_fields.h"
#include "crypto/secret_bytes.h"

namespace atrest::deploy {
namespace {

using nlohmann::json;

Status Arm(StatusCode code, std::string reason, std::string message) {
  return Status(code, std::move(message), std::move(reason));
}

std::string Fold(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

// As Azure OpenAI's default quota of deployments per resource.
constexpr size_t kMaxDeploymentsPerAccount = 32;

bool ValidName(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                  c == '_' || c == '.';
         });
}

bool UnloadOnRevocation(const store::Account& account) {
  json props = ParseJsonOrDiscarded(account.properties_json, kStoredJsonLimits);
  auto it = props.is_object() ? props.find("unloadDeploymentsOnKeyRevocation")
                              : props.end();
  return it != props.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

Deployments::Deployments(store::Store& store, env::Env& env,
                         files::FileService& files,
                         finetune::FineTuning& fine_tuning,
                         accounts::AccountKeys& keys)
    : store_(store),
      env_(env),
      files_(files),
      fine_tuning_(fine_tuning),
      keys_(keys) {}

int64_t Deployments::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             env_.clock().Now().time_since_epoch())
      .count();
}

Deployments::Key Deployments::KeyOf(const std::string& uid,
                                    const std::string& name) {
  return {uid, Fold(name)};
}

Deployments::~Deployments() {
  if (listener_ >= 0) keys_.RemoveStateListener(listener_);
}

void Deployments::Start() {
  listener_ = keys_.AddStateListener(
      [this](const std::string& uid, const accounts::KeyStatus& status) {
        OnKeyState(uid, status);
      });
  Result<std::vector<store::DeploymentRow>> rows = store_.ReadResult(
      [](store::Transaction& tx) { return tx.deployments().ListAll(); });
  if (!rows.ok()) return;
  for (const store::DeploymentRow& row : *rows) {
    Result<store::Account> account =
        store_.ReadResult([&](store::Transaction& tx) {
          return tx.accounts().GetByUid(row.account_uid);
        });
    if (!account.ok()) continue;
    uint64_t unloads = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      unloads = unloads_[row.account_uid];
    }
    // A deployment whose key is inaccessible now loads on a later request.
    Result<std::shared_ptr<const training::LanguageModel>> model =
        Load(*account, row.model_id);
    if (!model.ok()) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (unloads_[row.account_uid] != unloads) continue;
    loaded_[KeyOf(row.account_uid, row.name)] = std::move(*model);
  }
}

Result<std::shared_ptr<const training::LanguageModel>> Deployments::Load(
    const store::Account& account, const std::string& model) {
  ASSIGN_OR_RETURN(store::StoredObject object,
                   fine_tuning_.FindDeployable(account, model));
  ASSIGN_OR_RETURN(std::unique_ptr<files::Download> d,
                   files_.OpenObject(account, object.kind, object.id));
  crypto::SecretBytes bytes(d->size());
  size_t filled = 0;
  MutableByteView out = bytes.MutableSecret();
  RETURN_IF_ERROR(d->Read(0, d->size(), [&](ByteView p) {
    if (p.size() > out.size() - filled) return InternalError("model overrun");
    std::copy(p.begin(), p.end(), out.begin() + filled);
    filled += p.size();
    return Status::Ok();
  }));
  if (filled != out.size()) return InternalError("model underrun");
  ASSIGN_OR_RETURN(std::unique_ptr<training::LanguageModel> loaded,
                   training::LoadLanguageModel(bytes.RevealSecret()));
  return std::shared_ptr<const training::LanguageModel>(std::move(loaded));
}

json Deployments::ToArm(const store::Account& account,
                        const store::DeploymentRow& row) const {
  json stored = ParseJsonOrDiscarded(row.deployment_json, kStoredJsonLimits);
  if (!stored.is_object()) stored = json::object();
  json j = {
      {"id", "/subscriptions/" + account.subscription_id + "/resourceGroups/" +
                 account.resource_group +
                 "/providers/Microsoft.CognitiveServices/accounts/" +
                 account.name + "/deployments/" + row.name},
      {"name", row.name},
      {"type", "Microsoft.CognitiveServices/accounts/deployments"},
      {"sku", stored.contains("sku") ? stored["sku"] : json::object()},
      {"properties",
       {{"model", stored.contains("model") ? stored["model"] : json::object()},
        {"provisioningState", "Succeeded"},
        {"capabilities", {{"chatCompletion", "true"}}},
        {"versionUpgradeOption", "NoAutoUpgrade"}}},
      {"systemData",
       {{"createdAt", row.created_at}, {"lastModifiedAt", row.updated_at}}}};
  if (stored.contains("tags")) j["tags"] = stored["tags"];
  {
    std::lock_guard<std::mutex> lock(mu_);
    j["properties"]["loaded"] =
        loaded_.count(KeyOf(row.account_uid, row.name)) > 0;
  }
  return j;
}

Result<std::pair<json, bool>> Deployments::Put(const store::Account& account,
                                               const std::string& name,
                                               const json& body) {
  if (!ValidName(name)) {
    return Arm(StatusCode::kInvalidArgument, "InvalidResourceName",
               "Deployment names are 1 to 64 characters of letters, digits, "
               "'-', '_' and '.'.");
  }
  const json* props = nullptr;
  if (body.is_object() && body.contains("properties") &&
      body["properties"].is_object()) {
    props = &body["properties"];
  }
  const json model =
      props != nullptr && props->contains("model") ? (*props)["model"] : json();
  if (!model.is_object() || JsonString(model, "name").empty()) {
    return Arm(StatusCode::kInvalidArgument, "InvalidRequestContent",
               "properties.model with format, name and version is required.");
  }
  const std::string format = JsonString(model, "format", "OpenAI");
  if (format != "OpenAI") {
    return Arm(StatusCode::kInvalidArgument, "InvalidModelFormat",
               "Only models of format \"OpenAI\" are deployed, not \"" +
                   format + "\".");
  }
  const std::string model_name = JsonString(model, "name");
  for (const finetune::BaseModel& b : fine_tuning_.catalog()) {
    if (b.id == model_name) {
      return Arm(StatusCode::kInvalidArgument, "DeploymentModelNotSupported",
                 "The base model " + model_name +
                     " has learned nothing yet; fine-tune it and deploy the "
                     "fine-tuned model.");
    }
  }
  json sku = body.is_object() && body.contains("sku") && body["sku"].is_object()
                 ? body["sku"]
                 : json{{"name", "Standard"}, {"capacity", 1}};
  if (!sku.contains("name")) sku["name"] = "Standard";
  if (!sku.contains("capacity")) sku["capacity"] = 1;
  Result<store::StoredObject> object =
      fine_tuning_.FindDeployable(account, model_name);
  if (!object.ok()) {
    if (object.status().code() == StatusCode::kNotFound) {
      return Arm(StatusCode::kInvalidArgument, "DeploymentModelNotFound",
                 object.status().message());
    }
    return object.status();
  }
  uint64_t unloads = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    unloads = unloads_[account.uid];
  }
  // Loading needs the key: refused while it is inaccessible.
  ASSIGN_OR_RETURN(std::shared_ptr<const training::LanguageModel> loaded,
                   Load(account, model_name));

  store::DeploymentRow row;
  row.account_uid = account.uid;
  row.name = name;
  row.model_id = model_name;
  row.created_at = row.updated_at = Now();
  json stored = {{"model",
                  {{"format", "OpenAI"},
                   {"name", model_name},
                   {"version", JsonString(model, "version", "1")}}},
                 {"sku", sku}};
  if (body.contains("tags") && body["tags"].is_object()) {
    stored["tags"] = body["tags"];
  }
  row.deployment_json = DumpJson(stored);
  bool created = false;
  RETURN_IF_ERROR(store_.Transact([&](store::Transaction& tx) -> Status {
    Result<store::DeploymentRow> old = tx.deployments().Get(account.uid, name);
    created = !old.ok();
    if (created) {
      ASSIGN_OR_RETURN(std::vector<store::DeploymentRow> all,
                       tx.deployments().List(account.uid));
      if (all.size() >= kMaxDeploymentsPerAccount) {
        return Arm(StatusCode::kInvalidArgument, "QuotaExceeded",
                   "An account holds at most " +
                       std::to_string(kMaxDeploymentsPerAccount) +
                       " deployments (each keeps its model in memory); "
                       "delete one first.");
      }
    }
    if (old.ok()) {
      row.created_at = old->created_at;
      row.name = old->name;
    }
    return tx.deployments().Put(row);
  }));
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Unloaded meanwhile (say the key was revoked): neither this model nor
    // one the deployment held before stays; it loads on a later request.
    if (unloads_[account.uid] == unloads) {
      loaded_[KeyOf(account.uid, name)] = std::move(loaded);
    } else {
      loaded_.erase(KeyOf(account.uid, name));
    }
  }
  return std::make_pair(ToArm(account, row), created);
}

Result<json> Deployments::Get(const store::Account& account,
                              const std::string& name) {
  Result<store::DeploymentRow> row =
      store_.ReadResult([&](store::Transaction& tx) {
        return tx.deployments().Get(account.uid, name);
      });
  if (!row.ok()) {
    if (row.status().code() == StatusCode::kNotFound) {
      return Arm(StatusCode::kNotFound, "DeploymentNotFound",
                 "The deployment " + name + " does not exist.");
    }
    return row.status();
  }
  return ToArm(account, *row);
}

Result<std::vector<json>> Deployments::List(const store::Account& account) {
  ASSIGN_OR_RETURN(std::vector<store::DeploymentRow> rows,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.deployments().List(account.uid);
                   }));
  std::vector<json> out;
  for (const store::DeploymentRow& r : rows) out.push_back(ToArm(account, r));
  return out;
}

Status Deployments::Delete(const store::Account& account,
                           const std::string& name) {
  Status s = store_.Transact([&](store::Transaction& tx) {
    return tx.deployments().Delete(account.uid, name);
  });
  if (!s.ok() && s.code() == StatusCode::kNotFound) {
    return Arm(StatusCode::kNotFound, "DeploymentNotFound",
               "The deployment " + name + " does not exist.");
  }
  RETURN_IF_ERROR(s);
  std::shared_ptr<const training::LanguageModel> model;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = loaded_.find(KeyOf(account.uid, name));
    if (it != loaded_.end()) {
      model = std::move(it->second);
      loaded_.erase(it);
    }
    ++unloads_[account.uid];
  }
  // `model` goes here (or when the last request using it finishes), and
  // wipes what it learned.
  return Status::Ok();
}

Result<std::vector<std::string>> Deployments::UsingModel(
    const store::Account& account, const std::string& model_id, bool exact) {
  ASSIGN_OR_RETURN(std::vector<store::DeploymentRow> rows,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.deployments().List(account.uid);
                   }));
  std::vector<std::string> out;
  for (const store::DeploymentRow& r : rows) {
    if (r.model_id == model_id ||
        (!exact &&
         r.model_id.compare(0, model_id.size() + 1, model_id + ":") == 0)) {
      out.push_back(r.name);
    }
  }
  return out;
}

Result<std::shared_ptr<const training::LanguageModel>> Deployments::Model(
    const store::Account& account, const std::string& name) {
  uint64_t unloads = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = loaded_.find(KeyOf(account.uid, name));
    if (it != loaded_.end()) return it->second;
    unloads = unloads_[account.uid];
  }
  Result<store::DeploymentRow> row =
      store_.ReadResult([&](store::Transaction& tx) {
        return tx.deployments().Get(account.uid, name);
      });
  if (!row.ok()) {
    if (row.status().code() == StatusCode::kNotFound) {
      return Status(StatusCode::kNotFound,
                    "The API deployment for this resource does not exist.",
                    "DeploymentNotFound");
    }
    return row.status();
  }
  Result<std::shared_ptr<const training::LanguageModel>> model =
      Load(account, row->model_id);
  if (!model.ok()) {
    if (model.status().reason() == "CustomerManagedKeyInaccessible") {
      return Status(StatusCode::kPermissionDenied,
                    "The deployment " + name +
                        " is not loaded and cannot be loaded while the "
                        "account's key is inaccessible: " +
                        model.status().message(),
                    "CustomerManagedKeyInaccessible");
    }
    return model.status();
  }
  std::lock_guard<std::mutex> lock(mu_);
  // Unloaded while this request loaded it: it serves this request only.
  if (unloads_[account.uid] != unloads) return std::move(*model);
  auto [it, inserted] =
      loaded_.emplace(KeyOf(account.uid, name), std::move(*model));
  return it->second;
}

void Deployments::ForgetAccount(const std::string& uid) {
  std::vector<std::shared_ptr<const training::LanguageModel>> gone;
  std::lock_guard<std::mutex> lock(mu_);
  ++unloads_[uid];
  for (auto it = loaded_.begin(); it != loaded_.end();) {
    if (it->first.first == uid) {
      gone.push_back(std::move(it->second));
      it = loaded_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t Deployments::loaded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loaded_.size();
}

void Deployments::OnKeyState(const std::string& uid,
                             const accounts::KeyStatus& status) {
  if (status.state != "inaccessible") return;
  Result<store::Account> account = store_.ReadResult(
      [&](store::Transaction& tx) { return tx.accounts().GetByUid(uid); });
  if (!account.ok() || !UnloadOnRevocation(*account)) return;
  ForgetAccount(uid);
}

}  // namespace atrest::deploy
