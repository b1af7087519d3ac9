// The built-in trainer and language model (training/ngram_trainer.h,
// training/ngram_model.h) against their cost floor, measured in the same
// run (STYLE.md habit 10).
//
//   BM_ParseJsonl/n         baseline: ParseExamples over the n-example
//                           training file, which every trainer must do;
//                           items = examples.
//   BM_Train/n              NgramTrainer::Train over the same file, one
//                           epoch, auto batch size, into a sink that
//                           discards the model; items = examples.
//   BM_Evaluate             NgramModel::Evaluate of one training example
//                           (the loss and accuracy of a step) under the
//                           1000-example model; items = reply tokens.
//   BM_Complete/temperature Complete() of one training prompt under the
//                           1000-example model, greedy (0) or sampled
//                           (1 => temperature 1, top_p 0.9): the latency of
//                           one chat completion; items = completion tokens.
//   BM_LoadModel            LoadLanguageModel of the 1000-example model;
//                           bytes = model bytes.
//
// Data: training/synthetic_chats.h (support conversations, replies of ~50
// tokens). CPU time, as the other benches: the build VM is shared.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/secret_bytes.h"
#include "training/chat.h"
#include "training/language_model.h"
#include "training/ngram_model.h"
#include "training/ngram_trainer.h"
#include "training/synthetic_chats.h"

namespace atrest::training {
namespace {

// Discards everything; only counts model bytes.
class NullSink final : public TrainingSink {
 public:
  Status Started(const Hyperparameters&, int64_t) override {
    return Status::Ok();
  }
  Status Event(std::string_view, std::string_view) override {
    return Status::Ok();
  }
  Status Metrics(const StepMetrics&) override { return Status::Ok(); }
  Result<std::unique_ptr<ModelWriter>> BeginModel(int64_t, bool) override {
    return std::unique_ptr<ModelWriter>(new Writer(this));
  }
  bool Cancelled() const override { return false; }
  uint64_t model_bytes = 0;

 private:
  class Writer final : public ModelWriter {
   public:
    explicit Writer(NullSink* sink) : sink_(sink) {}
    Status Write(ByteView data) override {
      sink_->model_bytes += data.size();
      return Status::Ok();
    }
    Status Finish() override { return Status::Ok(); }

   private:
    NullSink* sink_;
  };
};

const std::string& Jsonl(int n) {
  static const std::string small = ToJsonl(SyntheticChats(50));
  static const std::string large = ToJsonl(SyntheticChats(1000));
  return n == 50 ? small : large;
}

const NgramModel& LargeModel() {
  static const std::unique_ptr<NgramModel> model = [] {
    std::unique_ptr<NgramModel> m = *NgramModel::Create();
    const std::vector<Conversation> examples = SyntheticChats(1000);
    for (int epoch = 0; epoch < 3; ++epoch) {
      if (!m->Add(examples, kUnitsPerExample).ok()) std::abort();
    }
    return m;
  }();
  return *model;
}

void BM_ParseJsonl(benchmark::State& state) {
  const std::string& jsonl = Jsonl(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    Result<std::vector<Conversation>> examples = ParseExamples(jsonl);
    if (!examples.ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(examples);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(jsonl.size()));
}
BENCHMARK(BM_ParseJsonl)->Arg(50)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_Train(benchmark::State& state) {
  const std::string& jsonl = Jsonl(static_cast<int>(state.range(0)));
  NgramTrainer trainer;
  uint64_t model_bytes = 0;
  for (auto _ : state) {
    NullSink sink;
    const std::string* data = &jsonl;
    const TrainingRequest request{
        .base_model = NgramTrainer::kBaseModel,
        .hyperparameters = {.n_epochs = 1},
        .seed = 1,
        .training = [data](const ByteSink& s) { return s(AsBytes(*data)); },
        .training_bytes = jsonl.size(),
    };
    Result<TrainingSummary> summary = trainer.Train(request, sink);
    if (!summary.ok()) state.SkipWithError("training failed");
    model_bytes = sink.model_bytes / 2;  // A checkpoint and the final model.
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(jsonl.size()));
  state.counters["model_bytes"] = static_cast<double>(model_bytes);
}
BENCHMARK(BM_Train)->Arg(50)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_Evaluate(benchmark::State& state) {
  const NgramModel& model = LargeModel();
  const Conversation example = SyntheticChats(1000)[417];
  int64_t tokens = 0;
  for (auto _ : state) {
    const NgramModel::Evaluation ev = model.Evaluate(example);
    benchmark::DoNotOptimize(ev);
    tokens += ev.tokens;
  }
  state.SetItemsProcessed(tokens);
}
BENCHMARK(BM_Evaluate)->Unit(benchmark::kMicrosecond);

void BM_Complete(benchmark::State& state) {
  const NgramModel& model = LargeModel();
  const Conversation example = SyntheticChats(1000)[417];
  const Conversation prompt(example.begin(), example.begin() + 2);
  GenerateOptions options{.max_tokens = 256, .seed = 5};
  if (state.range(0) == 0) {
    options.temperature = 0;
  } else {
    options.temperature = 1;
    options.top_p = 0.9;
  }
  int64_t tokens = 0;
  for (auto _ : state) {
    Result<Generation> g = model.Complete(prompt, options, {});
    if (!g.ok()) {
      state.SkipWithError("completion failed");
      break;
    }
    tokens += g->completion_tokens;
    benchmark::DoNotOptimize(g);
  }
  state.SetItemsProcessed(tokens);
}
BENCHMARK(BM_Complete)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_LoadModel(benchmark::State& state) {
  const crypto::SecretBytes bytes = LargeModel().Serialize();
  for (auto _ : state) {
    Result<std::unique_ptr<LanguageModel>> m =
        LoadLanguageModel(bytes.RevealSecret());
    if (!m.ok()) state.SkipWithError("load failed");
    benchmark::DoNotOptimize(m);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(bytes.size()));
  state.counters["memory_bytes"] =
      static_cast<double>(LargeModel().memory_bytes());
}
BENCHMARK(BM_LoadModel)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace atrest::training

BENCHMARK_MAIN();
