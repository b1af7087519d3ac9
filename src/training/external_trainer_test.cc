// Tests of ExternalTrainer (training/external_trainer.h): the message
// parser, a real run of examples/example_trainer.cc (ATREST_EXAMPLE_TRAINER
// is its path, set by CMake), and protocol violations, cancellation, sink
// errors and limits with small /bin/sh trainers written to a temp dir.
#include "training/external_trainer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/status_testing.h"
#include "training/fake_training_sink.h"
#include "training/language_model.h"

namespace atrest::training {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// ParseTrainerMessage and FormatTrainerMessage.

TEST(ParseTrainerMessageTest, ReadsEveryType) {
  ASSERT_OK_AND_ASSIGN(
      TrainerMessage started,
      ParseTrainerMessage(R"({"type":"started","hyperparameters":)"
                          R"({"n_epochs":3,"batch_size":2,)"
                          R"("learning_rate_multiplier":0.5},)"
                          R"("total_steps":30,"unknown":[1]})"));
  const auto& s = std::get<TrainerStarted>(started);
  EXPECT_EQ(s.hyperparameters.n_epochs, 3);
  EXPECT_EQ(s.hyperparameters.batch_size, 2);
  EXPECT_EQ(s.hyperparameters.learning_rate_multiplier, 0.5);
  EXPECT_EQ(s.total_steps, 30);

  ASSERT_OK_AND_ASSIGN(
      TrainerMessage event,
      ParseTrainerMessage(
          R"({"type":"event","level":"warning","message":"slow disk"})"));
  EXPECT_EQ(std::get<TrainerEvent>(event).level, "warning");
  EXPECT_EQ(std::get<TrainerEvent>(event).message, "slow disk");

  ASSERT_OK_AND_ASSIGN(
      TrainerMessage metrics,
      ParseTrainerMessage(R"({"type":"metrics","step":4,"epoch":2,)"
                          R"("train_loss":1.5,"train_mean_token_accuracy":1,)"
                          R"("valid_loss":2,"full_valid_loss":null})"));
  const auto& m = std::get<StepMetrics>(metrics);
  EXPECT_EQ(m.step, 4);
  EXPECT_EQ(m.epoch, 2);
  EXPECT_EQ(m.train_loss, 1.5);
  EXPECT_EQ(m.train_mean_token_accuracy, 1.0);
  EXPECT_EQ(m.valid_loss, 2.0);
  EXPECT_FALSE(m.valid_mean_token_accuracy.has_value());
  EXPECT_FALSE(m.full_valid_loss.has_value());

  ASSERT_OK_AND_ASSIGN(
      TrainerMessage model,
      ParseTrainerMessage(
          R"({"type":"model","step":7,"final":true,"bytes":4096})"));
  EXPECT_EQ(std::get<TrainerModel>(model).step, 7);
  EXPECT_TRUE(std::get<TrainerModel>(model).final);
  EXPECT_EQ(std::get<TrainerModel>(model).bytes, 4096u);

  ASSERT_OK_AND_ASSIGN(
      TrainerMessage done,
      ParseTrainerMessage(R"({"type":"done","trained_tokens":0})"));
  EXPECT_EQ(std::get<TrainerDone>(done).trained_tokens, 0);

  ASSERT_OK_AND_ASSIGN(
      TrainerMessage error,
      ParseTrainerMessage(R"({"type":"error","code":"invalid_n_examples",)"
                          R"("message":"Too few examples"})"));
  EXPECT_EQ(std::get<TrainerError>(error).code, "invalid_n_examples");
  EXPECT_EQ(std::get<TrainerError>(error).message, "Too few examples");
}

// Each refusal names the field and the rule, never the value.
TEST(ParseTrainerMessageTest, RefusesBadFields) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "not valid JSON"},
      {"{\"type\":\"done\"", "not valid JSON"},
      {"{\"type\":\"event\",\"level\":\"info\",\"message\":\"\xff\"}",
       "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"level":"info"})", "missing field \"type\""},
      {R"({"type":7})", "field \"type\" must be a string"},
      {R"({"type":"secret-value"})", "field \"type\" must be one of"},
      {R"({"type":"started","total_steps":1})",
       "missing field \"hyperparameters\""},
      {R"({"type":"started","hyperparameters":{"n_epochs":-1,"batch_size":1,)"
       R"("learning_rate_multiplier":1},"total_steps":1})",
       "field \"hyperparameters.n_epochs\" must be an integer >= 1"},
      {R"({"type":"started","hyperparameters":{"n_epochs":1,"batch_size":1,)"
       R"("learning_rate_multiplier":0},"total_steps":1})",
       "field \"hyperparameters.learning_rate_multiplier\" must be a number > "
       "0"},
      {R"({"type":"started","hyperparameters":{"n_epochs":1,"batch_size":1,)"
       R"("learning_rate_multiplier":1},"total_steps":"1"})",
       "field \"total_steps\" must be an integer >= 1"},
      {R"({"type":"event","level":"debug","message":"m"})",
       "field \"level\" must be"},
      {R"({"type":"event","level":"info","message":""})",
       "field \"message\" must be a string of 1 to 4096 bytes"},
      {R"({"type":"metrics","step":1,"epoch":1,"train_loss":-1,)"
       R"("train_mean_token_accuracy":0})",
       "field \"train_loss\" must be a number >= 0"},
      {R"({"type":"metrics","step":1,"epoch":1,"train_loss":1,)"
       R"("train_mean_token_accuracy":1.5})",
       "field \"train_mean_token_accuracy\" must be a number from 0 to 1"},
      {R"({"type":"metrics","step":1,"epoch":1,"train_loss":1e999,)"
       R"("train_mean_token_accuracy":1})",
       "not valid JSON"},  // nlohmann refuses numbers beyond double.
      {R"({"type":"metrics","step":1,"epoch":1,"train_loss":1,)"
       R"("train_mean_token_accuracy":1,"valid_loss":"x"})",
       "field \"valid_loss\" must be a number >= 0"},
      {R"({"type":"model","step":1,"final":1,"bytes":5})",
       "field \"final\" must be true or false"},
      {R"({"type":"model","step":1,"final":true,"bytes":0})",
       "field \"bytes\" must be an integer >= 1"},
      {R"({"type":"model","step":1,"final":true,)"
       R"("bytes":18446744073709551615})",
       "field \"bytes\" must be an integer >= 1"},
      {R"({"type":"model","step":1.5,"final":true,"bytes":1})",
       "field \"step\" must be an integer >= 1"},
      {R"({"type":"done","trained_tokens":-5})",
       "field \"trained_tokens\" must be an integer >= 0"},
      {R"({"type":"error","code":"Bad Code","message":"m"})",
       "field \"code\" must be 1 to 64 characters of a-z, 0-9 and _"},
      {R"({"type":"error","code":"x"})", "missing field \"message\""},
  };
  for (const auto& [line, want] : cases) {
    Result<TrainerMessage> m = ParseTrainerMessage(line);
    SCOPED_TRACE(line);
    EXPECT_REFUSED(m, StatusCode::kInvalidArgument, "");
    EXPECT_NE(m.status().message().find(want), std::string::npos)
        << line << " -> " << m.status().message();
    EXPECT_EQ(m.status().message().find("secret-value"), std::string::npos);
  }
  EXPECT_FALSE(ParseTrainerMessage(std::string(kMaxTrainerText + 1, 'x')).ok());
  const std::string long_text(kMaxTrainerText + 1, 'a');
  EXPECT_FALSE(ParseTrainerMessage(R"({"type":"event","level":"info",)"
                                   R"("message":")" +
                                   long_text + "\"}")
                   .ok());
  EXPECT_FALSE(
      ParseTrainerMessage(std::string(kMaxTrainerMessageLine + 1, ' ')).ok());
}

