// Tests of Deployments through its public interface, over the real storage
// and services of FilesHarness (files/testing/files_harness.h). The models
// deployed are real: fine-tuned by the built-in n-gram trainer
// (training/ngram_trainer.h) through FineTuning from a small generated
// chat file, so that loading parses real model bytes.
#include "deploy/deployments.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "base/status_testing.h"
#include "files/testing/files_harness.h"
#include "finetune/fine_tuning.h"
#include "training/chat.h"
#include "training/language_model.h"
#include "training/ngram_trainer.h"

namespace atrest::deploy {
namespace {

using ::atrest::files::FilesHarness;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kBase = training::NgramTrainer::kBaseModel;
constexpr const char* kDenied = "CustomerManagedKeyInaccessible";

const char* const kThings[] = {"apple",  "sky",    "grass", "snow",
                               "coal",   "banana", "rose",  "ocean",
                               "carrot", "violet", "lemon", "cloud"};
const char* const kColours[] = {"red",    "blue",   "green",   "white",
                                "black",  "yellow", "scarlet", "teal",
                                "orange", "purple", "golden",  "grey"};

// The 12 training conversations.
training::Conversation Question(int i) {
  return {{.role = "user",
           .content = std::string("What colour is the ") + kThings[i] + "?"}};
}
std::string Answer(int i) {
  return std::string("The ") + kThings[i] + " is " + kColours[i] + ".";
}
std::string TrainingFile() {
  std::string out;
  for (int i = 0; i < 12; ++i) {
    out += json({{"messages",
                  {{{"role", "user"}, {"content", Question(i)[0].content}},
                   {{"role", "assistant"}, {"content", Answer(i)}}}}})
               .dump() +
           "\n";
  }
  return out;
}

// The body of a PUT deploying `model`.
json Body(const std::string& model, int capacity = 1) {
  return {
      {"sku", {{"name", "Standard"}, {"capacity", capacity}}},
      {"properties",
       {{"model", {{"format", "OpenAI"}, {"name", model}, {"version", "1"}}}}}};
}

// What FineTune made.
struct Trained {
  std::string job;
  std::string model;       // The fine-tuned model's id.
  std::string checkpoint;  // Its first checkpoint's model name.
};

class DeploymentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(h_, FilesHarness::Create());
    ASSERT_OK_AND_ASSIGN(account_, h_->MakeAccount("acct1"));
    ASSERT_OK_AND_ASSIGN(other_, h_->MakeAccount("acct2"));
    std::vector<finetune::BaseModel> catalog = {
        {.id = kBase,
         .description = "n-gram",
         .trainer = std::make_shared<training::NgramTrainer>()}};
    ft_ = std::make_unique<finetune::FineTuning>(
        h_->store(), h_->env(), h_->files(), h_->keys(), std::move(catalog),
        finetune::FineTuningOptions{.poll = milliseconds(20)});
    ASSERT_OK(ft_->Start());
    deployments_ = NewDeployments();
    deployments_->Start();
    ASSERT_OK_AND_ASSIGN(trained_, FineTune(account_));
  }

  std::unique_ptr<Deployments> NewDeployments() {
    return std::make_unique<Deployments>(h_->store(), h_->env(), h_->files(),
                                         *ft_, h_->keys());
  }

  // Fine-tunes the n-gram base model on the 12 conversations in `account`.
  Result<Trained> FineTune(const store::Account& account) {
    ASSIGN_OR_RETURN(std::unique_ptr<files::Upload> up,
                     h_->files().BeginUpload(account, "colours.jsonl"));
    RETURN_IF_ERROR(up->Write(AsBytes(TrainingFile())));
    ASSIGN_OR_RETURN(store::StoredObject file, up->Finish("fine-tune"));
    if (file.status != "processed") {
      return InternalError("training file: " + file.status_details);
    }
    finetune::JobRequest request;
    request.model = kBase;
    request.training_file = file.id;
    request.seed = 1;
    ASSIGN_OR_RETURN(json job, ft_->Create(account, request));
    const std::string id = job["id"];
    const auto deadline = std::chrono::steady_clock::now() + seconds(60);
    while (job["status"] == "pending" || job["status"] == "running") {
      if (std::chrono::steady_clock::now() > deadline) {
        return InternalError("the job is still " + job["status"].dump());
      }
      std::this_thread::sleep_for(milliseconds(5));
      ASSIGN_OR_RETURN(job, ft_->Get(account, id));
    }
    if (job["status"] != "succeeded") {
      return InternalError("the job ended " + job.dump());
    }
    ASSIGN_OR_RETURN(finetune::Page checkpoints,
                     ft_->Checkpoints(account, id, "", 100));
    if (checkpoints.data.empty()) return InternalError("no checkpoints");
    return Trained{
        .job = id,
        .model = job["fine_tuned_model"],
        .checkpoint = checkpoints.data.back()["fine_tuned_model_checkpoint"]};
  }

