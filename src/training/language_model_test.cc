#include "training/language_model.h"

#include <gtest/gtest.h>

#include "base/status_testing.h"
#include "training/ngram_model.h"
#include "training/synthetic_chats.h"

namespace atrest::training {
namespace {

TEST(LoadLanguageModelTest, LoadsNgramModels) {
  const std::vector<Conversation> examples = SyntheticChats(10);
  std::unique_ptr<NgramModel> trained = *NgramModel::Create();
  ASSERT_OK(trained->Add(examples, kUnitsPerExample));
  const crypto::SecretBytes bytes = trained->Serialize();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<LanguageModel> model,
                       LoadLanguageModel(bytes.RevealSecret()));
  EXPECT_GT(model->memory_bytes(), bytes.size());
  const Conversation prompt = {examples[0][0], examples[0][1]};
  ASSERT_OK_AND_ASSIGN(
      const Generation g,
      model->Complete(prompt, GenerateOptions{.temperature = 0}, {}));
  EXPECT_EQ(g.text, examples[0][2].content);
}

TEST(LoadLanguageModelTest, RefusesOtherFormats) {
  EXPECT_REFUSED(LoadLanguageModel({}), StatusCode::kInvalidArgument,
                 "unsupported_model_format");
  EXPECT_REFUSED(LoadLanguageModel(AsBytes("GGUF\3\0\0\0")),
                 StatusCode::kInvalidArgument, "unsupported_model_format");
  EXPECT_REFUSED(LoadLanguageModel(AsBytes("ATRNGRM")),
                 StatusCode::kInvalidArgument, "unsupported_model_format");
}

TEST(LoadLanguageModelTest, RefusesMalformedNgramModels) {
  EXPECT_REFUSED(LoadLanguageModel(AsBytes("ATRNGRM1")),
                 StatusCode::kInvalidArgument, "invalid_model");
  EXPECT_REFUSED(
      LoadLanguageModel(AsBytes(std::string_view("ATRNGRM1\0\0\0\2", 12))),
      StatusCode::kInvalidArgument, "invalid_model");
}

}  // namespace
}  // namespace atrest::training