TEST(FormatTrainerMessageTest, ParsesBack) {
  StepMetrics m;
  m.step = 3;
  m.epoch = 1;
  m.train_loss = 0.1;
  m.train_mean_token_accuracy = 0.25;
  m.full_valid_mean_token_accuracy = 0.75;
  const TrainerMessage messages[] = {
      TrainerStarted{.hyperparameters = {.n_epochs = 2,
                                         .batch_size = 4,
                                         .learning_rate_multiplier = 0.1},
                     .total_steps = 8},
      TrainerEvent{.level = "error", .message = "quote \" and \xc3\xa9"},
      m,
      TrainerModel{.step = 8, .final = false, .bytes = 12},
      TrainerDone{.trained_tokens = 99},
      TrainerError{.code = "gpu_out_of_memory", .message = "out of memory"},
  };
  for (const TrainerMessage& message : messages) {
    const std::string line = FormatTrainerMessage(message);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    ASSERT_OK_AND_ASSIGN(TrainerMessage back, ParseTrainerMessage(line));
    EXPECT_EQ(back.index(), message.index());
    EXPECT_EQ(FormatTrainerMessage(back), line);
  }
}

// ---------------------------------------------------------------------------
// ExternalTrainer::Create.

TEST(ExternalTrainerCreateTest, RefusesBadOptions) {
  auto with = [](auto change) {
    ExternalTrainerOptions o{.argv = {"/bin/true"}};
    change(o);
    return ExternalTrainer::Create(std::move(o)).status();
  };
  EXPECT_OK(with([](ExternalTrainerOptions&) {}));
  EXPECT_EQ(with([](auto& o) { o.argv.clear(); }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](auto& o) { o.argv = {"true"}; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      with([](auto& o) { o.argv.push_back(std::string("a\0b", 3)); }).code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](auto& o) { o.timeout = std::chrono::seconds(0); }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](auto& o) { o.kill_grace = milliseconds(-1); }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](auto& o) { o.max_model_bytes = 0; }).code(),
            StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Helpers for runs.