  // Expects the model to answer the questions it was trained on, nearly
  // always with the trained answer.
  static void ExpectServes(const training::LanguageModel& model) {
    int exact = 0;
    for (int i = 0; i < 12; ++i) {
      Result<training::Generation> g = model.Complete(
          Question(i), training::GenerateOptions{.temperature = 0}, {});
      ASSERT_OK(g);
      EXPECT_FALSE(g->text.empty());
      exact += g->text == Answer(i);
    }
    EXPECT_GE(exact, 9);
  }

  std::vector<std::string> Names(const store::Account& account) {
    Result<std::vector<json>> list = deployments_->List(account);
    EXPECT_OK(list);
    std::vector<std::string> out;
    if (list.ok()) {
      for (const json& d : *list) out.push_back(d["name"]);
    }
    return out;
  }

  std::unique_ptr<FilesHarness> h_;
  std::unique_ptr<finetune::FineTuning> ft_;
  std::unique_ptr<Deployments> deployments_;
  store::Account account_, other_;
  Trained trained_;
};

// ======================= Put, Get, List =======================

TEST_F(DeploymentsTest, PutCreatesThenReplaces) {
  ASSERT_OK_AND_ASSIGN(
      auto first, deployments_->Put(account_, "dep1", Body(trained_.model)));
  EXPECT_TRUE(first.second);
  EXPECT_EQ(deployments_->loaded(), 1u);
  EXPECT_EQ(first.first["properties"]["loaded"], true);

  h_->clock().Advance(seconds(10));
  json body = Body(trained_.model, 3);
  body["tags"] = {{"team", "ml"}};
  ASSERT_OK_AND_ASSIGN(auto second, deployments_->Put(account_, "dep1", body));
  EXPECT_FALSE(second.second);
  EXPECT_EQ(second.first["sku"]["capacity"], 3);
  EXPECT_EQ(second.first["tags"], json({{"team", "ml"}}));
  EXPECT_EQ(second.first["systemData"]["createdAt"],
            first.first["systemData"]["createdAt"]);
  EXPECT_EQ(second.first["systemData"]["lastModifiedAt"].get<int64_t>(),
            first.first["systemData"]["createdAt"].get<int64_t>() + 10);

  // Names ignore case; the first spelling stays.
  ASSERT_OK_AND_ASSIGN(
      auto third, deployments_->Put(account_, "DEP1", Body(trained_.model)));
  EXPECT_FALSE(third.second);
  EXPECT_EQ(third.first["name"], "dep1");
  EXPECT_EQ(deployments_->loaded(), 1u);
  EXPECT_EQ(Names(account_), std::vector<std::string>{"dep1"});
  ASSERT_OK_AND_ASSIGN(json got, deployments_->Get(account_, "Dep1"));
  EXPECT_EQ(got["name"], "dep1");
  EXPECT_EQ(got["sku"]["capacity"], 1);
}

