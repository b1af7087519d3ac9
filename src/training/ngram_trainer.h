// NgramTrainer: the built-in trainer (training/trainer.h). It trains the
// conversation-conditioned n-gram chat model of training/ngram_model.h on
// the CPU. Base model id in the catalog: kBaseModel.
//
// Train reads each file into a wiped buffer, parses it (training/chat.h),
// and needs at least 10 training examples. Hyperparameters: n_epochs 1..50
// (auto 3), batch_size 1..256 (auto n / 10 within 1..8),
// learning_rate_multiplier (0, 10] (auto 1), which scales how much each
// example counts; any other value fails with InvalidArgument, reason
// "invalid_hyperparameters". Every epoch visits the examples in an order
// drawn from the seed, ceil(n / batch_size) steps; a step scores its batch
// under the model trained so far (train_loss, train_mean_token_accuracy),
// then trains on it, then scores the next batch_size validation examples
// (valid_*) and, at the end of an epoch, all of them (full_valid_*). A
// checkpoint follows every epoch and the final model the last one, each
// written in 64 KiB pieces. The same request and seed give the same
// metrics and the same model bytes. trained_tokens counts reply tokens
// (end markers included) over all epochs. Events carry counts only.
#ifndef ATREST_TRAINING_NGRAM_TRAINER_H_
#define ATREST_TRAINING_NGRAM_TRAINER_H_

#include "training/trainer.h"

namespace atrest::training {

class NgramTrainer final : public Trainer {
 public:
  static constexpr const char* kBaseModel = "atrest-ngram-1";
  Result<TrainingSummary> Train(const TrainingRequest& request,
                                TrainingSink& sink) override;
};

}  // namespace atrest::training

#endif  // ATREST_TRAINING_NGRAM_TRAINER_H_