// A fresh directory, removed with everything in it afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "atrest-ext-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Chat examples that teach one answer per question.
std::string Examples(int n) {
  static const char* kCities[][2] = {
      {"France", "Paris"},  {"Italy", "Rome"},     {"Spain", "Madrid"},
      {"Japan", "Tokyo"},   {"Peru", "Lima"},      {"Kenya", "Nairobi"},
      {"Egypt", "Cairo"},   {"Chile", "Santiago"}, {"Norway", "Oslo"},
      {"Poland", "Warsaw"}, {"Greece", "Athens"},  {"Cuba", "Havana"},
  };
  std::string out;
  for (int i = 0; i < n; ++i) {
    const auto& c = kCities[i % 12];
    out += std::string(R"({"messages":[{"role":"system","content":"You )"
                       R"(answer with one city."},{"role":"user","content":)"
                       R"("What is the capital of )") +
           c[0] + R"(?"},{"role":"assistant","content":")" + c[1] + R"(."}]})" +
           "\n";
  }
  return out;
}

TrainingRequest Request(std::string training, std::string validation = "") {
  TrainingRequest r;
  r.base_model = "atrest-ngram-1";
  r.seed = 42;
  r.training_bytes = training.size();
  r.training = StringSource(std::move(training), 1000);
  if (!validation.empty()) {
    r.validation_bytes = validation.size();
    r.validation = StringSource(std::move(validation), 1000);
  }
  return r;
}

std::unique_ptr<ExternalTrainer> NewTrainer(
    std::vector<std::string> argv, milliseconds kill_grace = milliseconds(500),
    std::chrono::seconds timeout = std::chrono::seconds(60),
    uint64_t max_model_bytes = uint64_t{1} << 30) {
  Result<std::unique_ptr<ExternalTrainer>> t =
      ExternalTrainer::Create({.argv = std::move(argv),
                               .timeout = timeout,
                               .kill_grace = kill_grace,
                               .max_model_bytes = max_model_bytes});
  EXPECT_OK(t);
  return std::move(t).value();
}

std::vector<std::string> ExampleTrainer(std::vector<std::string> flags = {}) {
  std::vector<std::string> argv = {ATREST_EXAMPLE_TRAINER};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return argv;
}