TEST_F(DeploymentsTest, GetAndListShowTheArmShape) {
  ASSERT_OK(deployments_->Put(account_, "b-dep", Body(trained_.model, 2)));
  ASSERT_OK(deployments_->Put(account_, "a.dep", Body(trained_.checkpoint)));
  ASSERT_OK_AND_ASSIGN(json d, deployments_->Get(account_, "b-dep"));
  EXPECT_EQ(d["id"], "/subscriptions/" + h_->subscription_id() +
                         "/resourceGroups/rg/providers/"
                         "Microsoft.CognitiveServices/accounts/acct1/"
                         "deployments/b-dep");
  EXPECT_EQ(d["name"], "b-dep");
  EXPECT_EQ(d["type"], "Microsoft.CognitiveServices/accounts/deployments");
  EXPECT_EQ(d["sku"], json({{"name", "Standard"}, {"capacity", 2}}));
  EXPECT_EQ(
      d["properties"]["model"],
      json({{"format", "OpenAI"}, {"name", trained_.model}, {"version", "1"}}));
  EXPECT_EQ(d["properties"]["provisioningState"], "Succeeded");
  EXPECT_EQ(d["properties"]["loaded"], true);
  EXPECT_TRUE(d["systemData"]["createdAt"].is_number_integer());
  EXPECT_FALSE(d.contains("tags"));

  ASSERT_OK_AND_ASSIGN(std::vector<json> list, deployments_->List(account_));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "a.dep");
  EXPECT_EQ(list[0]["properties"]["model"]["name"], trained_.checkpoint);
  EXPECT_EQ(list[1], d);

  // Another account sees none of them.
  EXPECT_TRUE(Names(other_).empty());
  EXPECT_REFUSED(deployments_->Get(other_, "b-dep"), StatusCode::kNotFound,
                 "DeploymentNotFound");
  EXPECT_REFUSED(deployments_->Get(account_, "nosuch"), StatusCode::kNotFound,
                 "DeploymentNotFound");
}

TEST_F(DeploymentsTest, PutWithoutSkuGetsTheDefault) {
  json body = Body(trained_.model);
  body.erase("sku");
  ASSERT_OK_AND_ASSIGN(auto put, deployments_->Put(account_, "d", body));
  EXPECT_EQ(put.first["sku"], json({{"name", "Standard"}, {"capacity", 1}}));
}

TEST_F(DeploymentsTest, PutRefusesWhatCannotBeDeployed) {
  const StatusCode bad = StatusCode::kInvalidArgument;
  EXPECT_REFUSED(deployments_->Put(account_, "d", Body(kBase)), bad,
                 "DeploymentModelNotSupported");
  EXPECT_REFUSED(deployments_->Put(account_, "d", Body("nosuch")), bad,
                 "DeploymentModelNotFound");
  EXPECT_REFUSED(
      deployments_->Put(account_, "d", Body(trained_.model + ":ckpt-step-999")),
      bad, "DeploymentModelNotFound");
  // Another account's model is not this account's.
  EXPECT_REFUSED(deployments_->Put(other_, "d", Body(trained_.model)), bad,
                 "DeploymentModelNotFound");
  for (const std::string& name :
       {std::string(""), std::string(65, 'a'), std::string("a b"),
        std::string("a/b"), std::string("a:b"), std::string("caf\xc3\xa9")}) {
    SCOPED_TRACE(name);
    EXPECT_REFUSED(deployments_->Put(account_, name, Body(trained_.model)), bad,
                   "InvalidResourceName");
  }
  EXPECT_REFUSED(deployments_->Put(account_, "d", json::object()), bad,
                 "InvalidRequestContent");
  EXPECT_REFUSED(deployments_->Put(account_, "d", json::array()), bad,
                 "InvalidRequestContent");
  EXPECT_REFUSED(deployments_->Put(account_, "d", Body("")), bad,
                 "InvalidRequestContent");
  json other_format = Body(trained_.model);
  other_format["properties"]["model"]["format"] = "Mistral";
  EXPECT_REFUSED(deployments_->Put(account_, "d", other_format), bad,
                 "InvalidModelFormat");
  EXPECT_TRUE(Names(account_).empty());
  EXPECT_TRUE(Names(other_).empty());
  EXPECT_EQ(deployments_->loaded(), 0u);
  // 64 characters of every allowed kind are fine.
  EXPECT_OK(deployments_->Put(account_, "A-z_0.9" + std::string(57, 'x'),
                              Body(trained_.model)));
}

