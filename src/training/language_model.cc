#include "training/language_model.h"

#include "training/ngram_model.h"

namespace atrest::training {

Result<std::unique_ptr<LanguageModel>> LoadLanguageModel(ByteView bytes) {
  if (NgramModel::HasMagic(bytes)) {
    Result<std::unique_ptr<NgramModel>> model = NgramModel::Parse(bytes);
    if (!model.ok()) {
      // Parse names the reason already; keep every failure on this one.
      return Status(StatusCode::kInvalidArgument, model.status().message(),
                    "invalid_model");
    }
    return std::unique_ptr<LanguageModel>(std::move(model).value());
  }
  return Status(StatusCode::kInvalidArgument,
                "the model bytes are not in a format atrest can serve",
                "unsupported_model_format");
}

}  // namespace atrest::training