// True once `pid`, a child of this process, has been reaped (waitpid
// knows no such child).
bool Reaped(pid_t pid) {
  return ::waitpid(pid, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

// True when `pid` is gone or a zombie within 2 s (SIGKILL takes effect when
// the process next runs; helpers are reparented, and a container's init may
// be slow to reap them).
bool DiesSoon(pid_t pid) {
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(2);
  do {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    const std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
    const size_t paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() &&
        stat[paren + 2] == 'Z') {
      return true;
    }
    ::usleep(10'000);
  } while (Clock::now() < deadline);
  return false;
}

void ExpectMessageHas(const Status& s, std::string_view want) {
  EXPECT_NE(s.message().find(want), std::string::npos)
      << "want \"" << want << "\" in " << s;
}

// ---------------------------------------------------------------------------
// Runs of the example trainer.

TEST(ExternalTrainerTest, ExampleTrainerTrainsAServableModel) {
  std::unique_ptr<ExternalTrainer> trainer = NewTrainer(ExampleTrainer());
  FakeTrainingSink sink;
  ASSERT_OK_AND_ASSIGN(
      TrainingSummary summary,
      trainer->Train(Request(Examples(24), Examples(12)), sink));

  EXPECT_EQ(sink.started_calls, 1);
  EXPECT_GE(sink.resolved.n_epochs, 1);
  EXPECT_GE(sink.resolved.batch_size, 1);
  EXPECT_GT(sink.resolved.learning_rate_multiplier, 0);
  EXPECT_EQ(summary.resolved.n_epochs, sink.resolved.n_epochs);
  EXPECT_GT(summary.trained_tokens, 0);
  EXPECT_GE(sink.total_steps, 1);

  ASSERT_FALSE(sink.metrics.empty());
  EXPECT_EQ(sink.metrics.front().step, 1);
  bool any_validation = false;
  for (const StepMetrics& m : sink.metrics) {
    any_validation = any_validation || m.valid_loss.has_value() ||
                     m.full_valid_loss.has_value();
  }
  EXPECT_TRUE(any_validation);

  EXPECT_FALSE(sink.events.empty());
  EXPECT_EQ(sink.metrics.back().step, sink.total_steps);

  // Checkpoints (one per epoch), then exactly one final model, last; all
  // complete.
  ASSERT_GE(sink.models.size(), 2u);
  for (size_t i = 0; i < sink.models.size(); ++i) {
    EXPECT_TRUE(sink.models[i].finished);
    EXPECT_EQ(sink.models[i].final, i + 1 == sink.models.size());
    EXPECT_FALSE(sink.models[i].bytes.empty());
  }

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LanguageModel> model,
                       LoadLanguageModel(sink.models.back().bytes));
  const Conversation prompt = {
      {.role = "system", .content = "You answer with one city."},
      {.role = "user", .content = "What is the capital of Japan?"}};
  ASSERT_OK_AND_ASSIGN(
      Generation g,
      model->Complete(prompt, GenerateOptions{.temperature = 0}, nullptr));
  EXPECT_EQ(g.text, "Tokyo.");
}

TEST(ExternalTrainerTest, TrainerErrorWithDataCodeIsInvalidArgument) {
  for (const char* code : {"invalid_training_file", "invalid_validation_file",
                           "invalid_n_examples"}) {
    std::unique_ptr<ExternalTrainer> trainer =
        NewTrainer(ExampleTrainer({"--fail-with", code}));
    FakeTrainingSink sink;
    Result<TrainingSummary> r = trainer->Train(Request(Examples(12)), sink);
    EXPECT_REFUSED(r, StatusCode::kInvalidArgument, code);
    EXPECT_EQ(r.status().message(), "failing as asked by --fail-with");
  }
}

TEST(ExternalTrainerTest, TrainerErrorWithOtherCodeIsInternal) {
  std::unique_ptr<ExternalTrainer> trainer =
      NewTrainer(ExampleTrainer({"--fail-with", "gpu_out_of_memory"}));
  FakeTrainingSink sink;
  Result<TrainingSummary> r = trainer->Train(Request(Examples(12)), sink);
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  ExpectMessageHas(r.status(), "error code gpu_out_of_memory");
}

TEST(ExternalTrainerTest, ExitWithoutDoneFails) {
  std::unique_ptr<ExternalTrainer> trainer =
      NewTrainer(ExampleTrainer({"--exit-early"}));
  FakeTrainingSink sink;
  Result<TrainingSummary> r = trainer->Train(Request(Examples(12)), sink);
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  ExpectMessageHas(r.status(),
                   "trainer exited with status 2 before reporting done");
  EXPECT_FALSE(sink.models.empty());  // It got that far.
}

TEST(ExternalTrainerTest, CancelStopsASlowTrainerPromptly) {
  std::unique_ptr<ExternalTrainer> trainer =
      NewTrainer(ExampleTrainer({"--step-delay-ms", "5000"}));
  FakeTrainingSink sink;
  sink.CancelAfterSteps(1);
  const Clock::time_point start = Clock::now();
  Result<TrainingSummary> r = trainer->Train(Request(Examples(24)), sink);
  EXPECT_REFUSED(r, StatusCode::kCancelled, "");
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(4));
  EXPECT_EQ(sink.metrics.size(), 1u);
}

