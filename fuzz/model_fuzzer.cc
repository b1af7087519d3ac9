// Fuzzes what a deployment and a trainer read from bytes they are handed:
// LoadLanguageModel (training/language_model.h; the n-gram format of
// training/ngram_format.h) and the chat example parser (training/chat.h).
// Every input is tried as both a model and a JSON Lines training file.
//
// Invariants, each checked with abort():
//  - neither crashes, throws, leaks or allocates out of proportion to the
//    input (libFuzzer's -rss_limit_mb and -malloc_limit_mb);
//  - a model is refused only as InvalidArgument, with reason
//    "invalid_model" when the input starts with the n-gram magic and
//    "unsupported_model_format" otherwise, and a short message;
//  - a model that loads serializes back to exactly the input (the format
//    is canonical), and completes a conversation greedily and by sampling
//    without error: at most max_tokens tokens, finish_reason "stop" or
//    "length" ("length" exactly at max_tokens), streamed pieces that
//    concatenate to the text, the same greedy text twice; its evaluation
//    of an example is finite, with correct <= tokens;
//  - the parser refuses only with InvalidArgument "Line N: ...", and what
//    it accepts has known roles, weights 0 or 1, and weight 0 on assistant
//    messages only.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "fuzz_check.h"
#include "training/chat.h"
#include "training/language_model.h"
#include "training/ngram_model.h"

namespace atrest::training {
namespace {

constexpr size_t kMaxMessage = 200;

const Conversation& Prompt() {
  static const Conversation c = {
      {.role = "system", .content = "You are a support assistant."},
      {.role = "user", .content = "How do I reset my password? Thanks!"}};
  return c;
}

const Conversation& Example() {
  static const Conversation c = {
      Prompt()[0],
      Prompt()[1],
      {.role = "assistant",
       .content = "Open Account > Security and choose Reset."}};
  return c;
}

void CheckCompletion(const LanguageModel& model, const GenerateOptions& o) {
  std::string streamed;
  Result<Generation> g =
      model.Complete(Prompt(), o, [&](std::string_view piece) {
        streamed.append(piece);
        return Status::Ok();
      });
  FUZZ_CHECK(g.ok());
  FUZZ_CHECK(g->completion_tokens >= 0 && g->completion_tokens <= o.max_tokens);
  FUZZ_CHECK(g->finish_reason == "stop" || g->finish_reason == "length");
  if (g->finish_reason == "length") {
    FUZZ_CHECK(g->completion_tokens == o.max_tokens);
  }
  FUZZ_CHECK(g->prompt_tokens > 0);
  FUZZ_CHECK(streamed == g->text);
  if (o.temperature == 0) {
    Result<Generation> again = model.Complete(Prompt(), o, {});
    FUZZ_CHECK(again.ok() && again->text == g->text);
  }
}

void CheckModel(ByteView input) {
  Result<std::unique_ptr<LanguageModel>> loaded = LoadLanguageModel(input);
  const bool magic = NgramModel::HasMagic(input);
  if (!loaded.ok()) {
    const Status& s = loaded.status();
    FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument);
    FUZZ_CHECK(s.reason() ==
               (magic ? "invalid_model" : "unsupported_model_format"));
    FUZZ_CHECK(s.message().size() <= kMaxMessage);
    return;
  }
  FUZZ_CHECK(magic);
  Result<std::unique_ptr<NgramModel>> parsed = NgramModel::Parse(input);
  FUZZ_CHECK(parsed.ok());
  const crypto::SecretBytes again = (*parsed)->Serialize();
  FUZZ_CHECK(AsString(again.RevealSecret()) == AsString(input));

  const LanguageModel& model = **loaded;
  CheckCompletion(
      model,
      GenerateOptions{.temperature = 0, .max_tokens = 24, .stop = {"."}});
  CheckCompletion(model, GenerateOptions{.temperature = 1.3,
                                         .top_p = 0.9,
                                         .max_tokens = 16,
                                         .seed = input.size()});
  const NgramModel::Evaluation ev = (*parsed)->Evaluate(Example());
  FUZZ_CHECK(std::isfinite(ev.loss_sum) && ev.loss_sum >= 0);
  FUZZ_CHECK(ev.tokens > 0 && ev.correct >= 0 && ev.correct <= ev.tokens);
}

void CheckChat(std::string_view text) {
  Result<std::vector<Conversation>> examples = ParseExamples(text);
  if (!examples.ok()) {
    const Status& s = examples.status();
    FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument);
    FUZZ_CHECK(s.message().starts_with("Line "));
    FUZZ_CHECK(s.message().size() <= kMaxMessage);
    return;
  }
  for (const Conversation& c : *examples) {
    FUZZ_CHECK(!c.empty());
    for (const ChatMessage& m : c) {
      FUZZ_CHECK(m.role == "system" || m.role == "user" ||
                 m.role == "assistant" || m.role == "tool" ||
                 m.role == "function");
      FUZZ_CHECK(m.weight == 0 || m.weight == 1);
      FUZZ_CHECK(m.weight == 1 || m.role == "assistant");
    }
  }
}

}  // namespace
}  // namespace atrest::training

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const atrest::ByteView input(data, size);
  atrest::training::CheckModel(input);
  atrest::training::CheckChat(atrest::AsString(input));
  return 0;
}
