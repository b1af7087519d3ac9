// FakeTrainingSink: a TrainingSink (training/trainer.h) for tests that
// records everything a trainer reports, keeps model snapshots in memory, and
// can fail or cancel on command. Also DataSource helpers over strings.
//
// Library atrest_training_testing; not linked into the server.
#ifndef ATREST_TRAINING_FAKE_TRAINING_SINK_H_
#define ATREST_TRAINING_FAKE_TRAINING_SINK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "training/trainer.h"

namespace atrest::training {

// Streams `text` in chunks of `chunk` bytes.
DataSource StringSource(std::string text, size_t chunk = 4096);
// A source that fails with `error`.
DataSource FailingSource(Status error);

class FakeTrainingSink final : public TrainingSink {
 public:
  enum class Call {
    kNone,
    kStarted,
    kEvent,
    kMetrics,
    kBeginModel,
    kWrite,
    kFinish
  };

  struct Snapshot {
    int64_t step = 0;
    bool final = false;
    Bytes bytes;
    size_t writes = 0;
    bool finished = false;
  };

  // The `nth` (1-based) call of kind `call` returns `error`.
  void FailAt(Call call, int nth, Status error) {
    fail_call_ = call;
    fail_nth_ = nth;
    fail_error_ = std::move(error);
  }
  // Cancelled() turns true once this many steps were reported.
  void CancelAfterSteps(int64_t steps) { cancel_after_ = steps; }

  Status Started(const Hyperparameters& resolved, int64_t total_steps) override;
  Status Event(std::string_view level, std::string_view message) override;
  Status Metrics(const StepMetrics& metrics) override;
  Result<std::unique_ptr<ModelWriter>> BeginModel(int64_t step,
                                                  bool final) override;
  bool Cancelled() const override {
    return cancel_after_ >= 0 &&
           static_cast<int64_t>(metrics.size()) >= cancel_after_;
  }

  // The last finished snapshot marked final, or nullptr.
  const Snapshot* FinalModel() const;

  int started_calls = 0;
  Hyperparameters resolved;
  int64_t total_steps = -1;
  std::vector<std::pair<std::string, std::string>> events;  // Level, text.
  std::vector<StepMetrics> metrics;
  std::vector<Snapshot> models;

 private:
  class Writer;
  // The error to return for this call of `call`, or OK.
  Status Check(Call call);

  Call fail_call_ = Call::kNone;
  int fail_nth_ = 0;
  Status fail_error_;
  int calls_[7] = {};
  int64_t cancel_after_ = -1;
};

}  // namespace atrest::training

#endif  // ATREST_TRAINING_FAKE_TRAINING_SINK_H_