TEST(ExternalTrainerTest, SinkErrorsAreReturnedUnchanged) {
  const Status key_gone(StatusCode::kFailedPrecondition,
                        "the account's key is not accessible",
                        "KeyNotAccessible");
  {
    std::unique_ptr<ExternalTrainer> trainer = NewTrainer(ExampleTrainer());
    FakeTrainingSink sink;
    sink.FailAt(FakeTrainingSink::Call::kBeginModel, 1, key_gone);
    Result<TrainingSummary> r = trainer->Train(Request(Examples(12)), sink);
    EXPECT_EQ(r.status(), key_gone);
    EXPECT_TRUE(sink.models.empty());
  }
  {
    std::unique_ptr<ExternalTrainer> trainer = NewTrainer(ExampleTrainer());
    FakeTrainingSink sink;
    sink.FailAt(FakeTrainingSink::Call::kWrite, 1, key_gone);
    Result<TrainingSummary> r = trainer->Train(Request(Examples(12)), sink);
    EXPECT_EQ(r.status(), key_gone);
    ASSERT_EQ(sink.models.size(), 1u);
    EXPECT_FALSE(sink.models[0].finished);
  }
}

TEST(ExternalTrainerTest, DataSourceErrorsAreReturnedUnchanged) {
  const Status decrypt_failed(StatusCode::kDataLoss, "integrity check failed");
  std::unique_ptr<ExternalTrainer> trainer = NewTrainer(ExampleTrainer());
  FakeTrainingSink sink;
  TrainingRequest request = Request(Examples(12));
  // Part of the data, then the failure.
  request.training = [&](const ByteSink& s) -> Status {
    RETURN_IF_ERROR(s(AsBytes(R"({"messages":)")));
    return decrypt_failed;
  };
  Result<TrainingSummary> r = trainer->Train(request, sink);
  EXPECT_EQ(r.status(), decrypt_failed);
  EXPECT_EQ(sink.started_calls, 0);

  // A source that streams fewer bytes than it declared.
  FakeTrainingSink sink2;
  TrainingRequest shorter = Request(Examples(12));
  shorter.training_bytes += 10;
  Result<TrainingSummary> r2 = trainer->Train(shorter, sink2);
  EXPECT_REFUSED(r2, StatusCode::kInternal, "");
  ExpectMessageHas(r2.status(), "not the");
}

// ---------------------------------------------------------------------------
// Small shell trainers.

constexpr const char* kStarted =
    R"({"type":"started","hyperparameters":{"n_epochs":1,"batch_size":1,)"
    R"("learning_rate_multiplier":1},"total_steps":1})";
constexpr const char* kFinal5 =
    R"({"type":"model","step":1,"final":true,"bytes":5})";
constexpr const char* kDone = R"({"type":"done","trained_tokens":7})";
constexpr const char* kMetrics =
    R"({"type":"metrics","step":1,"epoch":1,"train_loss":0.5,)"
    R"("train_mean_token_accuracy":0.25})";

class ShellTrainerTest : public ::testing::Test {
 protected:
  // argv for /bin/sh running `body` from a script file in the temp dir.
  std::vector<std::string> Script(const std::string& body) {
    const std::string path =
        dir_.path() + "/trainer" + std::to_string(++scripts_) + ".sh";
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    return {"/bin/sh", path};
  }
  // `printf '%s\n' 'line'`: one message.
  static std::string Say(const std::string& line) {
    return "printf '%s\\n' '" + line + "'\n";
  }

  Result<TrainingSummary> Run(
      const std::string& body,
      std::chrono::seconds timeout = std::chrono::seconds(60),
      uint64_t max_model_bytes = uint64_t{1} << 30) {
    std::unique_ptr<ExternalTrainer> trainer =
        NewTrainer(Script(body), milliseconds(500), timeout, max_model_bytes);
    return trainer->Train(Request(Examples(12)), sink_);
  }

  TempDir dir_;
  int scripts_ = 0;
  FakeTrainingSink sink_;
};