TEST_F(DeploymentsTest, CheckpointsAreDeployable) {
  ASSERT_OK_AND_ASSIGN(auto put, deployments_->Put(account_, "early",
                                                   Body(trained_.checkpoint)));
  EXPECT_TRUE(put.second);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const training::LanguageModel> model,
                       deployments_->Model(account_, "early"));
  ASSERT_NE(model, nullptr);
  EXPECT_GT(model->memory_bytes(), 0u);

  // By the checkpoint's id too ("ftchkpt-...", reference §3.3).
  ASSERT_OK_AND_ASSIGN(finetune::Page checkpoints,
                       ft_->Checkpoints(account_, trained_.job, "", 100));
  ASSERT_FALSE(checkpoints.data.empty());
  const std::string id = checkpoints.data.back()["id"];
  ASSERT_OK(deployments_->Put(account_, "by-id", Body(id)));
  EXPECT_OK(deployments_->Model(account_, "by-id"));
  // A job whose checkpoint is deployed keeps its checkpoints.
  auto deployed = [&](const std::string& name) -> Result<bool> {
    ASSIGN_OR_RETURN(std::vector<std::string> using_it,
                     deployments_->UsingModel(account_, name, true));
    return !using_it.empty();
  };
  EXPECT_REFUSED(ft_->Delete(account_, trained_.job, deployed),
                 StatusCode::kAborted, "conflict");
  ASSERT_OK(deployments_->Delete(account_, "by-id"));
  EXPECT_REFUSED(ft_->Delete(account_, trained_.job, deployed),
                 StatusCode::kAborted, "conflict");  // "early" still is.
  ASSERT_OK(deployments_->Delete(account_, "early"));
  EXPECT_OK(ft_->Delete(account_, trained_.job, deployed));
}

// ======================= Key state =======================

TEST_F(DeploymentsTest, PutRefusedWhileTheKeyIsInaccessible) {
  ASSERT_OK(h_->BreakKey(account_));
  EXPECT_REFUSED(deployments_->Put(account_, "d", Body(trained_.model)),
                 StatusCode::kPermissionDenied, kDenied);
  EXPECT_TRUE(Names(account_).empty());
  EXPECT_EQ(deployments_->loaded(), 0u);
  ASSERT_OK(h_->RestoreKey(account_));
  ASSERT_OK_AND_ASSIGN(auto put,
                       deployments_->Put(account_, "d", Body(trained_.model)));
  EXPECT_TRUE(put.second);
}

// As in Azure: deployments already loaded keep serving.
TEST_F(DeploymentsTest, LoadedDeploymentsKeepServingWhileTheKeyIsInaccessible) {
  ASSERT_OK(deployments_->Put(account_, "d", Body(trained_.model)));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const training::LanguageModel> before,
                       deployments_->Model(account_, "d"));
  ASSERT_OK(h_->BreakKey(account_));
  EXPECT_EQ(deployments_->loaded(), 1u);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const training::LanguageModel> during,
                       deployments_->Model(account_, "d"));
  EXPECT_EQ(during, before);
  ExpectServes(*during);
  ASSERT_OK_AND_ASSIGN(json d, deployments_->Get(account_, "d"));
  EXPECT_EQ(d["properties"]["loaded"], true);
  // But nothing new is loaded.
  EXPECT_REFUSED(deployments_->Put(account_, "d2", Body(trained_.model)),
                 StatusCode::kPermissionDenied, kDenied);
}

