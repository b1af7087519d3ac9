// atrest-example-trainer: an external trainer for atrest, and an example of
// how to write one. It speaks the atrest-trainer/1 protocol
// (docs/trainer-protocol.md) and trains atrest's built-in n-gram chat model
// (training/ngram_trainer.h); a real trainer would run its own training
// code in the same place.
//
// The protocol in one paragraph: atrest starts this program with four
// pipes. On stdin (fd 0) it sends one JSON header line, then exactly
// "training_bytes" bytes of training JSON Lines, then exactly
// "validation_bytes" bytes of validation JSON Lines, then EOF. The trainer
// answers on stdout (fd 1) with one JSON message per line, and sends each
// model snapshot's bytes on fd 3 right after the "model" message that
// announces their number. stderr (fd 2) is read by atrest but never shown
// anywhere. Exit status 0 after "done" means success.
//
// The data is customer data: this program keeps it in memory only, never
// writes it to disk, never prints it, and wipes it before exiting.
//
// Flags, for atrest's tests:
//   --step-delay-ms N   sleep N ms after every training step
//   --fail-with CODE    read the input, then send an "error" message with
//                       CODE and exit with status 1
//   --exit-early        train, then exit with status 2 without "done"
#include <string.h>  // explicit_bzero
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "training/ngram_trainer.h"
#include "training/trainer.h"

namespace {

using atrest::ByteView;
using atrest::Result;
using atrest::Status;
using atrest::StatusCode;
using nlohmann::json;
namespace training = atrest::training;

constexpr std::string_view kProtocol = "atrest-trainer/1";
constexpr int kModelFd = 3;
// atrest never sends a longer header; a longer line is not atrest talking.
constexpr size_t kMaxHeader = 64 * 1024;

struct Flags {
  int step_delay_ms = 0;
  std::string fail_with;
  bool exit_early = false;
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--step-delay-ms" && i + 1 < argc) {
      flags->step_delay_ms = std::atoi(argv[++i]);
    } else if (arg == "--fail-with" && i + 1 < argc) {
      flags->fail_with = argv[++i];
    } else if (arg == "--exit-early") {
      flags->exit_early = true;
    } else {
      return false;
    }
  }
  return true;
}

// --- Sending: stdout messages and fd 3 model bytes -------------------------

