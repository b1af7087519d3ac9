#include "training/ngram_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>

#include "training/decoding.h"
#include "training/ngram_format.h"
#include "training/tokenizer.h"

namespace atrest::training {
namespace {

constexpr size_t kMaxStops = 4;
constexpr size_t kMaxStopBytes = 256;
constexpr int64_t kMaxCompletionTokens = 16384;

// Assistant messages that training learns from.
bool Learns(const ChatMessage& m) {
  return m.role == "assistant" && m.weight != 0 && !m.content.empty();
}

uint64_t HashEntry(std::span<const TermCount> terms,
                   std::span<const uint32_t> reply) {
  uint64_t h = Mix64(terms.size() * 0x9E3779B97F4A7C15u + reply.size());
  for (const TermCount& t : terms) {
    h = Mix64(h ^ ((uint64_t{t.term} << 32) | t.count));
  }
  for (uint32_t w : reply) h = Mix64(h ^ w);
  return h;
}

Status CheckOptions(const GenerateOptions& o) {
  if (!(o.temperature >= 0 && o.temperature <= 2)) {
    return InvalidArgumentError("temperature must be between 0 and 2");
  }
  if (!(o.top_p >= 0 && o.top_p <= 1)) {
    return InvalidArgumentError("top_p must be between 0 and 1");
  }
  if (o.max_tokens < 1 || o.max_tokens > kMaxCompletionTokens) {
    return InvalidArgumentError("max_tokens must be between 1 and 16384");
  }
  if (o.stop.size() > kMaxStops) {
    return InvalidArgumentError("at most 4 stop sequences are allowed");
  }
  for (const std::string& s : o.stop) {
    if (s.empty() || s.size() > kMaxStopBytes) {
      return InvalidArgumentError(
          "stop sequences must be between 1 and 256 bytes long");
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckParams(const NgramParams& p) {
  namespace nf = ngram_format;
  auto bad = [](const char* name) {
    return InvalidArgumentError(std::string("n-gram model parameter ") + name +
                                " is out of range");
  };
  if (p.max_match < 1 || p.max_match > nf::kMaxMatchLimit) {
    return bad("max_match");
  }
  if (p.max_active < 1 || p.max_active > nf::kMaxActiveLimit) {
    return bad("max_active");
  }
  if (p.type_prior < 1 || p.type_prior > nf::kMaxUnitsParam) {
    return bad("type_prior");
  }
  if (p.trust < 1 || p.trust > nf::kMaxUnitsParam) return bad("trust");
  if (!(p.beta > 0 && p.beta <= nf::kMaxBeta)) return bad("beta");
  if (!(p.match_half > 0 && p.match_half <= nf::kMaxMatchHalf)) {
    return bad("match_half");
  }
  if (!(p.min_active_weight >= 0 && p.min_active_weight < 1)) {
    return bad("min_active_weight");
  }
  return Status::Ok();
}

// The next-token distribution of one reply being scored or generated
// (ngram_model.h gives the formula).
class NgramModel::Predictor {
 public:
  Predictor(const NgramModel& model, std::span<const Active> active)
      : model_(model), active_(active) {}

  // Prepares predicting the token after `history` (kBos first).
  void At(std::span<const uint32_t> history) {
    mix_.clear();
    double taken = 0;
    for (const Active& a : active_) {
      taken += AddMatches(model_.Reply(a.entry), a.coef, history);
    }
    rest_ = 1.0 - taken;
    const size_t n = history.size();
    ctx_ = model_.global_.At(n >= 2 ? history[n - 2] : kBos, history[n - 1]);
  }

  double Probability(uint32_t w) const {
    return Share(w) + rest_ * model_.global_.Probability(ctx_, w);
  }

  // The most probable token; the lowest id on a tie.
  uint32_t Argmax() const {
    uint32_t best = kEos;
    double best_p = -1;
    auto consider = [&](uint32_t w, double p) {
      if (p > best_p || (p == best_p && w < best)) {
        best = w;
        best_p = p;
      }
    };
    for (const auto& [w, share] : mix_) consider(w, Probability(w));
    model_.global_.ForEachCandidate(
        ctx_, [&](uint32_t w, double p) { consider(w, 0.0 + rest_ * p); });
    return best;
  }

  // out[w] = Probability(w) for every token id (0 for kBos).
  void Distribution(std::span<double> out) const {
    model_.global_.Distribution(ctx_, out);
    for (double& p : out) p = 0.0 + rest_ * p;
    for (const auto& [w, share] : mix_) out[w] = Probability(w);
    out[kBos] = 0;
  }

 private:
  double Share(uint32_t w) const {
    for (const auto& [t, share] : mix_) {
      if (t == w) return share;
    }
    return 0.0;
  }

  // Adds the entry's prediction, weighted by its coefficient and how long a
  // suffix of `history` it matched; returns the weight it took.
  double AddMatches(std::span<const uint32_t> reply, double coef,
                    std::span<const uint32_t> history) {
    const size_t n = history.size();
    const size_t limit = std::min<size_t>(model_.params_.max_match, n);
    size_t best = 0;
    followers_.clear();
    for (size_t j = 0; j <= reply.size(); ++j) {
      // Match history backwards against reply[..j), preceded by kBos.
      size_t k = 0;
      while (k < limit && k <= j) {
        const uint32_t t = k < j ? reply[j - 1 - k] : kBos;
        if (t != history[n - 1 - k]) break;
        ++k;
      }
      if (k == 0 || k < best) continue;
      if (k > best) {
        best = k;
        followers_.clear();
      }
      const uint32_t next = j < reply.size() ? reply[j] : kEos;
      auto it = std::find_if(followers_.begin(), followers_.end(),
                             [&](const auto& f) { return f.first == next; });
      if (it == followers_.end()) {
        followers_.emplace_back(next, 1);
      } else {
        ++it->second;
      }
    }
    if (best == 0) return 0;
    uint32_t total = 0;
    for (const auto& f : followers_) total += f.second;
    const double m = static_cast<double>(best);
    const double lambda = coef * m / (m + model_.params_.match_half);
    for (const auto& f : followers_) {
      const double share = lambda * f.second / total;
      auto it = std::find_if(mix_.begin(), mix_.end(),
                             [&](const auto& x) { return x.first == f.first; });
      if (it == mix_.end()) {
        mix_.emplace_back(f.first, share);
      } else {
        it->second += share;
      }
    }
    return lambda;
  }

  const NgramModel& model_;
  const std::span<const Active> active_;
  BackoffNgrams::Context ctx_;
  double rest_ = 1;
  WipedVector<std::pair<uint32_t, double>> mix_;  // Token, share.
  WipedVector<std::pair<uint32_t, uint32_t>> followers_;
};

NgramModel::NgramModel(NgramParams params)
    : params_(params), global_(params.type_prior) {}

Result<std::unique_ptr<NgramModel>> NgramModel::Create(NgramParams params) {
  RETURN_IF_ERROR(CheckParams(params));
  return std::unique_ptr<NgramModel>(new NgramModel(params));
}

uint32_t NgramModel::FindEntry(std::span<const TermCount> terms,
                               std::span<const uint32_t> reply) const {
  return entry_index_.Find(HashEntry(terms, reply), [&](uint32_t id) {
    const auto have = prompts_.EntryTerms(id);
    const auto said = Reply(id);
    return std::equal(have.begin(), have.end(), terms.begin(), terms.end()) &&
           std::equal(said.begin(), said.end(), reply.begin(), reply.end());
  });
}

bool NgramModel::AddEntry(std::span<const TermCount> terms,
                          std::span<const uint32_t> reply, uint64_t units) {
  uint32_t e = FindEntry(terms, reply);
  const bool added = e == FlatIndex::kNone;
  if (added) {
    e = entries();
    prompts_.AddEntry(terms);
    reply_tokens_.insert(reply_tokens_.end(), reply.begin(), reply.end());
    reply_begin_.push_back(reply_tokens_.size());
    mass_.push_back(0);
    entry_index_.Insert(HashEntry(terms, reply), e);
  }
  mass_[e] += units;
  global_.AddReply(reply, units);
  return added;
}

Result<int64_t> NgramModel::Add(std::span<const Conversation> examples,
                                uint64_t units) {
  if (units == 0 || units > ngram_format::kMaxMass) {
    return InvalidArgumentError("training weight out of range");
  }
  int64_t trained = 0;
  Status status;
  WipedVector<uint32_t> reply;
  for (const Conversation& example : examples) {
    if (!status.ok()) break;
    for (size_t i = 0; i < example.size(); ++i) {
      const ChatMessage& m = example[i];
      if (!Learns(m)) continue;
      if (tokens_.size() + CountTokens(m.content) > ngram_format::kMaxTokens ||
          entries() >= UINT32_MAX - 1) {
        status = ResourceExhaustedError("the model has too many tokens");
        break;
      }
      const TermVector terms =
          prompts_.Intern(std::span<const ChatMessage>(example).first(i));
      reply.clear();
      ForEachToken(m.content, [&](std::string_view token) {
        reply.push_back(tokens_.Add(token) + kFirstWordToken);
      });
      global_.SetVocabSize(tokens_.size() + kFirstWordToken);
      const uint32_t e = FindEntry(terms, reply);
      if (e != FlatIndex::kNone && mass_[e] > ngram_format::kMaxMass - units) {
        status = ResourceExhaustedError("an example was trained on too often");
        break;
      }
      AddEntry(terms, reply, units);
      trained += static_cast<int64_t>(reply.size()) + 1;
    }
  }
  // Terms and tokens interned before a failure stay, unused; harmless.
  prompts_.Reweight();
  if (!status.ok()) return status;
  return trained;
}

WipedVector<uint32_t> NgramModel::LookUpTokens(std::string_view text) const {
  WipedVector<uint32_t> ids;
  ForEachToken(text, [&](std::string_view token) {
    const uint32_t id = tokens_.Find(token);
    ids.push_back(id == StringTable::kNotFound ? kUnknownToken
                                               : id + kFirstWordToken);
  });
  return ids;
}

WipedVector<NgramModel::Active> NgramModel::Activate(
    const PromptQuery& q) const {
  WipedVector<Active> active;
  const uint32_t n = entries();
  if (n == 0) return active;
  WipedVector<double> sim(n);
  prompts_.Similarities(q, sim);
  const double top = *std::max_element(sim.begin(), sim.end());
  if (top <= 0) return active;
  WipedVector<double> weight(n);
  double total = 0;
  for (uint32_t e = 0; e < n; ++e) {
    weight[e] =
        static_cast<double>(mass_[e]) * std::exp(params_.beta * (sim[e] - top));
    total += weight[e];
  }
  WipedVector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  const size_t k = std::min<size_t>(n, params_.max_active);
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](uint32_t a, uint32_t b) {
                      return weight[a] > weight[b] ||
                             (weight[a] == weight[b] && a < b);
                    });
  for (size_t i = 0; i < k; ++i) {
    const uint32_t e = order[i];
    const double share = weight[e] / total;
    if (share < params_.min_active_weight) break;
    const double mass = static_cast<double>(mass_[e]);
    const double coef = share * sim[e] * mass / (mass + params_.trust);
    if (coef > 0) active.push_back({e, coef});
  }
  return active;
}

NgramModel::Evaluation NgramModel::Evaluate(const Conversation& example) const {
  Evaluation ev;
  WipedVector<uint32_t> history;
  for (size_t i = 0; i < example.size(); ++i) {
    if (!Learns(example[i])) continue;
    const WipedVector<Active> active = Activate(
        prompts_.Query(std::span<const ChatMessage>(example).first(i)));
    Predictor predictor(*this, active);
    const WipedVector<uint32_t> reply = LookUpTokens(example[i].content);
    history.assign(1, kBos);
    for (size_t t = 0; t <= reply.size(); ++t) {
      const uint32_t target = t < reply.size() ? reply[t] : kEos;
      predictor.At(history);
      ev.loss_sum -= std::log(predictor.Probability(target));
      if (predictor.Argmax() == target) ++ev.correct;
      ++ev.tokens;
      history.push_back(target);
    }
  }
  return ev;
}

Result<Generation> NgramModel::Complete(
    const Conversation& messages, const GenerateOptions& options,
    const std::function<Status(std::string_view)>& on_text) const {
  RETURN_IF_ERROR(CheckOptions(options));
  Generation g;
  for (const ChatMessage& m : messages) {
    g.prompt_tokens += static_cast<int64_t>(CountTokens(m.content)) + 1;
  }
  const WipedVector<Active> active = Activate(prompts_.Query(messages));
  Predictor predictor(*this, active);
  WipedVector<uint32_t> history(1, kBos);
  StopScanner scanner(options.stop);
  Rng rng(options.seed);
  WipedVector<double> dist;
  WipedVector<uint32_t> order;
  auto emit = [&](std::string_view piece) -> Status {
    if (piece.empty() || !on_text) return Status::Ok();
    return on_text(piece);
  };
  g.finish_reason = "length";
  bool stopped = false;
  for (int64_t i = 0; i < options.max_tokens && !stopped; ++i) {
    predictor.At(history);
    uint32_t token;
    if (options.temperature == 0) {
      token = predictor.Argmax();
    } else {
      dist.assign(global_.vocab_size(), 0.0);
      predictor.Distribution(dist);
      token =
          SampleToken(dist, options.temperature, options.top_p, rng, &order);
    }
    if (token == kEos) {
      g.finish_reason = "stop";
      break;
    }
    ++g.completion_tokens;
    history.push_back(token);
    RETURN_IF_ERROR(
        emit(scanner.Append(tokens_.Get(token - kFirstWordToken), &stopped)));
    if (stopped) g.finish_reason = "stop";
  }
  if (!stopped) RETURN_IF_ERROR(emit(scanner.Flush()));
  g.text = std::string(scanner.text());
  return g;
}

size_t NgramModel::memory_bytes() const {
  return sizeof(*this) + tokens_.memory_bytes() + prompts_.memory_bytes() +
         HeapBytes(reply_begin_) + HeapBytes(reply_tokens_) + HeapBytes(mass_) +
         entry_index_.memory_bytes() + global_.memory_bytes();
}

}  // namespace atrest::training