// Beyond Azure: unloadDeploymentsOnKeyRevocation unloads at once, and the
// next request after the key is restored loads again.
TEST_F(DeploymentsTest, UnloadOnRevocation) {
  ASSERT_OK_AND_ASSIGN(
      store::Account strict,
      h_->MakeAccount("strict", {{"unloadDeploymentsOnKeyRevocation", true}}));
  ASSERT_OK_AND_ASSIGN(Trained theirs, FineTune(strict));
  ASSERT_OK(deployments_->Put(strict, "d", Body(theirs.model)));
  ASSERT_OK(deployments_->Put(strict, "e", Body(theirs.checkpoint)));
  ASSERT_OK(deployments_->Put(account_, "d", Body(trained_.model)));
  ASSERT_EQ(deployments_->loaded(), 3u);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const training::LanguageModel> in_use,
                       deployments_->Model(strict, "d"));

  ASSERT_OK(h_->BreakKey(strict));
  EXPECT_EQ(deployments_->loaded(), 1u);  // Only acct1's.
  EXPECT_REFUSED(deployments_->Model(strict, "d"),
                 StatusCode::kPermissionDenied, kDenied);
  EXPECT_REFUSED(deployments_->Model(strict, "e"),
                 StatusCode::kPermissionDenied, kDenied);
  ASSERT_OK_AND_ASSIGN(json d, deployments_->Get(strict, "d"));
  EXPECT_EQ(d["properties"]["loaded"], false);
  EXPECT_EQ(deployments_->loaded(), 1u);
  // A request that already held the model finishes with it.
  ExpectServes(*in_use);
  in_use.reset();
  // A key change of an account without the property unloads nothing.
  ASSERT_OK(h_->BreakKey(account_));
  EXPECT_EQ(deployments_->loaded(), 1u);
  EXPECT_OK(deployments_->Model(account_, "d"));
  ASSERT_OK(h_->RestoreKey(account_));

  ASSERT_OK(h_->RestoreKey(strict));
  EXPECT_EQ(deployments_->loaded(), 1u);  // Loaded on the next request.
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const training::LanguageModel> again,
                       deployments_->Model(strict, "d"));
  ExpectServes(*again);
  EXPECT_EQ(deployments_->loaded(), 2u);
  ASSERT_OK_AND_ASSIGN(d, deployments_->Get(strict, "d"));
  EXPECT_EQ(d["properties"]["loaded"], true);
}

// ======================= Delete, UsingModel, ForgetAccount =================

TEST_F(DeploymentsTest, DeleteUnloads) {
  ASSERT_OK(deployments_->Put(account_, "d", Body(trained_.model)));
  ASSERT_OK(deployments_->Put(account_, "keep", Body(trained_.model)));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const training::LanguageModel> held,
                       deployments_->Model(account_, "d"));
  ASSERT_EQ(deployments_->loaded(), 2u);
  EXPECT_REFUSED(deployments_->Delete(other_, "d"), StatusCode::kNotFound,
                 "DeploymentNotFound");
  ASSERT_OK(deployments_->Delete(account_, "D"));
  EXPECT_EQ(deployments_->loaded(), 1u);
  EXPECT_REFUSED(deployments_->Get(account_, "d"), StatusCode::kNotFound,
                 "DeploymentNotFound");
  EXPECT_REFUSED(deployments_->Model(account_, "d"), StatusCode::kNotFound,
                 "DeploymentNotFound");
  EXPECT_REFUSED(deployments_->Delete(account_, "d"), StatusCode::kNotFound,
                 "DeploymentNotFound");
  EXPECT_EQ(Names(account_), std::vector<std::string>{"keep"});
  // A request holding the model finishes with it.
  ExpectServes(*held);
}

TEST_F(DeploymentsTest, ModelOfAnUnknownDeployment) {
  EXPECT_REFUSED(deployments_->Model(account_, "nosuch"), StatusCode::kNotFound,
                 "DeploymentNotFound");
  ASSERT_OK(deployments_->Put(account_, "d", Body(trained_.model)));
  EXPECT_REFUSED(deployments_->Model(other_, "d"), StatusCode::kNotFound,
                 "DeploymentNotFound");
}

TEST_F(DeploymentsTest, UsingModelNamesDeploymentsOfTheModelAndCheckpoints) {
  ASSERT_OK_AND_ASSIGN(Trained second, FineTune(account_));
  ASSERT_OK(deployments_->Put(account_, "b", Body(trained_.checkpoint)));
  ASSERT_OK(deployments_->Put(account_, "a", Body(trained_.model)));
  ASSERT_OK(deployments_->Put(account_, "c", Body(second.model)));
  using V = std::vector<std::string>;
  ASSERT_OK_AND_ASSIGN(V first_users,
                       deployments_->UsingModel(account_, trained_.model));
  EXPECT_EQ(first_users, (V{"a", "b"}));
  ASSERT_OK_AND_ASSIGN(V second_users,
                       deployments_->UsingModel(account_, second.model));
  EXPECT_EQ(second_users, (V{"c"}));
  ASSERT_OK_AND_ASSIGN(V checkpoint_users,
                       deployments_->UsingModel(account_, trained_.checkpoint));
  EXPECT_EQ(checkpoint_users, (V{"b"}));
  ASSERT_OK_AND_ASSIGN(V none, deployments_->UsingModel(account_, "nosuch"));
  EXPECT_TRUE(none.empty());
  ASSERT_OK_AND_ASSIGN(V theirs,
                       deployments_->UsingModel(other_, trained_.model));
  EXPECT_TRUE(theirs.empty());
}

