#include "training/ngram_trainer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "base/status_testing.h"
#include "training/fake_training_sink.h"
#include "training/language_model.h"
#include "training/synthetic_chats.h"

namespace atrest::training {
namespace {

TrainingRequest Request(const std::string& jsonl, int64_t seed = 1) {
  return TrainingRequest{
      .base_model = NgramTrainer::kBaseModel,
      .seed = seed,
      .training = StringSource(jsonl, 1000),
      .training_bytes = jsonl.size(),
  };
}

std::string Jsonl(int n) { return ToJsonl(SyntheticChats(n)); }

// Mean train_loss of the steps of one epoch.
double EpochLoss(const std::vector<StepMetrics>& metrics, int64_t epoch) {
  double sum = 0;
  int n = 0;
  for (const StepMetrics& m : metrics) {
    if (m.epoch == epoch) {
      sum += m.train_loss;
      ++n;
    }
  }
  return n > 0 ? sum / n : -1;
}

TEST(NgramTrainerTest, TrainsAModelThatReproducesItsTrainingData) {
  const std::vector<Conversation> examples = SyntheticChats(50);
  FakeTrainingSink sink;
  NgramTrainer trainer;
  ASSERT_OK_AND_ASSIGN(const TrainingSummary summary,
                       trainer.Train(Request(ToJsonl(examples)), sink));
  // Auto hyperparameters: 3 epochs, batch 50 / 10 = 5, 10 steps each.
  EXPECT_EQ(summary.resolved.n_epochs, 3);
  EXPECT_EQ(summary.resolved.batch_size, 5);
  EXPECT_EQ(summary.resolved.learning_rate_multiplier, 1.0);
  EXPECT_EQ(sink.started_calls, 1);
  EXPECT_EQ(sink.resolved.n_epochs, 3);
  EXPECT_EQ(sink.total_steps, 30);
  ASSERT_EQ(sink.metrics.size(), 30u);
  for (size_t i = 0; i < sink.metrics.size(); ++i) {
    EXPECT_EQ(sink.metrics[i].step, static_cast<int64_t>(i) + 1);
    EXPECT_EQ(sink.metrics[i].epoch, static_cast<int64_t>(i) / 10 + 1);
    EXPECT_FALSE(sink.metrics[i].valid_loss.has_value());
  }
  // A checkpoint after every epoch, then the final model, last.
  ASSERT_EQ(sink.models.size(), 4u);
  for (int e = 0; e < 3; ++e) {
    EXPECT_EQ(sink.models[e].step, 10 * (e + 1));
    EXPECT_FALSE(sink.models[e].final);
    EXPECT_TRUE(sink.models[e].finished);
  }
  const FakeTrainingSink::Snapshot* final_model = sink.FinalModel();
  ASSERT_NE(final_model, nullptr);
  EXPECT_EQ(&sink.models.back(), final_model);
  EXPECT_EQ(final_model->step, 30);
  EXPECT_EQ(final_model->bytes, sink.models[2].bytes);

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LanguageModel> model,
                       LoadLanguageModel(final_model->bytes));
  int turns = 0;
  int exact = 0;
  int64_t reply_tokens = 0;
  for (const Conversation& c : examples) {
    for (size_t i = 0; i < c.size(); ++i) {
      if (c[i].role != "assistant" || c[i].weight == 0) continue;
      ++turns;
      ASSERT_OK_AND_ASSIGN(
          const Generation g,
          model->Complete(Conversation(c.begin(), c.begin() + i),
                          GenerateOptions{.temperature = 0}, {}));
      if (g.text == c[i].content && g.finish_reason == "stop") ++exact;
      reply_tokens += g.completion_tokens + 1;
    }
  }
  const double rate = static_cast<double>(exact) / turns;
  std::printf("trainer: %d/%d training replies reproduced (%.1f%%)\n", exact,
              turns, 100 * rate);
  EXPECT_GE(rate, 0.9);
  // Three epochs over every reply token, end markers included.
  EXPECT_EQ(summary.trained_tokens, 3 * reply_tokens);
}

TEST(NgramTrainerTest, LossFallsAndAccuracyRises) {
  FakeTrainingSink sink;
  NgramTrainer trainer;
  ASSERT_OK(trainer.Train(Request(Jsonl(50)), sink));
  const double first = EpochLoss(sink.metrics, 1);
  const double last = EpochLoss(sink.metrics, 3);
  std::printf("mean train_loss: epoch 1 %.3f, epoch 3 %.3f\n", first, last);
  EXPECT_LT(last, 0.25 * first);
  EXPECT_GT(sink.metrics.back().train_mean_token_accuracy,
            sink.metrics.front().train_mean_token_accuracy);
  EXPECT_GT(sink.metrics.back().train_mean_token_accuracy, 0.95);
}

TEST(NgramTrainerTest, ReportsValidationMetrics) {
  const std::vector<Conversation> all = SyntheticChats(60);
  const std::string valid =
      ToJsonl(std::vector<Conversation>(all.begin() + 40, all.end()));
  TrainingRequest request = Request(
      ToJsonl(std::vector<Conversation>(all.begin(), all.begin() + 40)));
  request.validation = StringSource(valid);
  request.validation_bytes = valid.size();
  request.hyperparameters = {.n_epochs = 2, .batch_size = 8};
  FakeTrainingSink sink;
  NgramTrainer trainer;
  ASSERT_OK(trainer.Train(request, sink));
  ASSERT_EQ(sink.metrics.size(), 10u);
  for (const StepMetrics& m : sink.metrics) {
    ASSERT_TRUE(m.valid_loss.has_value());
    EXPECT_GT(*m.valid_loss, 0);
    EXPECT_GE(*m.valid_mean_token_accuracy, 0);
    EXPECT_EQ(m.full_valid_loss.has_value(), m.step % 5 == 0) << m.step;
  }
  // The validation set was never trained on, but resembles what was.
  EXPECT_LT(*sink.metrics.back().full_valid_loss,
            *sink.metrics.front().valid_loss);
}

TEST(NgramTrainerTest, SameSeedSameModelAndMetrics) {
  const std::string jsonl = Jsonl(30);
  FakeTrainingSink a, b, c;
  NgramTrainer trainer;
  ASSERT_OK(trainer.Train(Request(jsonl, 7), a));
  ASSERT_OK(trainer.Train(Request(jsonl, 7), b));
  ASSERT_OK(trainer.Train(Request(jsonl, 8), c));
  EXPECT_EQ(a.FinalModel()->bytes, b.FinalModel()->bytes);
  ASSERT_EQ(a.metrics.size(), b.metrics.size());
  for (size_t i = 0; i < a.metrics.size(); ++i) {
    EXPECT_EQ(a.metrics[i].train_loss, b.metrics[i].train_loss);
    EXPECT_EQ(a.metrics[i].train_mean_token_accuracy,
              b.metrics[i].train_mean_token_accuracy);
  }
  EXPECT_NE(a.FinalModel()->bytes, c.FinalModel()->bytes);
  EXPECT_NE(a.metrics[0].train_loss, c.metrics[0].train_loss);
}

TEST(NgramTrainerTest, HyperparametersTakeEffect) {
  const std::string jsonl = Jsonl(40);
  NgramTrainer trainer;
  auto train = [&](Hyperparameters h, FakeTrainingSink& sink) {
    TrainingRequest r = Request(jsonl);
    r.hyperparameters = h;
    Result<TrainingSummary> s = trainer.Train(r, sink);
    EXPECT_OK(s);
    return s.ok() ? *s : TrainingSummary{};
  };
  FakeTrainingSink one, three, slow, fast, small_batches;
  const TrainingSummary s1 = train({.n_epochs = 1}, one);
  const TrainingSummary s3 = train({.n_epochs = 3}, three);
  EXPECT_EQ(s3.trained_tokens, 3 * s1.trained_tokens);
  EXPECT_NE(one.FinalModel()->bytes, three.FinalModel()->bytes);

  train({.n_epochs = 2, .learning_rate_multiplier = 0.1}, slow);
  train({.n_epochs = 2, .learning_rate_multiplier = 4}, fast);
  EXPECT_NE(slow.FinalModel()->bytes, fast.FinalModel()->bytes);
  EXPECT_LT(EpochLoss(fast.metrics, 2), EpochLoss(slow.metrics, 2));

  const TrainingSummary sb =
      train({.n_epochs = 1, .batch_size = 1}, small_batches);
  EXPECT_EQ(sb.resolved.batch_size, 1);
  EXPECT_EQ(small_batches.metrics.size(), 40u);
  EXPECT_EQ(one.metrics.size(), 10u);  // Auto batch size 4.
}

TEST(NgramTrainerTest, RefusesBadHyperparameters) {
  NgramTrainer trainer;
  for (const Hyperparameters& h :
       std::vector<Hyperparameters>{{.n_epochs = 0},
                                    {.n_epochs = 51},
                                    {.batch_size = 0},
                                    {.batch_size = 257},
                                    {.learning_rate_multiplier = 0},
                                    {.learning_rate_multiplier = 10.5},
                                    {.n_epochs = -2}}) {
    FakeTrainingSink sink;
    TrainingRequest r = Request(Jsonl(10));
    r.hyperparameters = h;
    EXPECT_REFUSED(trainer.Train(r, sink), StatusCode::kInvalidArgument,
                   "invalid_hyperparameters");
    EXPECT_EQ(sink.started_calls, 0);
  }
}

TEST(NgramTrainerTest, RefusesTooFewExamples) {
  FakeTrainingSink sink;
  NgramTrainer trainer;
  Result<TrainingSummary> r = trainer.Train(Request(Jsonl(3)), sink);
  EXPECT_REFUSED(r, StatusCode::kInvalidArgument, "invalid_n_examples");
  EXPECT_EQ(r.status().message(),
            "Training file has 3 example(s), but must have at least 10 "
            "examples");
  EXPECT_TRUE(sink.models.empty());
}

TEST(NgramTrainerTest, RefusesUnparsableFiles) {
  NgramTrainer trainer;
  FakeTrainingSink sink;
  Result<TrainingSummary> r =
      trainer.Train(Request(Jsonl(5) + "{\"messages\": 3}\n" + Jsonl(5)), sink);
  EXPECT_REFUSED(r, StatusCode::kInvalidArgument, "invalid_training_file");
  EXPECT_EQ(r.status().message(),
            "Training file: Line 6: 'messages' is not an array");

  TrainingRequest bad_valid = Request(Jsonl(10));
  bad_valid.validation = StringSource("not json\n");
  EXPECT_REFUSED(trainer.Train(bad_valid, sink), StatusCode::kInvalidArgument,
                 "invalid_validation_file");
  bad_valid.validation = StringSource("\n\n");
  EXPECT_REFUSED(trainer.Train(bad_valid, sink), StatusCode::kInvalidArgument,
                 "invalid_validation_file");
}

TEST(NgramTrainerTest, SourceErrorsPassThrough) {
  NgramTrainer trainer;
  FakeTrainingSink sink;
  const Status error = DataLossError("segment 3 failed authentication");
  TrainingRequest r = Request(Jsonl(10));
  r.training = FailingSource(error);
  EXPECT_EQ(trainer.Train(r, sink).status(), error);
}

TEST(NgramTrainerTest, StopsWhenCancelled) {
  FakeTrainingSink sink;
  sink.CancelAfterSteps(3);
  NgramTrainer trainer;
  Result<TrainingSummary> r = trainer.Train(Request(Jsonl(50)), sink);
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(sink.metrics.size(), 3u);
  EXPECT_EQ(sink.FinalModel(), nullptr);
}

TEST(NgramTrainerTest, SinkErrorsAreReturnedUnchanged) {
  using Call = FakeTrainingSink::Call;
  const Status error = FailedPreconditionError("account key is disabled");
  NgramTrainer trainer;
  const std::string jsonl = Jsonl(20);
  for (const auto& [call, nth] :
       std::vector<std::pair<Call, int>>{{Call::kStarted, 1},
                                         {Call::kEvent, 1},
                                         {Call::kEvent, 2},
                                         {Call::kMetrics, 4},
                                         {Call::kBeginModel, 1},
                                         {Call::kBeginModel, 4},
                                         {Call::kWrite, 1},
                                         {Call::kFinish, 2}}) {
    FakeTrainingSink sink;
    sink.FailAt(call, nth, error);
    EXPECT_EQ(trainer.Train(Request(jsonl), sink).status(), error)
        << static_cast<int>(call) << " #" << nth;
    EXPECT_EQ(sink.FinalModel(), nullptr);
  }
}

TEST(NgramTrainerTest, WritesModelsInChunksAndEventsWithoutCustomerData) {
  FakeTrainingSink sink;
  NgramTrainer trainer;
  TrainingRequest r = Request(Jsonl(300));
  r.hyperparameters.n_epochs = 1;
  ASSERT_OK(trainer.Train(r, sink));
  const FakeTrainingSink::Snapshot* m = sink.FinalModel();
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->writes, (m->bytes.size() + 65535) / 65536);
  EXPECT_GT(m->writes, 1u);
  ASSERT_GE(sink.events.size(), 3u);
  for (const auto& [level, text] : sink.events) {
    EXPECT_EQ(level, "info");
    for (const char* word : {"Contoso", "Dana", "password", "CX-"}) {
      EXPECT_EQ(text.find(word), std::string::npos) << text;
    }
  }
}

}  // namespace
}  // namespace atrest::training
