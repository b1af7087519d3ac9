// LanguageModel: a trained model loaded into memory to answer chat
// completions (deployments, deploy/). Loading parses the decrypted model
// bytes; the model wipes every buffer that holds what it learned when it
// is destroyed (unloading a deployment zeroizes its memory).
//
// Thread safety: Complete is const and safe to call concurrently.
#ifndef ATREST_TRAINING_LANGUAGE_MODEL_H_
#define ATREST_TRAINING_LANGUAGE_MODEL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "training/chat.h"

namespace atrest::training {

struct GenerateOptions {
  double temperature = 1.0;  // 0: always the most likely token.
  double top_p = 1.0;
  int64_t max_tokens = 256;
  uint64_t seed = 0;              // For temperature > 0; same seed, same reply.
  std::vector<std::string> stop;  // Up to 4 stop sequences.
};

struct Generation {
  std::string text;
  std::string finish_reason;  // "stop" or "length".
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  // Answers the conversation (its last message is normally the user's).
  // `on_text`, when set, receives the reply piece by piece as it is
  // generated (for streaming); the pieces concatenate to Generation::text.
  // An error from `on_text` stops generation and is returned.
  virtual Result<Generation> Complete(
      const Conversation& messages, const GenerateOptions& options,
      const std::function<Status(std::string_view)>& on_text) const = 0;
  // Bytes of memory the model holds (for metrics and limits).
  virtual size_t memory_bytes() const = 0;
};

// Parses model bytes of any format atrest serves (the format is named by
// the bytes' magic, docs/trainer-protocol.md). InvalidArgument with reason
// "unsupported_model_format" or "invalid_model" for anything else. The
// caller wipes `bytes` afterwards.
Result<std::unique_ptr<LanguageModel>> LoadLanguageModel(ByteView bytes);

}  // namespace atrest::training

#endif  // ATREST_TRAINING_LANGUAGE_MODEL_H_