TEST_F(DeploymentsTest, ForgetAccountUnloadsOnlyThatAccount) {
  ASSERT_OK_AND_ASSIGN(Trained theirs, FineTune(other_));
  ASSERT_OK(deployments_->Put(account_, "d", Body(trained_.model)));
  ASSERT_OK(deployments_->Put(account_, "e", Body(trained_.model)));
  ASSERT_OK(deployments_->Put(other_, "d", Body(theirs.model)));
  ASSERT_EQ(deployments_->loaded(), 3u);
  deployments_->ForgetAccount(account_.uid);
  EXPECT_EQ(deployments_->loaded(), 1u);
  ASSERT_OK_AND_ASSIGN(json d, deployments_->Get(account_, "d"));
  EXPECT_EQ(d["properties"]["loaded"], false);
  // The rows stay; the next request loads again.
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const training::LanguageModel> model,
                       deployments_->Model(account_, "d"));
  ExpectServes(*model);
  EXPECT_EQ(deployments_->loaded(), 2u);
}

// ======================= Start =======================

TEST_F(DeploymentsTest, StartLoadsStoredDeployments) {
  ASSERT_OK_AND_ASSIGN(Trained theirs, FineTune(other_));
  ASSERT_OK(deployments_->Put(account_, "d", Body(trained_.model)));
  ASSERT_OK(deployments_->Put(account_, "e", Body(trained_.checkpoint)));
  ASSERT_OK(deployments_->Put(other_, "d", Body(theirs.model)));

  // A new instance over the same store, as after a restart.
  std::unique_ptr<Deployments> restarted = NewDeployments();
  EXPECT_EQ(restarted->loaded(), 0u);
  restarted->Start();
  EXPECT_EQ(restarted->loaded(), 3u);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const training::LanguageModel> model,
                       restarted->Model(other_, "d"));
  ExpectServes(*model);
  ASSERT_OK_AND_ASSIGN(std::vector<json> list, restarted->List(account_));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["properties"]["loaded"], true);
}

// A deployment whose key is inaccessible at start is loaded on its first
// request once the key allows.
TEST_F(DeploymentsTest, StartSkipsDeploymentsWhoseKeyIsInaccessible) {
  ASSERT_OK_AND_ASSIGN(Trained theirs, FineTune(other_));
  ASSERT_OK(deployments_->Put(account_, "d", Body(trained_.model)));
  ASSERT_OK(deployments_->Put(other_, "d", Body(theirs.model)));
  ASSERT_OK(h_->BreakKey(other_));

  std::unique_ptr<Deployments> restarted = NewDeployments();
  restarted->Start();
  EXPECT_EQ(restarted->loaded(), 1u);
  EXPECT_REFUSED(restarted->Model(other_, "d"), StatusCode::kPermissionDenied,
                 kDenied);
  EXPECT_OK(restarted->Get(other_, "d"));
  ASSERT_OK(h_->RestoreKey(other_));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const training::LanguageModel> model,
                       restarted->Model(other_, "d"));
  ExpectServes(*model);
  EXPECT_EQ(restarted->loaded(), 2u);
}

// A destroyed instance stops listening: a later key change reaches only the
// live one (under ASan a call into the destroyed one would fail the test).
TEST_F(DeploymentsTest, ADestroyedInstanceNoLongerListens) {
  ASSERT_OK_AND_ASSIGN(
      store::Account strict,
      h_->MakeAccount("strict", {{"unloadDeploymentsOnKeyRevocation", true}}));
  ASSERT_OK_AND_ASSIGN(Trained theirs, FineTune(strict));
  ASSERT_OK(deployments_->Put(strict, "d", Body(theirs.model)));
  {
    std::unique_ptr<Deployments> earlier = NewDeployments();
    earlier->Start();
    EXPECT_EQ(earlier->loaded(), 1u);
  }
  ASSERT_OK(h_->BreakKey(strict));
  EXPECT_EQ(deployments_->loaded(), 0u);
  ASSERT_OK(h_->RestoreKey(strict));
}

}  // namespace
}  // namespace atrest::deploy
