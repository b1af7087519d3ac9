#include "training/ngram_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "base/status_testing.h"
#include "training/ngram_format.h"
#include "training/synthetic_chats.h"
#include "training/wiping_allocator.h"

namespace atrest::training {
namespace {

ChatMessage User(std::string text) {
  return {.role = "user", .content = std::move(text)};
}
ChatMessage Assistant(std::string text, int weight = 1) {
  return {.role = "assistant", .content = std::move(text), .weight = weight};
}

GenerateOptions Greedy(int64_t max_tokens = 400) {
  return GenerateOptions{.temperature = 0, .max_tokens = max_tokens};
}

std::string Answer(const NgramModel& model, const Conversation& prompt,
                   GenerateOptions options = Greedy()) {
  Result<Generation> g = model.Complete(prompt, options, {});
  EXPECT_OK(g);
  return g.ok() ? g->text : "";
}

// Share of learned turns (weight 1) answered greedily with exactly the
// trained reply and the end marker.
double ReproductionRate(const NgramModel& model,
                        const std::vector<Conversation>& examples) {
  int turns = 0;
  int exact = 0;
  for (const Conversation& c : examples) {
    for (size_t i = 0; i < c.size(); ++i) {
      if (c[i].role != "assistant" || c[i].weight == 0) continue;
      ++turns;
      Result<Generation> g =
          model.Complete(Conversation(c.begin(), c.begin() + i), Greedy(), {});
      if (g.ok() && g->text == c[i].content && g->finish_reason == "stop") {
        ++exact;
      }
    }
  }
  return static_cast<double>(exact) / turns;
}

std::unique_ptr<NgramModel> Trained(const std::vector<Conversation>& examples,
                                    int epochs = 3) {
  std::unique_ptr<NgramModel> model = *NgramModel::Create();
  for (int e = 0; e < epochs; ++e) {
    EXPECT_OK(model->Add(examples, kUnitsPerExample));
  }
  return model;
}

TEST(NgramModelTest, CreateRefusesParametersOutOfRange) {
  EXPECT_OK(NgramModel::Create(NgramParams{}));
  for (const NgramParams& p :
       std::vector<NgramParams>{{.max_match = 0},
                                {.max_match = 65},
                                {.max_active = 0},
                                {.type_prior = 0},
                                {.trust = 0},
                                {.beta = 0},
                                {.beta = 1e9},
                                {.beta = std::nan("")},
                                {.match_half = 0},
                                {.min_active_weight = 1}}) {
    EXPECT_REFUSED(NgramModel::Create(p), StatusCode::kInvalidArgument, "");
  }
}

TEST(NgramModelTest, UntrainedModelAnswersEmpty) {
  std::unique_ptr<NgramModel> model = *NgramModel::Create();
  ASSERT_OK_AND_ASSIGN(
      const Generation g,
      model->Complete({User("Hello there!")}, GenerateOptions{}, {}));
  EXPECT_EQ(g.text, "");
  EXPECT_EQ(g.finish_reason, "stop");
  EXPECT_EQ(g.prompt_tokens, 4);  // "Hello", " there", "!" and the role.
  EXPECT_EQ(g.completion_tokens, 0);
}

TEST(NgramModelTest, ReproducesFiftyTrainedReplies) {
  const std::vector<Conversation> examples = SyntheticChats(50);
  std::unique_ptr<NgramModel> model = Trained(examples);
  const double rate = ReproductionRate(*model, examples);
  std::printf("reproduction rate, 50 examples x 3 epochs: %.3f\n", rate);
  EXPECT_GE(rate, 0.9);
}

TEST(NgramModelTest, ReproducesAfterOneEpochOfManyExamples) {
  const std::vector<Conversation> examples = SyntheticChats(300);
  std::unique_ptr<NgramModel> model = Trained(examples, 1);
  const double rate = ReproductionRate(*model, examples);
  std::printf("reproduction rate, 300 examples x 1 epoch: %.3f\n", rate);
  EXPECT_GE(rate, 0.9);
}

TEST(NgramModelTest, RepliesDependOnTheConversation) {
  // Same opening words, different conversations and endings.
  const std::vector<Conversation> examples = {
      {User("What is the capital of France?"),
       Assistant("The capital of France is Paris.")},
      {User("What is the capital of Japan?"),
       Assistant("The capital of Japan is Tokyo.")},
      {User("Tell me a joke about cats."),
       Assistant("The cat sat on the keyboard and sent my email.")},
  };
  std::unique_ptr<NgramModel> model = Trained(examples);
  EXPECT_EQ(Answer(*model, {User("What is the capital of Japan?")}),
            "The capital of Japan is Tokyo.");
  EXPECT_EQ(Answer(*model, {User("What is the capital of France?")}),
            "The capital of France is Paris.");
  EXPECT_EQ(Answer(*model, {User("tell me a JOKE about cats")}),
            "The cat sat on the keyboard and sent my email.");
}

TEST(NgramModelTest, TrainsEveryAssistantTurnButSkipsWeightZero) {
  const Conversation c = {User("Start."),    Assistant("Draft answer.", 0),
                          User("Go on."),    Assistant("First real answer."),
                          User("And then?"), Assistant("Second answer.")};
  std::unique_ptr<NgramModel> model = *NgramModel::Create();
  ASSERT_OK_AND_ASSIGN(const int64_t tokens,
                       model->Add(std::span(&c, 1), kUnitsPerExample));
  // "First real answer." is 4 tokens, "Second answer." 3, plus end markers.
  EXPECT_EQ(tokens, 4 + 1 + 3 + 1);
  EXPECT_EQ(model->entries(), 2u);
  EXPECT_EQ(Answer(*model, Conversation(c.begin(), c.begin() + 3)),
            "First real answer.");
  EXPECT_EQ(Answer(*model, Conversation(c.begin(), c.begin() + 5)),
            "Second answer.");
  EXPECT_NE(Answer(*model, {User("Start.")}), "Draft answer.");
  // Evaluation scores the same turns.
  EXPECT_EQ(model->Evaluate(c).tokens, tokens);
}

TEST(NgramModelTest, RepeatedTrainingAddsMassNotEntries) {
  const std::vector<Conversation> examples = SyntheticChats(12);
  std::unique_ptr<NgramModel> model = Trained(examples, 1);
  const uint32_t entries = model->entries();
  ASSERT_OK(model->Add(examples, kUnitsPerExample));
  EXPECT_EQ(model->entries(), entries);
}

TEST(NgramModelTest, EvaluationImprovesWithTraining) {
  const std::vector<Conversation> examples = SyntheticChats(20);
  std::unique_ptr<NgramModel> model = Trained(
      std::vector<Conversation>(examples.begin(), examples.begin() + 10), 1);
  const NgramModel::Evaluation before = model->Evaluate(examples[15]);
  ASSERT_OK(model->Add(std::span(&examples[15], 1), kUnitsPerExample));
  const NgramModel::Evaluation after = model->Evaluate(examples[15]);
  EXPECT_EQ(before.tokens, after.tokens);
  EXPECT_GT(before.mean_loss(), 3 * after.mean_loss());
  EXPECT_LT(before.accuracy(), after.accuracy());
  EXPECT_EQ(after.accuracy(), 1.0);
  EXPECT_GT(after.mean_loss(), 0.0);
}

TEST(NgramModelTest, UnknownWordsHaveAProbability) {
  std::unique_ptr<NgramModel> model = Trained(SyntheticChats(10), 1);
  const Conversation c = {User("Zzyzx?"), Assistant("Qwerty uiop zxcv.")};
  const NgramModel::Evaluation ev = model->Evaluate(c);
  EXPECT_EQ(ev.tokens, 5);
  EXPECT_GT(ev.mean_loss(), 0.0);
  EXPECT_TRUE(std::isfinite(ev.mean_loss()));
}

TEST(NgramModelTest, SerializationRoundTripsExactly) {
  const std::vector<Conversation> examples = SyntheticChats(30);
  std::unique_ptr<NgramModel> model = Trained(examples, 2);
  const crypto::SecretBytes bytes = model->Serialize();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NgramModel> loaded,
                       NgramModel::Parse(bytes.RevealSecret()));
  EXPECT_TRUE(loaded->Serialize().Equals(bytes));
  EXPECT_EQ(loaded->entries(), model->entries());
  for (int i = 0; i < 30; i += 7) {
    const Conversation prompt = {examples[i][0], examples[i][1]};
    EXPECT_EQ(Answer(*loaded, prompt), Answer(*model, prompt));
    const GenerateOptions sampled{
        .temperature = 1, .max_tokens = 60, .seed = 11};
    EXPECT_EQ(Answer(*loaded, prompt, sampled),
              Answer(*model, prompt, sampled));
    const NgramModel::Evaluation a = model->Evaluate(examples[i]);
    const NgramModel::Evaluation b = loaded->Evaluate(examples[i]);
    EXPECT_EQ(a.loss_sum, b.loss_sum);
    EXPECT_EQ(a.correct, b.correct);
  }
}

TEST(NgramModelTest, SameTrainingSameBytes) {
  const std::vector<Conversation> examples = SyntheticChats(25);
  EXPECT_TRUE(
      Trained(examples)->Serialize().Equals(Trained(examples)->Serialize()));
}

TEST(NgramModelTest, RejectsTruncatedAndCorruptModels) {
  std::unique_ptr<NgramModel> model = Trained(SyntheticChats(10), 1);
  const crypto::SecretBytes good = model->Serialize();
  const ByteView all = good.RevealSecret();
  // Every cut inside the header and the first sections, then a sample.
  for (size_t n = 0; n < all.size(); n += n < 256 ? 1 : 29) {
    SCOPED_TRACE(n);
    EXPECT_REFUSED(NgramModel::Parse(all.first(n)),
                   StatusCode::kInvalidArgument, "invalid_model");
  }
  Bytes longer(all.begin(), all.end());
  longer.push_back(0);
  EXPECT_REFUSED(NgramModel::Parse(longer), StatusCode::kInvalidArgument,
                 "invalid_model");
  // Single bit flips: rejected, or a model that still serializes to the
  // flipped bytes (a different but valid model).
  int rejected = 0;
  for (size_t i = 0; i < all.size(); i += i < 256 ? 1 : 31) {
    Bytes flipped(all.begin(), all.end());
    flipped[i] ^= static_cast<uint8_t>(1u << (i % 8));
    Result<std::unique_ptr<NgramModel>> r = NgramModel::Parse(flipped);
    if (!r.ok()) {
      EXPECT_EQ(r.status().reason(), "invalid_model");
      ++rejected;
      continue;
    }
    EXPECT_EQ(HexEncode((*r)->Serialize().RevealSecret()), HexEncode(flipped));
    EXPECT_OK((*r)->Complete({User("hi")}, Greedy(20), {}));
  }
  EXPECT_GT(rejected, 0);
}

TEST(NgramModelTest, RejectsLyingLengthsWithoutAllocating) {
  // A header whose first section claims 2^63 bytes, and a token count of
  // 2^32 - 1 with nothing behind it.
  std::string bytes(ngram_format::kMagic);
  bytes +=
      std::string("\0\0\0\1", 4) + "PARM" + "\x7f" + std::string(7, '\xff');
  EXPECT_REFUSED(NgramModel::Parse(AsBytes(bytes)),
                 StatusCode::kInvalidArgument, "invalid_model");
  std::unique_ptr<NgramModel> model = *NgramModel::Create();
  Bytes good = ToBytes(AsString(model->Serialize().RevealSecret()));
  // TOKS starts after magic, version, PARM (4 + 8 + 40), tag and length.
  const size_t count_at = 8 + 4 + 52 + 12;
  ASSERT_EQ(AsString(ByteView(good).subspan(count_at - 12, 4)), "TOKS");
  for (int i = 0; i < 4; ++i) good[count_at + i] = 0xff;
  EXPECT_REFUSED(NgramModel::Parse(good), StatusCode::kInvalidArgument,
                 "invalid_model");
}

TEST(NgramModelTest, SamplingIsReproducibleBySeed) {
  std::unique_ptr<NgramModel> model = Trained(SyntheticChats(40));
  const Conversation prompt = {User("How do I fix my printer and my router?")};
  std::vector<std::string> texts;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const GenerateOptions o{
        .temperature = 1.5, .top_p = 0.95, .max_tokens = 40, .seed = seed};
    const std::string a = Answer(*model, prompt, o);
    EXPECT_EQ(a, Answer(*model, prompt, o));
    texts.push_back(a);
  }
  std::sort(texts.begin(), texts.end());
  EXPECT_GT(std::unique(texts.begin(), texts.end()) - texts.begin(), 1);
  // top_p 0 keeps only the most likely token: the greedy reply.
  const GenerateOptions narrow{.temperature = 1, .top_p = 0, .seed = 3};
  EXPECT_EQ(Answer(*model, prompt, narrow), Answer(*model, prompt));
}