TEST_F(ShellTrainerTest, MinimalTrainerSucceeds) {
  ASSERT_OK_AND_ASSIGN(
      TrainingSummary s,
      Run(Say(kStarted) + Say(kFinal5) + "printf 'MODEL' >&3\n" + Say(kDone)));
  EXPECT_EQ(s.trained_tokens, 7);
  EXPECT_EQ(s.resolved.n_epochs, 1);
  ASSERT_EQ(sink_.models.size(), 1u);
  EXPECT_EQ(sink_.models[0].bytes, ToBytes("MODEL"));
  EXPECT_TRUE(sink_.models[0].finished);
}

TEST_F(ShellTrainerTest, StdinCarriesHeaderThenDataThenEof) {
  const std::string training = Examples(12);
  ASSERT_OK(
      Run("IFS= read -r header\n"
          "printf '%s\\n' \"$header\" > " +
          dir_.path() +
          "/header\n"
          "cat > " +
          dir_.path() + "/data\n" + Say(kStarted) + Say(kFinal5) +
          "printf 'MODEL' >&3\n" + Say(kDone)));
  const std::string header = ReadText(dir_.path() + "/header");
  EXPECT_EQ(header, R"({"base_model":"atrest-ngram-1","hyperparameters":)"
                    R"({"batch_size":-1,"learning_rate_multiplier":-1.0,)"
                    R"("n_epochs":-1},"protocol":"atrest-trainer/1","seed":42,)"
                    R"("training_bytes":)" +
                        std::to_string(training.size()) +
                        R"(,"validation_bytes":0})"
                        "\n");
  EXPECT_EQ(ReadText(dir_.path() + "/data"), training);
}

TEST_F(ShellTrainerTest, InvalidJsonNamesTheLine) {
  Result<TrainingSummary> r =
      Run(Say(kStarted) + Say("{\"type\": secret") + "sleep 30\n");
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  ExpectMessageHas(r.status(),
                   "trainer sent an invalid message on line 2: not valid "
                   "JSON");
  EXPECT_EQ(r.status().message().find("secret"), std::string::npos);
}

TEST_F(ShellTrainerTest, ShortModelBytesFail) {
  Result<TrainingSummary> r =
      Run(Say(kStarted) +
          Say(R"({"type":"model","step":1,"final":true,)"
              R"("bytes":100})") +
          "printf 'abc' >&3\n");
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  ExpectMessageHas(r.status(), "3 of the 100 model bytes announced on line 2");
  ASSERT_EQ(sink_.models.size(), 1u);
  EXPECT_FALSE(sink_.models[0].finished);
}

TEST_F(ShellTrainerTest, LargeModelStreamsInChunks) {
  // 3 MB: more than a pipe holds and than atrest reads at once.
  constexpr int kSize = 3'000'000;
  ASSERT_OK(Run(Say(kStarted) +
                Say(R"({"type":"model","step":1,"final":true,"bytes":)" +
                    std::to_string(kSize) + "}") +
                "head -c " + std::to_string(kSize) + " /dev/zero >&3\n" +
                Say(kDone)));
  ASSERT_EQ(sink_.models.size(), 1u);
  EXPECT_EQ(sink_.models[0].bytes, Bytes(kSize, 0));
  EXPECT_GT(sink_.models[0].writes, 3u);
  EXPECT_TRUE(sink_.models[0].finished);
}

TEST_F(ShellTrainerTest, ExtraModelBytesFail) {
  Result<TrainingSummary> r = Run(Say(kStarted) + Say(kFinal5) +
                                  "printf 'MODEL+extra' >&3\n" + Say(kDone));
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  ExpectMessageHas(r.status(), "more bytes to fd 3 than");
}

TEST_F(ShellTrainerTest, NonZeroExitAfterDoneFails) {
  Result<TrainingSummary> r =
      Run(Say(kStarted) + Say(kFinal5) + "printf 'MODEL' >&3\n" + Say(kDone) +
          "exit 3\n");
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  ExpectMessageHas(r.status(),
                   "trainer exited with status 3 after reporting done");
}

TEST_F(ShellTrainerTest, ExitWithoutDoneFails) {
  Result<TrainingSummary> r =
      Run(Say(kStarted) + Say(kFinal5) + "printf 'MODEL' >&3\nexit 0\n");
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  ExpectMessageHas(r.status(),
                   "trainer exited with status 0 before reporting done");
}

