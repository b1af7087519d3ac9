// ParseTrainerMessage and FormatTrainerMessage (training/external_trainer.h):
// the stdout messages of docs/trainer-protocol.md.
//
// The line is untrusted: every field is checked for presence, type and range
// before it is read, and no nlohmann call that can throw (json::value(),
// get<T>() of another type, dump() of invalid UTF-8) runs on it. Error
// messages name the field and the rule, never the value.
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/json.h"
#include "base/json_fields.h"
#include "base/status.h"
#include "training/external_trainer.h"

namespace atrest::training {
namespace {

using nlohmann::json;

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
constexpr int64_t kMaxInt32 = std::numeric_limits<int32_t>::max();

// Reads the fields of one JSON object; each problem names the field by its
// path ("hyperparameters.n_epochs").
class Fields {
 public:
  Fields(const json& object, std::string prefix)
      : object_(object), prefix_(std::move(prefix)) {}

  const json* Find(const char* name) const {
    auto it = object_.find(name);
    return it == object_.end() ? nullptr : &*it;
  }

  Status Missing(const char* name) const {
    return InvalidArgumentError("missing field \"" + Path(name) + "\"");
  }
  Status Wrong(const char* name, std::string_view rule) const {
    return InvalidArgumentError("field \"" + Path(name) + "\" must be " +
                                std::string(rule));
  }

  // An integer in [min, max]; `rule` describes the range for the error.
  Result<int64_t> Int(const char* name, int64_t min, int64_t max,
                      std::string_view rule) const {
    const json* v = Find(name);
    if (v == nullptr) return Missing(name);
    if (!v->is_number_integer()) return Wrong(name, rule);
    // JsonInt gives the default for an integer beyond int64_t, and min is
    // always above INT64_MIN, so that case fails the range check too.
    const int64_t value =
        JsonInt(object_, name, std::numeric_limits<int64_t>::min());
    if (value < min || value > max) return Wrong(name, rule);
    return value;
  }

  // A finite number in [min, max], or nullopt when absent or null and
  // `optional` is set.
  Result<std::optional<double>> Number(const char* name, double min, double max,
                                       std::string_view rule,
                                       bool optional = false) const {
    const json* v = Find(name);
    if (v == nullptr || (optional && v->is_null())) {
      if (optional) return std::optional<double>();
      return Missing(name);
    }
    if (!v->is_number()) return Wrong(name, rule);
    const double value = v->get<double>();  // Any number type converts.
    if (!std::isfinite(value) || value < min || value > max) {
      return Wrong(name, rule);
    }
    return std::optional<double>(value);
  }

  Result<bool> Bool(const char* name) const {
    const json* v = Find(name);
    if (v == nullptr) return Missing(name);
    if (!v->is_boolean()) return Wrong(name, "true or false");
    return v->get<bool>();
  }

  // A string of 1 to max_size bytes (the parser has checked it is UTF-8).
  Result<std::string> Text(const char* name, size_t max_size) const {
    const json* v = Find(name);
    if (v == nullptr) return Missing(name);
    std::string rule =
        "a string of 1 to " + std::to_string(max_size) + " bytes";
    if (!v->is_string()) return Wrong(name, rule);
    std::string value = JsonString(object_, name);
    if (value.empty() || value.size() > max_size) return Wrong(name, rule);
    return value;
  }

 private:
  std::string Path(const char* name) const {
    return prefix_.empty() ? name : prefix_ + "." + name;
  }

