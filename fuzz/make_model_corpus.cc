// Writes the seed corpus of model_fuzzer: small valid n-gram models
// (training/ngram_format.h) trained on synthetic chats, with the default
// and with unusual parameters, a few near misses, and chat training files.
// Without valid seeds the fuzzer would rarely get past the magic and the
// section headers.
//
//   model_fuzzer_corpus fuzz/corpus/model
//
// Training is deterministic, so every run writes the same bytes.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "training/chat.h"
#include "training/ngram_model.h"
#include "training/synthetic_chats.h"

namespace atrest::training {
namespace {

// scripts/fuzz.sh runs model_fuzzer with -max_len=16384.
constexpr size_t kMaxInputSize = 16384;

class CorpusWriter {
 public:
  explicit CorpusWriter(std::string dir) : dir_(std::move(dir)) {}

  bool Write(const std::string& name, std::string_view bytes) {
    if (bytes.empty()) {
      std::fprintf(stderr, "%s: no bytes\n", name.c_str());
      return false;
    }
    if (bytes.size() > kMaxInputSize) {
      std::fprintf(stderr, "%s: %zu bytes, too large for -max_len\n",
                   name.c_str(), bytes.size());
      return false;
    }
    std::ofstream out(dir_ + "/" + name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(out);
  }

 private:
  const std::string dir_;
};

std::string Model(const std::vector<Conversation>& examples, int epochs,
                  NgramParams params = {}) {
  Result<std::unique_ptr<NgramModel>> created = NgramModel::Create(params);
  if (!created.ok()) return "";
  std::unique_ptr<NgramModel> model = std::move(created).value();
  for (int e = 0; e < epochs; ++e) {
    if (!model->Add(examples, kUnitsPerExample).ok()) return "";
  }
  return std::string(AsString(model->Serialize().RevealSecret()));
}

std::vector<Conversation> Slice(const std::vector<Conversation>& all,
                                size_t begin, size_t count) {
  return std::vector<Conversation>(all.begin() + begin,
                                   all.begin() + begin + count);
}

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output dir>\n", argv[0]);
    return 2;
  }
  CorpusWriter w(argv[1]);
  const std::vector<Conversation> chats = SyntheticChats(40);
  const Conversation odd = {
      {.role = "user", .content = "¿Dónde está mi pedido?\t(order #7)"},
      {.role = "assistant", .content = "Está en camino 🚚 — llega mañana.\n"},
      {.role = "user", .content = "  "},
      {.role = "assistant", .content = "...", .weight = 0},
      {.role = "assistant", .content = "   trailing spaces   "}};
  bool ok = true;
  ok &= w.Write("model_empty", Model({}, 0));
  ok &= w.Write("model_one", Model(Slice(chats, 0, 1), 1));
  ok &= w.Write("model_three", Model(Slice(chats, 1, 3), 2));
  ok &= w.Write("model_multiturn", Model(Slice(chats, 3, 3), 3));
  ok &= w.Write("model_ten", Model(Slice(chats, 10, 10), 1));
  ok &= w.Write("model_unicode", Model({odd}, 1));
  ok &= w.Write("model_params", Model(Slice(chats, 20, 2), 1,
                                      NgramParams{.max_match = 1,
                                                  .max_active = 1,
                                                  .type_prior = 1,
                                                  .trust = 1,
                                                  .beta = 0.5,
                                                  .match_half = 99,
                                                  .min_active_weight = 0}));
  ok &=
      w.Write("model_params_max", Model(Slice(chats, 22, 2), 2,
                                        NgramParams{.max_match = 64,
                                                    .max_active = 64,
                                                    .type_prior = 1u << 20,
                                                    .trust = 1u << 20,
                                                    .beta = 1000,
                                                    .match_half = 0.001,
                                                    .min_active_weight = 0.5}));
  const std::string three = Model(Slice(chats, 1, 3), 2);
  ok &= w.Write("bad_model_truncated", three.substr(0, three.size() / 2));
  std::string version = three;
  version[11] = 2;
  ok &= w.Write("bad_model_version", version);
  ok &= w.Write("bad_model_magic_only", "ATRNGRM1");
  ok &= w.Write("chat_ten", ToJsonl(Slice(chats, 0, 10)));
  ok &= w.Write("chat_multiturn_weights", ToJsonl(Slice(chats, 3, 3)));
  ok &=
      w.Write("chat_parts_and_tools",
              "\xEF\xBB\xBF{\"messages\": [{\"role\": \"user\", \"content\": "
              "[{\"type\": \"text\", \"text\": \"a\"}, {\"type\": \"text\", "
              "\"text\": \"b\"}]}, {\"role\": \"assistant\", \"tool_calls\": "
              "[{\"id\": \"c1\"}]}, {\"role\": \"tool\", \"content\": \"4\"}, "
              "{\"role\": \"assistant\", \"content\": \"Four.\", "
              "\"weight\": 1}]}\r\n\r\n");
  ok &= w.Write("bad_chat_line3", ToJsonl(Slice(chats, 0, 2)) +
                                      "{\"messages\": [{\"role\": 1}]}\n");
  if (!ok) {
    std::fprintf(stderr, "writing the corpus failed\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace atrest::training

int main(int argc, char** argv) { return atrest::training::Main(argc, argv); }
