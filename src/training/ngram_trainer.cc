#include "training/ngram_trainer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "crypto/secret_bytes.h"
#include "training/chat.h"
#include "training/decoding.h"
#include "training/ngram_model.h"

namespace atrest::training {
namespace {

constexpr int64_t kMinExamples = 10;
constexpr size_t kModelChunk = 64 * 1024;

// The plaintext of a data file, in wiped buffers only.
class PlainFile {
 public:
  explicit PlainFile(uint64_t expected)
      : buffer_(static_cast<size_t>(std::min<uint64_t>(expected, 1 << 30))) {}

  void Append(ByteView data) {
    if (data.size() > buffer_.size() - size_) {
      crypto::SecretBytes bigger(
          std::max(buffer_.size() * 2, size_ + data.size()));
      if (size_ > 0) {
        std::memcpy(bigger.MutableSecret().data(),
                    buffer_.RevealSecret().data(), size_);
      }
      buffer_ = std::move(bigger);  // Wipes the old buffer.
    }
    if (!data.empty()) {
      std::memcpy(buffer_.MutableSecret().data() + size_, data.data(),
                  data.size());
    }
    size_ += data.size();
  }
  std::string_view text() const {
    return AsString(buffer_.RevealSecret().first(size_));
  }

 private:
  crypto::SecretBytes buffer_;
  size_t size_ = 0;
};

// Parsed examples, wiped when destroyed.
class Dataset {
 public:
  explicit Dataset(std::vector<Conversation> examples)
      : examples_(std::move(examples)) {}
  Dataset(Dataset&& other) noexcept : examples_(std::move(other.examples_)) {
    other.examples_.clear();
  }
  Dataset& operator=(Dataset&&) = delete;
  ~Dataset() {
    for (Conversation& c : examples_) WipeConversation(c);
  }

  int64_t size() const { return static_cast<int64_t>(examples_.size()); }
  const Conversation& operator[](size_t i) const { return examples_[i]; }
  // Examples [begin, begin + count), clipped to the end.
  std::span<const Conversation> Slice(size_t begin, size_t count) const {
    return std::span<const Conversation>(examples_).subspan(
        begin, std::min(count, examples_.size() - begin));
  }
  // Fisher-Yates with `rng`: the order depends on the seed only.
  void Shuffle(Rng& rng) {
    for (size_t i = examples_.size(); i > 1; --i) {
      std::swap(examples_[i - 1], examples_[rng.Below(i)]);
    }
  }