TEST_F(ShellTrainerTest, DoneBeforeFinalModelFails) {
  Result<TrainingSummary> r = Run(Say(kStarted) + Say(kDone));
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  ExpectMessageHas(r.status(), "done before sending a final model on line 2");
}

TEST_F(ShellTrainerTest, OrderIsEnforced) {
  Result<TrainingSummary> r = Run(Say(kFinal5));
  ExpectMessageHas(r.status(), "model before started on line 1");
  r = Run(Say(kStarted) + Say(kStarted));
  ExpectMessageHas(r.status(), "second started message on line 2");
  r = Run(Say(kStarted) + Say(kFinal5) + "printf 'MODEL' >&3\n" + Say(kFinal5));
  ExpectMessageHas(r.status(), "model after the final one on line 3");
  r = Run(Say(kStarted) + Say(kFinal5) + "printf 'MODEL' >&3\n" + Say(kDone) +
          Say(kDone));
  ExpectMessageHas(r.status(), "message after done on line 4");
}

TEST_F(ShellTrainerTest, UnterminatedLastLineFails) {
  Result<TrainingSummary> r = Run(Say(kStarted) + "printf '{\"type\"'\n");
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  ExpectMessageHas(r.status(), "in the middle of a message on line 2");
}

TEST_F(ShellTrainerTest, TooLongLineFails) {
  // 70000 bytes without a newline, and the trainer keeps running.
  Result<TrainingSummary> r =
      Run(Say(kStarted) + "head -c 70000 /dev/zero | tr '\\0' x\nsleep 30\n");
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  ExpectMessageHas(r.status(), "message longer than 65536 bytes on line 2");
}

TEST_F(ShellTrainerTest, ModelOverTheLimitFails) {
  Result<TrainingSummary> r =
      Run(Say(kStarted) +
              Say(R"({"type":"model","step":1,"final":true,"bytes":1000})") +
              "sleep 30\n",
          std::chrono::seconds(60), 999);
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  ExpectMessageHas(r.status(),
                   "model of 1000 bytes on line 2, more than the limit of 999");
  EXPECT_TRUE(sink_.models.empty());
}

TEST_F(ShellTrainerTest, ErrorMessagesMapToStatus) {
  Result<TrainingSummary> r =
      Run(Say(R"({"type":"error","code":"invalid_validation_file",)"
              R"("message":"Validation file has 2 examples"})") +
          "exit 1\n");
  EXPECT_REFUSED(r, StatusCode::kInvalidArgument, "invalid_validation_file");
  EXPECT_EQ(r.status().message(), "Validation file has 2 examples");

  // A trainer that says "error" and then hangs is stopped after the grace.
  r = Run(Say(R"({"type":"error","code":"cuda_error","message":"no GPU"})") +
          "sleep 30\n");
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  EXPECT_EQ(r.status().message(),
            "trainer failed with error code cuda_error: no GPU");
}

TEST_F(ShellTrainerTest, StderrIsCountedNeverShown) {
  Result<TrainingSummary> r =
      Run("printf 'customer-secret-data' >&2\n" + Say(kStarted) + "exit 4\n");
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  EXPECT_EQ(r.status().message(),
            "trainer exited with status 4 before reporting done (it wrote 20 "
            "bytes to stderr, not shown)");
  for (const auto& [level, message] : sink_.events) {
    EXPECT_EQ(message.find("customer"), std::string::npos);
  }
}

TEST_F(ShellTrainerTest, EventsAndMetricsReachTheSink) {
  ASSERT_OK(Run(Say(R"({"type":"event","level":"info","message":"loading"})") +
                Say(kStarted) +
                Say(R"({"type":"metrics","step":1,"epoch":1,"train_loss":0.5,)"
                    R"("train_mean_token_accuracy":0.25,"valid_loss":0.75})") +
                Say(R"({"type":"model","step":1,"final":false,"bytes":2})") +
                "printf 'CK' >&3\n" + Say(kFinal5) + "printf 'MODEL' >&3\n" +
                Say(R"({"type":"event","level":"warning","message":"bye"})") +
                Say(kDone)));
  ASSERT_EQ(sink_.events.size(), 2u);
  EXPECT_EQ(sink_.events[0],
            std::make_pair(std::string("info"), std::string("loading")));
  EXPECT_EQ(sink_.events[1].first, "warning");
  ASSERT_EQ(sink_.metrics.size(), 1u);
  EXPECT_EQ(sink_.metrics[0].train_loss, 0.5);
  EXPECT_EQ(sink_.metrics[0].valid_loss, 0.75);
  ASSERT_EQ(sink_.models.size(), 2u);
  EXPECT_EQ(sink_.models[0].bytes, ToBytes("CK"));
  EXPECT_FALSE(sink_.models[0].final);
  EXPECT_EQ(sink_.models[1].bytes, ToBytes("MODEL"));
  EXPECT_TRUE(sink_.models[1].final);
}