  const json& object_;
  const std::string prefix_;
};

Result<TrainerMessage> ParseStarted(const Fields& f) {
  const json* h = f.Find("hyperparameters");
  if (h == nullptr) return f.Missing("hyperparameters");
  if (!h->is_object()) return f.Wrong("hyperparameters", "an object");
  const Fields hf(*h, "hyperparameters");
  TrainerStarted m;
  ASSIGN_OR_RETURN(const int64_t n_epochs,
                   hf.Int("n_epochs", 1, kMaxInt32, "an integer >= 1"));
  ASSIGN_OR_RETURN(const int64_t batch_size,
                   hf.Int("batch_size", 1, kMaxInt32, "an integer >= 1"));
  ASSIGN_OR_RETURN(
      const std::optional<double> lr,
      hf.Number("learning_rate_multiplier", 0,
                std::numeric_limits<double>::max(), "a number > 0"));
  if (*lr <= 0) return hf.Wrong("learning_rate_multiplier", "a number > 0");
  m.hyperparameters.n_epochs = static_cast<int>(n_epochs);
  m.hyperparameters.batch_size = static_cast<int>(batch_size);
  m.hyperparameters.learning_rate_multiplier = *lr;
  ASSIGN_OR_RETURN(m.total_steps,
                   f.Int("total_steps", 1, kMaxInt64, "an integer >= 1"));
  return TrainerMessage(std::move(m));
}

Result<TrainerMessage> ParseEvent(const Fields& f) {
  TrainerEvent m;
  const json* level = f.Find("level");
  if (level == nullptr) return f.Missing("level");
  const std::string kLevelRule = "\"info\", \"warning\" or \"error\"";
  if (!level->is_string()) return f.Wrong("level", kLevelRule);
  m.level = level->get<std::string>();
  if (m.level != "info" && m.level != "warning" && m.level != "error") {
    return f.Wrong("level", kLevelRule);
  }
  ASSIGN_OR_RETURN(m.message, f.Text("message", kMaxTrainerText));
  return TrainerMessage(std::move(m));
}

Result<TrainerMessage> ParseMetrics(const Fields& f) {
  constexpr double kHuge = std::numeric_limits<double>::max();
  constexpr std::string_view kLossRule = "a number >= 0";
  constexpr std::string_view kAccuracyRule = "a number from 0 to 1";
  StepMetrics m;
  ASSIGN_OR_RETURN(m.step, f.Int("step", 1, kMaxInt64, "an integer >= 1"));
  ASSIGN_OR_RETURN(m.epoch, f.Int("epoch", 1, kMaxInt64, "an integer >= 1"));
  ASSIGN_OR_RETURN(const std::optional<double> loss,
                   f.Number("train_loss", 0, kHuge, kLossRule));
  m.train_loss = *loss;
  ASSIGN_OR_RETURN(const std::optional<double> accuracy,
                   f.Number("train_mean_token_accuracy", 0, 1, kAccuracyRule));
  m.train_mean_token_accuracy = *accuracy;
  ASSIGN_OR_RETURN(m.valid_loss,
                   f.Number("valid_loss", 0, kHuge, kLossRule, true));
  ASSIGN_OR_RETURN(
      m.valid_mean_token_accuracy,
      f.Number("valid_mean_token_accuracy", 0, 1, kAccuracyRule, true));
  ASSIGN_OR_RETURN(m.full_valid_loss,
                   f.Number("full_valid_loss", 0, kHuge, kLossRule, true));
  ASSIGN_OR_RETURN(
      m.full_valid_mean_token_accuracy,
      f.Number("full_valid_mean_token_accuracy", 0, 1, kAccuracyRule, true));
  return TrainerMessage(std::move(m));
}

Result<TrainerMessage> ParseModel(const Fields& f) {
  TrainerModel m;
  ASSIGN_OR_RETURN(m.step, f.Int("step", 1, kMaxInt64, "an integer >= 1"));
  ASSIGN_OR_RETURN(m.final, f.Bool("final"));
  ASSIGN_OR_RETURN(const int64_t bytes,
                   f.Int("bytes", 1, kMaxInt64, "an integer >= 1"));
  m.bytes = static_cast<uint64_t>(bytes);
  return TrainerMessage(std::move(m));
}

Result<TrainerMessage> ParseDone(const Fields& f) {
  TrainerDone m;
  ASSIGN_OR_RETURN(m.trained_tokens,
                   f.Int("trained_tokens", 0, kMaxInt64, "an integer >= 0"));
  return TrainerMessage(std::move(m));
}

bool IsErrorCode(std::string_view code) {
  if (code.empty() || code.size() > kMaxTrainerErrorCode) return false;
  for (char c : code) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

Result<TrainerMessage> ParseError(const Fields& f) {
  TrainerError m;
  const std::string kCodeRule = "1 to " + std::to_string(kMaxTrainerErrorCode) +
                                " characters of a-z, 0-9 and _";
  const json* code = f.Find("code");
  if (code == nullptr) return f.Missing("code");
  if (!code->is_string()) return f.Wrong("code", kCodeRule);
  m.code = code->get<std::string>();
  if (!IsErrorCode(m.code)) return f.Wrong("code", kCodeRule);
  ASSIGN_OR_RETURN(m.message, f.Text("message", kMaxTrainerText));
  return TrainerMessage(std::move(m));
}

// Overload set for std::visit.
template <typename... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <typename... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

Result<TrainerMessage> ParseTrainerMessage(std::string_view line) {
  if (line.size() > kMaxTrainerMessageLine) {
    return InvalidArgumentError(
        "longer than " + std::to_string(kMaxTrainerMessageLine) + " bytes");
  }
  // Messages are flat objects (hyperparameters nest one level); the
  // trainer is another program, so what it sends is bounded like a request.
  constexpr JsonLimits kMessageLimits{
      .max_bytes = kMaxTrainerMessageLine, .max_depth = 8, .max_values = 1000};
  ASSIGN_OR_RETURN(const json j, ParseJsonObject(line, kMessageLimits));
  const Fields f(j, "");
  const json* type = f.Find("type");
  if (type == nullptr) return f.Missing("type");
  if (!type->is_string()) return f.Wrong("type", "a string");
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "started") return ParseStarted(f);
  if (t == "event") return ParseEvent(f);
  if (t == "metrics") return ParseMetrics(f);
  if (t == "model") return ParseModel(f);
  if (t == "done") return ParseDone(f);
  if (t == "error") return ParseError(f);
  return f.Wrong("type",
                 "one of started, event, metrics, model, done and error");
}

std::string FormatTrainerMessage(const TrainerMessage& message) {
  json j = std::visit(
      Overloaded{
          [](const TrainerStarted& m) {
            return json{{"type", "started"},
                        {"hyperparameters",
                         {{"n_epochs", m.hyperparameters.n_epochs},
                          {"batch_size", m.hyperparameters.batch_size},
                          {"learning_rate_multiplier",
                           m.hyperparameters.learning_rate_multiplier}}},
                        {"total_steps", m.total_steps}};
          },
          [](const TrainerEvent& m) {
            return json{
                {"type", "event"}, {"level", m.level}, {"message", m.message}};
          },
          [](const StepMetrics& m) {
            json o = {
                {"type", "metrics"},
                {"step", m.step},
                {"epoch", m.epoch},
                {"train_loss", m.train_loss},
                {"train_mean_token_accuracy", m.train_mean_token_accuracy}};
            if (m.valid_loss) o["valid_loss"] = *m.valid_loss;
            if (m.valid_mean_token_accuracy) {
              o["valid_mean_token_accuracy"] = *m.valid_mean_token_accuracy;
            }
            if (m.full_valid_loss) o["full_valid_loss"] = *m.full_valid_loss;
            if (m.full_valid_mean_token_accuracy) {
              o["full_valid_mean_token_accuracy"] =
                  *m.full_valid_mean_token_accuracy;
            }
            return o;
          },
          [](const TrainerModel& m) {
            return json{{"type", "model"},
                        {"step", m.step},
                        {"final", m.final},
                        {"bytes", m.bytes}};
          },
          [](const TrainerDone& m) {
            return json{{"type", "done"}, {"trained_tokens", m.trained_tokens}};
          },
          [](const TrainerError& m) {
            return json{
                {"type", "error"}, {"code", m.code}, {"message", m.message}};
          },
      },
      message);
  // DumpJson does not throw on invalid UTF-8 in strings that did not come
  // from the parser.
  return DumpJson(j);
}

}  // namespace atrest::training