// One message: a JSON object on one line. stdout is a pipe, so flush every
// line; atrest acts on each message as it arrives.
void Send(const json& message) {
  const std::string line = message.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

bool WriteModelBytes(ByteView bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(kModelFd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return true;
}

// A model snapshot. The "model" message must state the size before the
// bytes, so this writer collects the snapshot in memory and sends both in
// Finish(): first {"type":"model",...} on stdout, then the bytes on fd 3.
// A trainer that knows the size up front can stream instead.
class PipeModelWriter final : public training::ModelWriter {
 public:
  PipeModelWriter(int64_t step, bool final) : step_(step), final_(final) {}
  ~PipeModelWriter() override { explicit_bzero(bytes_.data(), bytes_.size()); }

  Status Write(ByteView data) override {
    bytes_.insert(bytes_.end(), data.begin(), data.end());
    return Status::Ok();
  }

  Status Finish() override {
    Send({{"type", "model"},
          {"step", step_},
          {"final", final_},
          {"bytes", bytes_.size()}});
    if (!WriteModelBytes(bytes_)) {
      return atrest::InternalError("cannot write the model to fd 3");
    }
    return Status::Ok();
  }

 private:
  const int64_t step_;
  const bool final_;
  std::vector<uint8_t> bytes_;
};

// Turns what the trainer reports into protocol messages.
class ProtocolSink final : public training::TrainingSink {
 public:
  explicit ProtocolSink(int step_delay_ms) : step_delay_ms_(step_delay_ms) {}

  // {"type":"started"}: once, with every hyperparameter resolved (no -1).
  Status Started(const training::Hyperparameters& h,
                 int64_t total_steps) override {
    Send({{"type", "started"},
          {"hyperparameters",
           {{"n_epochs", h.n_epochs},
            {"batch_size", h.batch_size},
            {"learning_rate_multiplier", h.learning_rate_multiplier}}},
          {"total_steps", total_steps}});
    return Status::Ok();
  }

  // {"type":"event"}: becomes a job event that the customer can list, so
  // it must never quote the training data.
  Status Event(std::string_view level, std::string_view message) override {
    Send({{"type", "event"}, {"level", level}, {"message", message}});
    return Status::Ok();
  }

  // {"type":"metrics"}: one per step; the validation figures only when
  // there are any.
  Status Metrics(const training::StepMetrics& m) override {
    json message = {{"type", "metrics"},
                    {"step", m.step},
                    {"epoch", m.epoch},
                    {"train_loss", m.train_loss},
                    {"train_mean_token_accuracy", m.train_mean_token_accuracy}};
    if (m.valid_loss) message["valid_loss"] = *m.valid_loss;
    if (m.valid_mean_token_accuracy) {
      message["valid_mean_token_accuracy"] = *m.valid_mean_token_accuracy;
    }
    if (m.full_valid_loss) message["full_valid_loss"] = *m.full_valid_loss;
    if (m.full_valid_mean_token_accuracy) {
      message["full_valid_mean_token_accuracy"] =
          *m.full_valid_mean_token_accuracy;
    }
    Send(message);
    if (step_delay_ms_ > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(step_delay_ms_));
    }
    return Status::Ok();
  }

  Result<std::unique_ptr<training::ModelWriter>> BeginModel(
      int64_t step, bool final) override {
    return std::unique_ptr<training::ModelWriter>(
        new PipeModelWriter(step, final));
  }

  // atrest cancels a job by sending SIGTERM (then SIGKILL). This trainer
  // keeps nothing on disk, so SIGTERM's default action, exiting at once, is
  // all it needs.
  bool Cancelled() const override { return false; }

 private:
  const int step_delay_ms_;
};

// {"type":"error"}: the job fails with this code. invalid_training_file,
// invalid_validation_file and invalid_n_examples tell the customer that
// their data is at fault (and `message` says what to fix, without quoting
// the data); any other code is a trainer failure.
[[noreturn]] void Fail(std::string_view code, std::string_view message) {
  Send({{"type", "error"}, {"code", code}, {"message", message}});
  std::exit(1);
}

// --- Receiving: the header and the data on stdin ---------------------------

// Reads stdin: first the header line, then exact byte counts.
class Input {
 public:
  ~Input() { explicit_bzero(pending_.data(), pending_.size()); }

  bool ReadLine(std::string* line) {
    size_t nl;
    while ((nl = pending_.find('\n')) == std::string::npos) {
      if (pending_.size() > kMaxHeader || !Fill()) return false;
    }
    line->assign(pending_, 0, nl);
    pending_.erase(0, nl + 1);
    return true;
  }

  bool ReadExactly(uint64_t n, std::string* out) {
    while (pending_.size() < n) {
      if (!Fill()) return false;
    }
    out->assign(pending_, 0, n);
    explicit_bzero(pending_.data(), n);
    pending_.erase(0, n);
    return true;
  }

 private:
  bool Fill() {
    char buf[64 * 1024];
    ssize_t n;
    do {
      n = ::read(0, buf, sizeof(buf));
    } while (n < 0 && errno == EINTR);
    if (n > 0) pending_.append(buf, static_cast<size_t>(n));
    explicit_bzero(buf, sizeof(buf));
    return n > 0;
  }

  std::string pending_;
};

// Fields of the header. Each checks the type before reading: nlohmann's
// json::value() and get<T>() throw on a field of another type.
int64_t HeaderInt(const json& o, const char* name) {
  auto it = o.find(name);
  return it != o.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
}
std::string HeaderString(const json& o, const char* name) {
  auto it = o.find(name);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

// The training data as the trainer reads it: whole, from memory.
training::DataSource FromMemory(const std::string& data) {
  return [&data](const training::ByteSink& sink) {
    return sink(
        ByteView(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  };
}

void Wipe(std::string& s) { explicit_bzero(s.data(), s.size()); }

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: atrest-example-trainer [--step-delay-ms N] "
                 "[--fail-with CODE] [--exit-early]\n");
    return 64;
  }

  // 1. The header line:
  //    {"protocol":"atrest-trainer/1","base_model":"...",
  //     "hyperparameters":{"n_epochs":-1,"batch_size":-1,
  //                        "learning_rate_multiplier":-1},
  //     "seed":N,"training_bytes":N,"validation_bytes":M}
  //    -1 means "auto": the trainer chooses and reports its choice in
  //    "started".
  Input input;
  std::string header_line;
  if (!input.ReadLine(&header_line)) Fail("trainer_input", "no header line");
  const json header = json::parse(header_line, nullptr, false);
  if (!header.is_object() || HeaderString(header, "protocol") != kProtocol) {
    Fail("trainer_input", "not an atrest-trainer/1 header");
  }
  const int64_t training_bytes = HeaderInt(header, "training_bytes");
  const int64_t validation_bytes = HeaderInt(header, "validation_bytes");
  if (training_bytes < 0 || validation_bytes < 0) {
    Fail("trainer_input", "header without data sizes");
  }

  training::TrainingRequest request;
  request.base_model = HeaderString(header, "base_model");
  request.seed = HeaderInt(header, "seed");
  if (auto it = header.find("hyperparameters");
      it != header.end() && it->is_object()) {
    const json& h = *it;
    request.hyperparameters.n_epochs =
        static_cast<int>(HeaderInt(h, "n_epochs"));
    request.hyperparameters.batch_size =
        static_cast<int>(HeaderInt(h, "batch_size"));
    auto lr = h.find("learning_rate_multiplier");
    if (lr != h.end() && lr->is_number()) {
      request.hyperparameters.learning_rate_multiplier = lr->get<double>();
    }
  }

  // 2. The data: exactly training_bytes, then exactly validation_bytes (0:
  //    no validation file). Kept in memory, never on disk.
  std::string training_data, validation_data;
  if (!input.ReadExactly(static_cast<uint64_t>(training_bytes),
                         &training_data) ||
      !input.ReadExactly(static_cast<uint64_t>(validation_bytes),
                         &validation_data)) {
    Fail("trainer_input", "stdin ended before the data did");
  }
  request.training = FromMemory(training_data);
  request.training_bytes = training_data.size();
  if (validation_bytes > 0) {
    request.validation = FromMemory(validation_data);
    request.validation_bytes = validation_data.size();
  }

  if (!flags.fail_with.empty()) {
    Wipe(training_data);
    Wipe(validation_data);
    Fail(flags.fail_with, "failing as asked by --fail-with");
  }

  // 3. Train. The sink sends "started", "event", "metrics" and "model"
  //    messages (and model bytes on fd 3) as training goes.
  ProtocolSink sink(flags.step_delay_ms);
  training::NgramTrainer trainer;
  Result<training::TrainingSummary> summary = trainer.Train(request, sink);
  Wipe(training_data);
  Wipe(validation_data);
  if (!summary.ok()) {
    const Status& s = summary.status();
    if (s.code() == StatusCode::kInvalidArgument && !s.reason().empty()) {
      Fail(s.reason(), s.message());
    }
    Fail("training_failed", "the n-gram trainer failed");
  }
  if (flags.exit_early) return 2;

  // 4. {"type":"done"} after the final model, then exit 0.
  Send({{"type", "done"}, {"trained_tokens", summary->trained_tokens}});
  return 0;
}
