#include "training/fake_training_sink.h"

#include <algorithm>

namespace atrest::training {

DataSource StringSource(std::string text, size_t chunk) {
  auto data = std::make_shared<const std::string>(std::move(text));
  return [data, chunk](const ByteSink& sink) -> Status {
    const ByteView all = AsBytes(*data);
    for (size_t at = 0; at < all.size(); at += chunk) {
      RETURN_IF_ERROR(sink(all.subspan(at, std::min(chunk, all.size() - at))));
    }
    return Status::Ok();
  };
}

DataSource FailingSource(Status error) {
  return [error](const ByteSink&) { return error; };
}

class FakeTrainingSink::Writer final : public ModelWriter {
 public:
  Writer(FakeTrainingSink& sink, size_t index) : sink_(sink), index_(index) {}
  Status Write(ByteView data) override {
    RETURN_IF_ERROR(sink_.Check(Call::kWrite));
    Snapshot& s = sink_.models[index_];
    s.bytes.insert(s.bytes.end(), data.begin(), data.end());
    ++s.writes;
    return Status::Ok();
  }
  Status Finish() override {
    RETURN_IF_ERROR(sink_.Check(Call::kFinish));
    sink_.models[index_].finished = true;
    return Status::Ok();
  }

 private:
  FakeTrainingSink& sink_;
  const size_t index_;
};

Status FakeTrainingSink::Check(Call call) {
  const int n = ++calls_[static_cast<int>(call)];
  if (call == fail_call_ && n == fail_nth_) return fail_error_;
  return Status::Ok();
}

Status FakeTrainingSink::Started(const Hyperparameters& r, int64_t steps) {
  RETURN_IF_ERROR(Check(Call::kStarted));
  ++started_calls;
  resolved = r;
  total_steps = steps;
  return Status::Ok();
}

Status FakeTrainingSink::Event(std::string_view level,
                               std::string_view message) {
  RETURN_IF_ERROR(Check(Call::kEvent));
  events.emplace_back(std::string(level), std::string(message));
  return Status::Ok();
}

Status FakeTrainingSink::Metrics(const StepMetrics& m) {
  RETURN_IF_ERROR(Check(Call::kMetrics));
  metrics.push_back(m);
  return Status::Ok();
}

Result<std::unique_ptr<ModelWriter>> FakeTrainingSink::BeginModel(int64_t step,
                                                                  bool final) {
  RETURN_IF_ERROR(Check(Call::kBeginModel));
  models.push_back(Snapshot{.step = step, .final = final});
  return std::unique_ptr<ModelWriter>(new Writer(*this, models.size() - 1));
}

const FakeTrainingSink::Snapshot* FakeTrainingSink::FinalModel() const {
  for (auto it = models.rbegin(); it != models.rend(); ++it) {
    if (it->final && it->finished) return &*it;
  }
  return nullptr;
}

}  // namespace atrest::training