 private:
  std::vector<Conversation> examples_;
};

// Reads and parses one file. `kind` names it in messages ("Training
// file"); parse errors carry `reason`. A source's own error is returned
// unchanged.
Result<Dataset> LoadDataset(const DataSource& source, uint64_t bytes,
                            const std::string& kind, const char* reason) {
  PlainFile file(bytes);
  RETURN_IF_ERROR(source([&](ByteView chunk) {
    file.Append(chunk);
    return Status::Ok();
  }));
  Result<std::vector<Conversation>> examples = ParseExamples(file.text());
  if (!examples.ok()) {
    return Status(StatusCode::kInvalidArgument,
                  kind + ": " + examples.status().message(), reason);
  }
  return Dataset(std::move(examples).value());
}

Status BadHyperparameter(const std::string& message) {
  return Status(StatusCode::kInvalidArgument, message,
                "invalid_hyperparameters");
}

Result<Hyperparameters> Resolve(const Hyperparameters& h, int64_t n) {
  Hyperparameters r;
  r.n_epochs = h.n_epochs == -1 ? 3 : h.n_epochs;
  r.batch_size = h.batch_size == -1
                     ? static_cast<int>(std::clamp<int64_t>(n / 10, 1, 8))
                     : h.batch_size;
  r.learning_rate_multiplier =
      h.learning_rate_multiplier == -1 ? 1.0 : h.learning_rate_multiplier;
  if (r.n_epochs < 1 || r.n_epochs > 50) {
    return BadHyperparameter("n_epochs must be between 1 and 50");
  }
  if (r.batch_size < 1 || r.batch_size > 256) {
    return BadHyperparameter("batch_size must be between 1 and 256");
  }
  if (!(r.learning_rate_multiplier > 0 && r.learning_rate_multiplier <= 10)) {
    return BadHyperparameter(
        "learning_rate_multiplier must be above 0 and at most 10");
  }
  return r;
}

// Examples begin, begin + 1, ... (count of them, wrapping around).
NgramModel::Evaluation EvaluateAll(const NgramModel& model, const Dataset& data,
                                   size_t begin, size_t count) {
  NgramModel::Evaluation ev;
  for (size_t i = 0; i < count; ++i) {
    ev += model.Evaluate(data[(begin + i) % static_cast<size_t>(data.size())]);
  }
  return ev;
}

Status WriteModel(TrainingSink& sink, const NgramModel& model, int64_t step,
                  bool final) {
  ASSIGN_OR_RETURN(std::unique_ptr<ModelWriter> writer,
                   sink.BeginModel(step, final));
  if (writer == nullptr) return InternalError("the sink gave no model writer");
  const crypto::SecretBytes bytes = model.Serialize();
  const ByteView all = bytes.RevealSecret();
  for (size_t at = 0; at < all.size(); at += kModelChunk) {
    RETURN_IF_ERROR(
        writer->Write(all.subspan(at, std::min(kModelChunk, all.size() - at))));
  }
  return writer->Finish();
}

Status Cancelled() {
  return Status(StatusCode::kCancelled, "training was cancelled");
}

}  // namespace

Result<TrainingSummary> NgramTrainer::Train(const TrainingRequest& request,
                                            TrainingSink& sink) {
  ASSIGN_OR_RETURN(Dataset train,
                   LoadDataset(request.training, request.training_bytes,
                               "Training file", "invalid_training_file"));
  const int64_t n = train.size();
  if (n < kMinExamples) {
    return Status(StatusCode::kInvalidArgument,
                  "Training file has " + std::to_string(n) +
                      " example(s), but must have at least " +
                      std::to_string(kMinExamples) + " examples",
                  "invalid_n_examples");
  }
  std::optional<Dataset> valid;
  if (request.validation) {
    ASSIGN_OR_RETURN(Dataset v,
                     LoadDataset(request.validation, request.validation_bytes,
                                 "Validation file", "invalid_validation_file"));
    if (v.size() == 0) {
      return Status(StatusCode::kInvalidArgument,
                    "Validation file has no examples",
                    "invalid_validation_file");
    }
    valid.emplace(std::move(v));
  }
  ASSIGN_OR_RETURN(const Hyperparameters hp,
                   Resolve(request.hyperparameters, n));
  const size_t batch = static_cast<size_t>(hp.batch_size);
  const int64_t steps_per_epoch = (n + hp.batch_size - 1) / hp.batch_size;
  const int64_t total_steps = steps_per_epoch * hp.n_epochs;
  // The learning rate scales how much each example counts.
  const uint64_t units = std::max<uint64_t>(
      1, static_cast<uint64_t>(
             std::llround(hp.learning_rate_multiplier * kUnitsPerExample)));

  RETURN_IF_ERROR(sink.Started(hp, total_steps));
  std::string plan = "Training " + std::string(kBaseModel) + " on " +
                     std::to_string(n) + " examples";
  if (valid) {
    plan += " with " + std::to_string(valid->size()) + " validation examples";
  }
  plan += ": " + std::to_string(hp.n_epochs) + " epoch(s) of " +
          std::to_string(steps_per_epoch) + " step(s)";
  RETURN_IF_ERROR(sink.Event("info", plan));

  Result<std::unique_ptr<NgramModel>> created = NgramModel::Create();
  if (!created.ok()) return InternalError("cannot create the model");
  std::unique_ptr<NgramModel> model = std::move(created).value();
  TrainingSummary summary{.resolved = hp};
  Rng rng(static_cast<uint64_t>(request.seed));
  size_t valid_at = 0;
  int64_t step = 0;
  for (int64_t epoch = 1; epoch <= hp.n_epochs; ++epoch) {
    train.Shuffle(rng);
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      if (sink.Cancelled()) return Cancelled();
      ++step;
      const std::span<const Conversation> examples =
          train.Slice(static_cast<size_t>(s) * batch, batch);
      StepMetrics m{.step = step, .epoch = epoch};
      // Scored under the model so far, then learned.
      NgramModel::Evaluation ev;
      for (const Conversation& c : examples) ev += model->Evaluate(c);
      m.train_loss = ev.mean_loss();
      m.train_mean_token_accuracy = ev.accuracy();
      Result<int64_t> tokens = model->Add(examples, units);
      if (!tokens.ok()) {
        return InternalError("training failed: " + tokens.status().message());
      }
      summary.trained_tokens += *tokens;
      if (valid) {
        const size_t count = std::min<size_t>(batch, valid->size());
        const NgramModel::Evaluation v =
            EvaluateAll(*model, *valid, valid_at, count);
        valid_at = (valid_at + count) % static_cast<size_t>(valid->size());
        m.valid_loss = v.mean_loss();
        m.valid_mean_token_accuracy = v.accuracy();
        if (s + 1 == steps_per_epoch) {
          const NgramModel::Evaluation full =
              EvaluateAll(*model, *valid, 0, valid->size());
          m.full_valid_loss = full.mean_loss();
          m.full_valid_mean_token_accuracy = full.accuracy();
        }
      }
      RETURN_IF_ERROR(sink.Metrics(m));
    }
    RETURN_IF_ERROR(WriteModel(sink, *model, step, /*final=*/false));
    RETURN_IF_ERROR(sink.Event(
        "info", "Epoch " + std::to_string(epoch) + " of " +
                    std::to_string(hp.n_epochs) +
                    " done; checkpoint saved at step " + std::to_string(step)));
  }
  if (sink.Cancelled()) return Cancelled();
  RETURN_IF_ERROR(WriteModel(sink, *model, step, /*final=*/true));
  RETURN_IF_ERROR(sink.Event(
      "info", "Training finished: " + std::to_string(summary.trained_tokens) +
                  " tokens trained; the model holds " +
                  std::to_string(model->entries()) + " replies"));
  return summary;
}

}  // namespace atrest::training