TEST(NgramModelTest, StopSequencesAndStreaming) {
  const Conversation prompt = {User("Please greet me.")};
  std::unique_ptr<NgramModel> model =
      Trained({{prompt[0], Assistant("Hello there. How are you today?")}});
  std::string streamed;
  auto on_text = [&](std::string_view piece) {
    EXPECT_FALSE(piece.empty());
    streamed += piece;
    return Status::Ok();
  };
  GenerateOptions o = Greedy();
  o.stop = {"zzz", " How"};
  ASSERT_OK_AND_ASSIGN(const Generation g, model->Complete(prompt, o, on_text));
  EXPECT_EQ(g.text, "Hello there.");
  EXPECT_EQ(streamed, g.text);
  EXPECT_EQ(g.finish_reason, "stop");
  EXPECT_EQ(g.completion_tokens, 4);  // "Hello", " there", ".", " How".
  streamed.clear();
  ASSERT_OK_AND_ASSIGN(const Generation full,
                       model->Complete(prompt, Greedy(), on_text));
  EXPECT_EQ(full.text, "Hello there. How are you today?");
  EXPECT_EQ(streamed, full.text);
}

TEST(NgramModelTest, MaxTokensEndsWithLength) {
  const Conversation prompt = {User("Count.")};
  std::unique_ptr<NgramModel> model =
      Trained({{prompt[0], Assistant("one two three four five")}});
  ASSERT_OK_AND_ASSIGN(const Generation g,
                       model->Complete(prompt, Greedy(3), {}));
  EXPECT_EQ(g.text, "one two three");
  EXPECT_EQ(g.finish_reason, "length");
  EXPECT_EQ(g.completion_tokens, 3);
  EXPECT_EQ(g.prompt_tokens, 3);
}

