// Fuzzes ParseTrainerMessage (training/external_trainer.h): the input is one
// line that an external trainer wrote to its stdout.
//
// Invariants, each checked with abort():
//  - parsing never crashes, throws or leaks;
//  - a refusal is InvalidArgument with a short message (it names a field
//    and a rule, never the line);
//  - an accepted message obeys the protocol's ranges: resolved
//    hyperparameters, steps and epochs >= 1, finite losses >= 0,
//    accuracies in [0, 1], a known event level, a code of [a-z0-9_],
//    texts of 1 to kMaxTrainerText bytes, at least one model byte;
//  - FormatTrainerMessage of an accepted message parses back, and
//    formatting that again gives the same line (a fixed point).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/status.h"
#include "fuzz_check.h"
#include "training/external_trainer.h"

namespace atrest::training {
namespace {

// Longest refusal: a nested field name plus the longest rule.
constexpr size_t kMaxRefusal = 160;

bool IsLoss(double v) { return std::isfinite(v) && v >= 0; }
bool IsAccuracy(double v) { return std::isfinite(v) && v >= 0 && v <= 1; }
bool IsOptional(const std::optional<double>& v, bool (*ok)(double)) {
  return !v || ok(*v);
}
bool IsText(const std::string& s) {
  return !s.empty() && s.size() <= kMaxTrainerText;
}

void CheckRanges(const TrainerMessage& message) {
  if (const auto* m = std::get_if<TrainerStarted>(&message)) {
    FUZZ_CHECK(m->hyperparameters.n_epochs >= 1);
    FUZZ_CHECK(m->hyperparameters.batch_size >= 1);
    FUZZ_CHECK(std::isfinite(m->hyperparameters.learning_rate_multiplier) &&
               m->hyperparameters.learning_rate_multiplier > 0);
    FUZZ_CHECK(m->total_steps >= 1);
  } else if (const auto* e = std::get_if<TrainerEvent>(&message)) {
    FUZZ_CHECK(e->level == "info" || e->level == "warning" ||
               e->level == "error");
    FUZZ_CHECK(IsText(e->message));
  } else if (const auto* s = std::get_if<StepMetrics>(&message)) {
    FUZZ_CHECK(s->step >= 1 && s->epoch >= 1);
    FUZZ_CHECK(IsLoss(s->train_loss));
    FUZZ_CHECK(IsAccuracy(s->train_mean_token_accuracy));
    FUZZ_CHECK(IsOptional(s->valid_loss, IsLoss));
    FUZZ_CHECK(IsOptional(s->valid_mean_token_accuracy, IsAccuracy));
    FUZZ_CHECK(IsOptional(s->full_valid_loss, IsLoss));
    FUZZ_CHECK(IsOptional(s->full_valid_mean_token_accuracy, IsAccuracy));
  } else if (const auto* model = std::get_if<TrainerModel>(&message)) {
    FUZZ_CHECK(model->step >= 1 && model->bytes >= 1);
  } else if (const auto* d = std::get_if<TrainerDone>(&message)) {
    FUZZ_CHECK(d->trained_tokens >= 0);
  } else {
    const auto& err = std::get<TrainerError>(message);
    FUZZ_CHECK(!err.code.empty() && err.code.size() <= kMaxTrainerErrorCode);
    for (char c : err.code) {
      FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    }
    FUZZ_CHECK(IsText(err.message));
  }
}

int Run(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  Result<TrainerMessage> parsed = ParseTrainerMessage(line);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == StatusCode::kInvalidArgument);
    FUZZ_CHECK(parsed.status().message().size() <= kMaxRefusal);
    return 0;
  }
  CheckRanges(*parsed);
  const std::string formatted = FormatTrainerMessage(*parsed);
  Result<TrainerMessage> again = ParseTrainerMessage(formatted);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->index() == parsed->index());
  FUZZ_CHECK(FormatTrainerMessage(*again) == formatted);
  return 0;
}

}  // namespace
}  // namespace atrest::training

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return atrest::training::Run(data, size);
}