TEST_F(ShellTrainerTest, CancelKillsTheWholeGroupAndReaps) {
  sink_.CancelAfterSteps(1);
  // The trainer ignores SIGTERM, so only SIGKILL after the grace ends it;
  // its helper (sleep) must die with it.
  const Clock::time_point start = Clock::now();
  Result<TrainingSummary> r =
      Run("trap '' TERM\necho $$ > " + dir_.path() +
          "/pid\nsleep 30 &\necho $! > " + dir_.path() + "/helper\n" +
          Say(kStarted) + Say(kMetrics) + "wait\n");
  EXPECT_REFUSED(r, StatusCode::kCancelled, "");
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  const pid_t pid = std::atoi(ReadText(dir_.path() + "/pid").c_str());
  const pid_t helper = std::atoi(ReadText(dir_.path() + "/helper").c_str());
  ASSERT_GT(pid, 0);
  ASSERT_GT(helper, 0);
  EXPECT_TRUE(Reaped(pid));
  EXPECT_TRUE(DiesSoon(helper));
}

TEST_F(ShellTrainerTest, TimeoutStopsTheTrainer) {
  const Clock::time_point start = Clock::now();
  Result<TrainingSummary> r =
      Run(Say(kStarted) + "sleep 30\n", std::chrono::seconds(1));
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  ExpectMessageHas(r.status(), "did not finish within the timeout of 1 s");
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

TEST_F(ShellTrainerTest, TrainerSeesOnlyItsFourDescriptors) {
  // `sh -c`: no script file open in the shell. ls, in a subshell that
  // owns the redirection, lists the shell's descriptors as it got them.
  Result<std::unique_ptr<ExternalTrainer>> t = ExternalTrainer::Create(
      {.argv = {"/bin/sh", "-c",
                "(ls /proc/$$/fd) > " + dir_.path() + "/fds; (env) > " +
                    dir_.path() + "/env; true"}});
  ASSERT_OK(t);
  Result<TrainingSummary> r = (*t)->Train(Request(Examples(12)), sink_);
  ExpectMessageHas(r.status(), "before reporting done");
  EXPECT_EQ(ReadText(dir_.path() + "/fds"), "0\n1\n2\n3\n");
  const std::string env = ReadText(dir_.path() + "/env");
  EXPECT_NE(env.find("PATH=/usr/local/bin:/usr/bin:/bin\n"), std::string::npos);
  EXPECT_EQ(env.find("ATREST"), std::string::npos);
}

TEST_F(ShellTrainerTest, TrainerThatReadsNothingDoesNotHurtAtrest) {
  // 2 MB on stdin that nobody reads: the input thread meets EPIPE, not SIGPIPE.
  ExternalTrainerOptions options{.argv = Script("exit 0")};
  Result<std::unique_ptr<ExternalTrainer>> t =
      ExternalTrainer::Create(std::move(options));
  ASSERT_OK(t);
  Result<TrainingSummary> r =
      (*t)->Train(Request(std::string(2 << 20, 'x')), sink_);
  ExpectMessageHas(r.status(), "exited with status 0 before reporting done");
}

TEST_F(ShellTrainerTest, MissingCommandFails) {
  Result<std::unique_ptr<ExternalTrainer>> t =
      ExternalTrainer::Create({.argv = {dir_.path() + "/no-such-trainer"}});
  ASSERT_OK(t);
  Result<TrainingSummary> r = (*t)->Train(Request(Examples(12)), sink_);
  EXPECT_REFUSED(r, StatusCode::kInternal, "");
  ExpectMessageHas(r.status(), "cannot start trainer");
}

}  // namespace
}  // namespace atrest::training