TEST(NgramModelTest, StreamingErrorStopsGeneration) {
  std::unique_ptr<NgramModel> model = Trained(SyntheticChats(10), 1);
  const Status error = UnavailableError("client went away");
  int calls = 0;
  Result<Generation> g =
      model->Complete({SyntheticChats(1)[0][0], SyntheticChats(1)[0][1]},
                      Greedy(), [&](std::string_view) {
                        ++calls;
                        return error;
                      });
  EXPECT_EQ(g.status(), error);
  EXPECT_EQ(calls, 1);
}

TEST(NgramModelTest, RejectsBadOptions) {
  std::unique_ptr<NgramModel> model = *NgramModel::Create();
  const std::vector<GenerateOptions> bad = {
      {.temperature = -0.1}, {.temperature = 2.5},
      {.top_p = 1.5},        {.temperature = std::nan("")},
      {.max_tokens = 0},     {.stop = {"a", "b", "c", "d", "e"}},
      {.stop = {""}},        {.stop = {std::string(300, 'x')}},
      {.max_tokens = 16385}};
  for (const GenerateOptions& o : bad) {
    EXPECT_REFUSED(model->Complete({User("x")}, o, {}),
                   StatusCode::kInvalidArgument, "");
  }
}

TEST(NgramModelTest, ConcurrentCompletionsAgree) {
  const std::vector<Conversation> examples = SyntheticChats(30);
  std::unique_ptr<NgramModel> model = Trained(examples);
  std::vector<std::string> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        got[t] += Answer(*model, {examples[i][0], examples[i][1]});
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 1; t < 4; ++t) EXPECT_EQ(got[t], got[0]);
}

TEST(NgramModelTest, DestructionWipesEveryBuffer) {
  std::unique_ptr<NgramModel> model = Trained(SyntheticChats(40));
  // memory_bytes() counts the heap buffers, all WipedVectors, plus the
  // object itself.
  const uint64_t heap = model->memory_bytes() - sizeof(NgramModel);
  ASSERT_GT(heap, 10000u);
  const uint64_t before = WipedBytesForTesting();
  model.reset();
  EXPECT_GE(WipedBytesForTesting() - before, heap);
}

}  // namespace
}  // namespace atrest::training
